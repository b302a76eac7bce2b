/**
 * What a REST API is made of, as the provisioners (local/provision/apigateway.ts) declare it and
 * the request pipeline reads it: resources, methods, integrations, models, validators, stages,
 * gateway responses, API keys and usage plans. Plain data: nothing here serves a request.
 */
import type { Server } from "node:http";

/** Anything that runs a Lambda function. */
export interface LambdaInvoker {
  invoke(event: unknown): Promise<unknown>;
}

export interface ApiResource {
  id: string;
  parentId?: string;
  pathPart?: string;
}

export interface ApiMethod {
  resourceId: string;
  httpMethod: string;
  apiKeyRequired: boolean;
  authorization: string;
  /** Content type → model name. */
  requestModels: Record<string, string>;
  /** `method.request.querystring.x` → required. */
  requestParameters: Record<string, boolean>;
  requestValidatorId?: string;
}

export interface ApiIntegration {
  resourceId: string;
  httpMethod: string;
  type: string;
  uri?: string;
  timeoutMilliseconds: number;
  /** Content type → request mapping template (non-proxy integrations; a MOCK's names its status). */
  requestTemplates: Record<string, string>;
}

/** A method response: a status the method may answer and the headers it declares. */
export interface ApiMethodResponse {
  statusCode: string;
  /** Declared header names (from `method.response.header.<name>`) → required. */
  headers: Record<string, boolean>;
}

/** An integration response of a non-proxy integration: how its answer becomes a method response. */
export interface ApiIntegrationResponse {
  statusCode: string;
  /** Regex over the integration's status (MOCK, HTTP) or error message (Lambda); none: the default. */
  selectionPattern?: string;
  /** `method.response.header.<name>` → mapping expression (`'static'`, ...). */
  responseParameters: Record<string, string>;
  /** Content type → response mapping template (VTL). */
  responseTemplates: Record<string, string>;
}

export interface ApiModel {
  name: string;
  contentType: string;
  /** The validation errors of a body (none: valid), worded like API Gateway's. */
  validate: (value: unknown) => string[];
}

export interface ApiValidator {
  id: string;
  validateRequestBody: boolean;
  validateRequestParameters: boolean;
}

/** A deployed stage: the first path segment of every request to the API. */
export interface ApiStage {
  stageName: string;
  variables: Record<string, string>;
}

export interface GatewayResponse {
  statusCode?: number;
  templates: Record<string, string>;
  /** Header name → mapping expression: `'static'`, `method.request.header.<name>`, ... */
  headers: Record<string, string>;
}

export interface RestApi {
  id: string;
  name: string;
  rootResourceId: string;
  port: number;
  resources: Map<string, ApiResource>;
  methods: Map<string, ApiMethod>;
  integrations: Map<string, ApiIntegration>;
  /** By {@link methodKey} and status code: `methodKey(resource, method) + " " + status`. */
  methodResponses: Map<string, ApiMethodResponse>;
  /** By {@link methodKey}: the integration's responses, in declaration order. */
  integrationResponses: Map<string, ApiIntegrationResponse[]>;
  models: Map<string, ApiModel>;
  validators: Map<string, ApiValidator>;
  stages: Map<string, ApiStage>;
  gatewayResponses: Map<string, GatewayResponse>;
  server: Server;
}

export interface ApiKey {
  id: string;
  value: string;
  enabled: boolean;
}

export interface UsagePlan {
  id: string;
  apiStages: { apiId: string; stage: string }[];
  rateLimit?: number;
  burstLimit?: number;
}

/** AWS's limit on a REST API integration. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

/** The key of a method and of its integration in {@link RestApi}'s maps: resource id and HTTP method. */
export function methodKey(resourceId: string, httpMethod: string): string {
  return `${resourceId} ${httpMethod.toUpperCase()}`;
}
