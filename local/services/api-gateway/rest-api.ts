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
