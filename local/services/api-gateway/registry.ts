/**
 * The local API Gateway (REST APIs): one HTTP server per REST API on 127.0.0.1, serving
 * `http://127.0.0.1:<port>/<stage>/<path>` from the resources, methods, integrations, models,
 * request validators, API keys and usage plans the program declared.
 *
 * What it does the way API Gateway does:
 * - routes by resource path (`/order/{id}`, `{proxy+}`) and HTTP method (or `ANY`); anything else
 *   is 403 `{"message":"Missing Authentication Token"}`;
 * - `apiKeyRequired`: the `x-api-key` header must be an enabled key of a usage plan that includes
 *   this API and stage, else 403 `{"message":"Forbidden"}`; the plan's rate and burst limits are
 *   enforced per key (429 `{"message":"Too Many Requests"}`);
 * - request validators: required parameters (400 `Missing required request parameters: [...]`) and
 *   the request model of the body's content type, a JSON Schema draft-04 (400
 *   `{"message": "Invalid request body"}`);
 * - `AWS_PROXY` Lambda integrations get a REST API proxy event (payload format 1.0) and their
 *   result becomes the response; a function error or a malformed result is 502 `{"message":
 *   "Internal server error"}`, the 29 s integration timeout 504 `{"message": "Endpoint request timed out"}`;
 * - gateway responses (`aws:apigateway/response:Response`) replace those default error bodies,
 *   rendered by simple `$context` substitution only, as AWS does (no VTL: `$util` is literal text);
 *   a refused request's validator messages (`$context.error.validationErrorString`) go to the log,
 *   as the access log would have them.
 * Not emulated: authorizers other than API keys, non-proxy integrations (mapping templates), usage
 * plan quotas, caching, deployments as snapshots (the latest declared configuration is served).
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

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
  stages: Map<string, { stageName: string; variables: Record<string, string> }>;
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

export interface ApiGatewayRegistryOptions {
  region: string;
  accountId: string;
  /** Finds the function of an integration URI's function ARN. */
  resolveFunction: (functionArn: string) => LambdaInvoker | undefined;
  /** Warnings (unsupported integration types, and so on). */
  log: (line: string) => void;
}

/** AWS's limit on a REST API integration. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export function methodKey(resourceId: string, httpMethod: string): string {
  return `${resourceId} ${httpMethod.toUpperCase()}`;
}

/**
 * A JSON Schema (draft-04, as API Gateway models are written) as a validation function. Throws
 * when the schema uses something the converter does not support: better at start-up than silently
 * accepting every body.
 *
 * Missing properties and wrong types are worded like API Gateway's validator (json-schema-validator:
 * `object has missing required properties (["items"])`, `instance type (string) does not match any
 * allowed primitive type (allowed: ["integer"])`), quotes included, each followed by where
 * (`at /items/0`).
 */
export function compileModelSchema(schema: unknown): (value: unknown) => string[] {
  const parsed = typeof schema === "string" ? (JSON.parse(schema) as unknown) : schema;
  const type = z.fromJSONSchema(parsed as never, { defaultTarget: "draft-4" });
  return (value) => {
    const result = type.safeParse(value);
    if (result.success) return [];
    const missing = new Map<string, string[]>();
    const messages: string[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      const at = (parts: string[]) => `/${parts.join("/")}`;
      if (issue.code === "invalid_type" && valueAt(value, path) === undefined && path.length > 0) {
        const parent = at(path.slice(0, -1));
        missing.set(parent, [...(missing.get(parent) ?? []), path.at(-1)!]);
      } else if (issue.code === "invalid_type") {
        const expected = schemaAt(parsed, path)?.type ?? issue.expected;
        messages.push(`instance type (${jsonType(valueAt(value, path))}) does not match any allowed primitive type (allowed: ${JSON.stringify([expected].flat())}) at ${at(path)}`);
      } else {
        messages.push(`${issue.message} at ${at(path)}`);
      }
    }
    return [...[...missing].map(([parent, names]) => `object has missing required properties (${JSON.stringify(names)}) at ${parent}`), ...messages];
  };
}

function valueAt(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined), value);
}

/** The subschema at a value path (through `properties` and `items`). */
function schemaAt(schema: unknown, path: string[]): { type?: string | string[] } | undefined {
  let current = schema as { type?: string | string[]; properties?: Record<string, unknown>; items?: unknown } | undefined;
  for (const key of path) current = (/^\d+$/.test(key) ? current?.items : current?.properties?.[key]) as typeof current;
  return current;
}

/** The JSON Schema primitive type of a value, as the validator names it. */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/**
 * The `$context` variables of a gateway response, by name without the `$context.` prefix
 * (`error.messageString`, `requestId`, ...). A variable without a value renders as empty text.
 */
export type GatewayContext = Record<string, string | undefined>;

/**
 * The `$context` variables API Gateway gives a gateway response for an error: `error.message`,
 * `error.messageString` (the message as a quoted JSON string), `error.responseType`,
 * `error.validationErrorString` (raw: the validator's messages in brackets, with their quotes).
 */
export function errorContext(error: { message: string; responseType: string; validationErrors?: string[] }, request: GatewayContext = {}): GatewayContext {
  return {
    ...request,
    "error.message": error.message,
    "error.messageString": JSON.stringify(error.message),
    "error.responseType": error.responseType,
    "error.validationErrorString": error.validationErrors?.length ? `[${error.validationErrors.join(", ")}]` : "",
  };
}

/**
 * A gateway response template rendered the way API Gateway does: "A GatewayResponse mapping
 * template isn't processed by the Velocity Template Language (VTL) engine ... supporting only simple
 * variable substitution". `$context.<name>` and `$stageVariables.<name>` are replaced by their
 * value, as is, with no quoting or escaping; everything else, `$util.escapeJavaScript(...)`, `#if`,
 * `$input` included, is emitted literally.
 */
export function renderGatewayTemplate(template: string, context: GatewayContext, stageVariables: Record<string, string> = {}): string {
  return template.replace(/\$(context|stageVariables)\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g, (whole, scope: string, name: string) => {
    if (scope === "stageVariables") return stageVariables[name] ?? "";
    // The longest known variable that the reference starts with: `$context.requestId.` is the
    // request id followed by a dot.
    const parts = name.split(".");
    for (let n = parts.length; n > 0; n -= 1) {
      const key = parts.slice(0, n).join(".");
      if (key in context) return (context[key] ?? "") + whole.slice(`$context.${key}`.length);
    }
    return whole;
  });
}

interface Bucket {
  tokens: number;
  at: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly responseType: string,
    message: string,
    readonly errorType: string,
    readonly validationErrors: string[] = [],
  ) {
    super(message);
  }
}

/** Every REST API of the local cloud. The provisioners fill it in; each API serves on its own port. */
export class ApiGatewayRegistry {
  readonly apis = new Map<string, RestApi>();
  readonly apiKeys = new Map<string, ApiKey>();
  readonly usagePlans = new Map<string, UsagePlan>();
  /** API key id → usage plan ids. */
  readonly planKeys = new Map<string, Set<string>>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: ApiGatewayRegistryOptions) {}

  /** Creates a REST API and starts its server on a free port of 127.0.0.1. */
  async createApi(id: string, name: string, rootResourceId: string): Promise<RestApi> {
    const server = createServer((req, res) => void this.serve(api, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const api: RestApi = {
      id,
      name,
      rootResourceId,
      port: (server.address() as AddressInfo).port,
      resources: new Map([[rootResourceId, { id: rootResourceId }]]),
      methods: new Map(),
      integrations: new Map(),
      models: new Map(),
      validators: new Map(),
      stages: new Map(),
      gatewayResponses: new Map(),
      server,
    };
    this.apis.set(id, api);
    return api;
  }

  api(id: string): RestApi {
    const api = this.apis.get(id);
    if (!api) throw new Error(`No REST API with id ${id} was declared before the resource that uses it`);
    return api;
  }

  /** `http://127.0.0.1:<port>/<stage>` */
  invokeUrl(apiId: string, stageName: string): string {
    return `http://127.0.0.1:${this.api(apiId).port}/${stageName}`;
  }

  /** The resource's full path, e.g. `/order/{id}`. */
  resourcePath(api: RestApi, resourceId: string): string {
    const parts: string[] = [];
    let current = api.resources.get(resourceId);
    while (current?.pathPart !== undefined) {
      parts.unshift(current.pathPart);
      current = current.parentId ? api.resources.get(current.parentId) : undefined;
    }
    return `/${parts.join("/")}`;
  }

  /** Closes every API server. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.apis.values()].map(
        (api) =>
          new Promise<void>((resolve) => {
            api.server.close(() => resolve());
            api.server.closeAllConnections();
          }),
      ),
    );
  }

  private async serve(api: RestApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const body = await readBody(req);
      const response = await this.handle(api, req, body, requestId);
      const headers: Record<string, string | string[]> = { "x-amzn-RequestId": requestId, ...response.headers };
      res.writeHead(response.statusCode, headers);
      res.end(response.body);
    } catch (error) {
      const failure = error instanceof HttpError ? error : new HttpError(500, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
      if (!(error instanceof HttpError)) this.options.log(`[api ${api.name}] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (failure.validationErrors.length) {
        // What the stage's access log would show in $context.error.validationErrorString.
        this.options.log(`[api ${api.name}] ${req.method ?? "GET"} ${req.url ?? "/"}: ${failure.status} ${failure.responseType} ${errorContext(failure)["error.validationErrorString"]}`);
      }
      const custom = api.gatewayResponses.get(failure.responseType) ?? api.gatewayResponses.get(failure.status >= 500 ? "DEFAULT_5XX" : "DEFAULT_4XX");
      const template = custom?.templates["application/json"];
      const stageName = new URL(req.url ?? "/", "http://127.0.0.1").pathname.split("/").filter(Boolean)[0];
      const stage = stageName === undefined ? undefined : api.stages.get(stageName);
      const request: GatewayContext = {
        requestId,
        extendedRequestId: requestId,
        apiId: api.id,
        stage: stage?.stageName,
        httpMethod: (req.method ?? "GET").toUpperCase(),
        domainName: `127.0.0.1:${api.port}`,
        "identity.sourceIp": req.socket.remoteAddress ?? "127.0.0.1",
      };
      const text = template ? renderGatewayTemplate(template, errorContext(failure, request), stage?.variables) : JSON.stringify({ message: failure.message });
      res.writeHead(custom?.statusCode ?? failure.status, {
        "content-type": "application/json",
        "x-amzn-RequestId": requestId,
        "x-amzn-ErrorType": failure.errorType,
        ...Object.fromEntries(Object.entries(custom?.headers ?? {}).map(([k, v]) => [k, v.replace(/^'(.*)'$/, "$1")])),
      });
      res.end(text);
    }
  }

  private async handle(api: RestApi, req: IncomingMessage, body: string, requestId: string): Promise<{ statusCode: number; headers: Record<string, string | string[]>; body: string }> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const stageName = segments.shift();
    const stage = stageName ? api.stages.get(stageName) : undefined;
    if (!stage) throw new HttpError(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", "MissingAuthenticationTokenException");
    const httpMethod = (req.method ?? "GET").toUpperCase();
    const route = this.route(api, segments);
    const method = route && (api.methods.get(methodKey(route.resource.id, httpMethod)) ?? api.methods.get(methodKey(route.resource.id, "ANY")));
    if (!route || !method) throw new HttpError(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", "MissingAuthenticationTokenException");

    const headers = headersOf(req);
    const apiKeyValue = lastHeader(headers, "x-api-key");
    let apiKey: ApiKey | undefined;
    if (method.apiKeyRequired) {
      apiKey = [...this.apiKeys.values()].find((k) => k.enabled && k.value === apiKeyValue);
      const plans = apiKey ? [...(this.planKeys.get(apiKey.id) ?? [])].map((id) => this.usagePlans.get(id)).filter((p): p is UsagePlan => !!p) : [];
      const plan = plans.find((p) => p.apiStages.some((s) => s.apiId === api.id && s.stage === stageName));
      if (!apiKey || !plan) throw new HttpError(403, "INVALID_API_KEY", "Forbidden", "ForbiddenException");
      if (!this.take(plan, apiKey)) throw new HttpError(429, "THROTTLED", "Too Many Requests", "TooManyRequestsException");
    }

    const query = queryOf(url);
    const validator = method.requestValidatorId ? api.validators.get(method.requestValidatorId) : undefined;
    if (validator?.validateRequestParameters) {
      const missing = Object.entries(method.requestParameters)
        .filter(([, required]) => required)
        .map(([name]) => name.split("."))
        .filter(([, , where, name]) => {
          if (!name) return false;
          if (where === "querystring") return !query.multi[name];
          if (where === "header") return lastHeader(headers, name) === undefined;
          if (where === "path") return !route.pathParameters[name];
          return false;
        })
        .map((parts) => parts[3]);
      if (missing.length) {
        const message = `Missing required request parameters: [${missing.join(", ")}]`;
        throw new HttpError(400, "BAD_REQUEST_PARAMETERS", message, "BadRequestException", [message]);
      }
    }
    if (validator?.validateRequestBody) {
      const contentType = (lastHeader(headers, "content-type") ?? "application/json").split(";")[0]!.trim().toLowerCase();
      const modelName = method.requestModels[contentType] ?? method.requestModels.$default;
      const model = modelName ? api.models.get(modelName) : undefined;
      if (model) {
        let value: unknown;
        try {
          value = JSON.parse(body);
        } catch (error) {
          throw new HttpError(400, "BAD_REQUEST_BODY", "Invalid request body", "BadRequestException", [`the body is not valid JSON (${(error as Error).message})`]);
        }
        const errors = model.validate(value);
        if (errors.length) throw new HttpError(400, "BAD_REQUEST_BODY", "Invalid request body", "BadRequestException", errors);
      }
    }

    const integration = api.integrations.get(methodKey(method.resourceId, method.httpMethod));
    if (integration?.type === "MOCK") return { statusCode: 200, headers: {}, body: "" };
    const functionArn = integration?.type === "AWS_PROXY" ? /\/functions\/(.+)\/invocations$/.exec(integration.uri ?? "")?.[1] : undefined;
    const fn = functionArn ? this.options.resolveFunction(functionArn) : undefined;
    if (!integration || !fn) {
      this.options.log(`[api ${api.name}] ${httpMethod} ${route.resourcePath}: integration ${integration?.type ?? "(none)"} ${integration?.uri ?? ""} is not emulated locally (only AWS_PROXY to a local function, and MOCK)`);
      throw new HttpError(500, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
    }

    const now = new Date();
    const event = {
      resource: route.resourcePath,
      path: `/${segments.join("/")}`,
      httpMethod,
      headers: Object.keys(headers.multi).length ? headers.single : null,
      multiValueHeaders: Object.keys(headers.multi).length ? headers.multi : null,
      queryStringParameters: Object.keys(query.multi).length ? query.single : null,
      multiValueQueryStringParameters: Object.keys(query.multi).length ? query.multi : null,
      pathParameters: Object.keys(route.pathParameters).length ? route.pathParameters : null,
      stageVariables: Object.keys(stage.variables).length ? stage.variables : null,
      requestContext: {
        resourceId: route.resource.id,
        resourcePath: route.resourcePath,
        httpMethod,
        extendedRequestId: requestId,
        requestTime: now.toUTCString(),
        path: url.pathname,
        accountId: this.options.accountId,
        protocol: `HTTP/${req.httpVersion}`,
        stage: stageName,
        domainPrefix: "127",
        requestTimeEpoch: now.getTime(),
        requestId,
        identity: {
          cognitoIdentityPoolId: null,
          accountId: null,
          cognitoIdentityId: null,
          caller: null,
          sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
          principalOrgId: null,
          accessKey: null,
          cognitoAuthenticationType: null,
          cognitoAuthenticationProvider: null,
          userArn: null,
          userAgent: lastHeader(headers, "user-agent") ?? null,
          user: null,
          apiKey: apiKey?.value ?? null,
          apiKeyId: apiKey?.id ?? null,
        },
        domainName: `127.0.0.1:${api.port}`,
        apiId: api.id,
      },
      body: body === "" ? null : body,
      isBase64Encoded: false,
    };

    let result: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      result = await Promise.race([
        fn.invoke(event),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new HttpError(504, "INTEGRATION_TIMEOUT", "Endpoint request timed out", "InternalServerErrorException")), integration.timeoutMilliseconds);
        }),
      ]);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      this.options.log(`[api ${api.name}] ${httpMethod} ${route.resourcePath}: Lambda invocation failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      throw new HttpError(502, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
    } finally {
      clearTimeout(timer);
    }
    return proxyResponse(result, (problem) => this.options.log(`[api ${api.name}] ${httpMethod} ${route.resourcePath}: malformed Lambda proxy response: ${problem}`));
  }

  /** Token bucket per usage plan and key: `burstLimit` tokens, refilled at `rateLimit` per second. */
  private take(plan: UsagePlan, key: ApiKey): boolean {
    if (plan.rateLimit === undefined && plan.burstLimit === undefined) return true;
    const rate = plan.rateLimit ?? Number.POSITIVE_INFINITY;
    const burst = Math.max(1, plan.burstLimit ?? Math.ceil(rate));
    const id = `${plan.id} ${key.id}`;
    const now = Date.now();
    const bucket = this.buckets.get(id) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** The resource matching the path: literal parts win over `{param}`, which win over `{proxy+}`. */
  private route(api: RestApi, segments: string[]): { resource: ApiResource; resourcePath: string; pathParameters: Record<string, string> } | undefined {
    const children = new Map<string, ApiResource[]>();
    for (const resource of api.resources.values()) {
      if (!resource.parentId) continue;
      children.set(resource.parentId, [...(children.get(resource.parentId) ?? []), resource]);
    }
    const rank = (r: ApiResource) => (r.pathPart?.endsWith("+}") ? 2 : r.pathPart?.startsWith("{") ? 1 : 0);
    const walk = (resourceId: string, rest: string[], params: Record<string, string>): { resource: ApiResource; params: Record<string, string> } | undefined => {
      const resource = api.resources.get(resourceId)!;
      if (rest.length === 0) return { resource, params };
      const [head, ...tail] = rest;
      for (const child of [...(children.get(resourceId) ?? [])].sort((a, b) => rank(a) - rank(b))) {
        const part = child.pathPart ?? "";
        if (part.endsWith("+}")) return { resource: child, params: { ...params, [part.slice(1, -2)]: rest.join("/") } };
        if (part.startsWith("{") && part.endsWith("}")) {
          const found = walk(child.id, tail, { ...params, [part.slice(1, -1)]: head! });
          if (found) return found;
        } else if (part === head) {
          const found = walk(child.id, tail, params);
          if (found) return found;
        }
      }
      return undefined;
    };
    const found = walk(api.rootResourceId, segments, {});
    return found && { resource: found.resource, resourcePath: this.resourcePath(api, found.resource.id), pathParameters: found.params };
  }
}

function proxyResponse(result: unknown, warn: (problem: string) => void): { statusCode: number; headers: Record<string, string | string[]>; body: string } {
  const response = result as { statusCode?: unknown; headers?: unknown; multiValueHeaders?: unknown; body?: unknown; isBase64Encoded?: unknown } | null;
  if (!response || typeof response !== "object" || typeof response.statusCode !== "number") {
    warn(`expected an object with a numeric statusCode, got ${JSON.stringify(result)?.slice(0, 200)}`);
    throw new HttpError(502, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
  }
  if (response.body !== undefined && response.body !== null && typeof response.body !== "string") {
    warn("body must be a string");
    throw new HttpError(502, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries((response.multiValueHeaders ?? {}) as Record<string, unknown[]>)) headers[name] = value.map(String);
  for (const [name, value] of Object.entries((response.headers ?? {}) as Record<string, unknown>)) headers[name] = String(value);
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
  const text = typeof response.body === "string" ? response.body : "";
  return { statusCode: response.statusCode, headers, body: response.isBase64Encoded === true ? Buffer.from(text, "base64").toString("latin1") : text };
}

interface HeaderSets {
  single: Record<string, string>;
  multi: Record<string, string[]>;
}

/** Header names as the client sent them (API Gateway keeps their case). */
function headersOf(req: IncomingMessage): HeaderSets {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

function lastHeader(headers: HeaderSets, name: string): string | undefined {
  const lower = name.toLowerCase();
  const key = Object.keys(headers.single).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : headers.single[key];
}

function queryOf(url: URL): HeaderSets {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
