/**
 * The registry of every REST API of the local cloud, and the front that serves them: one HTTP
 * server per API on 127.0.0.1. The provisioners fill the registry in as the program declares
 * resources; each request then goes through {@link ApiGatewayRegistry}'s `handle`, a short
 * pipeline whose steps live in the sibling modules (routing, usage plans, request validation,
 * Lambda proxy) and refuse a request by throwing the error its gateway response answers.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpError, sendGatewayError } from "./gateway-responses";
import { integratedFunction, invokeWithTimeout, proxyEvent, proxyResponse } from "./lambda-proxy";
import type { ProxyResponse } from "./lambda-proxy";
import { runMockIntegration } from "./mock-integration";
import { methodKey } from "./rest-api";
import type { ApiKey, LambdaInvoker, RestApi, UsagePlan } from "./rest-api";
import { headersOf, lastHeader, queryOf, readBody } from "./request";
import { validateRequest } from "./request-validation";
import { matchRequest, resourcePath } from "./routing";
import { UsagePlanThrottle, admitApiKey } from "./usage-plans";

export interface ApiGatewayRegistryOptions {
  region: string;
  accountId: string;
  /** Finds the function of an integration URI's function ARN. */
  resolveFunction: (functionArn: string) => LambdaInvoker | undefined;
  /** Warnings (unsupported integration types, and so on). */
  log: (line: string) => void;
  /**
   * Whether API Gateway may invoke the function for a request (the function's Lambda permissions,
   * `local/iam`): undefined allows, a message refuses (500, as AWS answers a missing permission).
   * @default every invocation allowed
   */
  authorizeInvoke?: (functionArn: string, sourceArn: string) => string | undefined;
}

/** Every REST API of the local cloud. The provisioners fill it in; each API serves on its own port. */
export class ApiGatewayRegistry {
  readonly apis = new Map<string, RestApi>();
  readonly apiKeys = new Map<string, ApiKey>();
  readonly usagePlans = new Map<string, UsagePlan>();
  /** API key id → usage plan ids. */
  readonly planKeys = new Map<string, Set<string>>();
  private readonly throttle = new UsagePlanThrottle();

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
      methodResponses: new Map(),
      integrationResponses: new Map(),
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
    return resourcePath(api, resourceId);
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
      sendGatewayError(api, req, res, requestId, error, this.options.log);
    }
  }

  /** One request, in API Gateway's order; each step throws the {@link HttpError} that refuses it. */
  private async handle(api: RestApi, req: IncomingMessage, body: string, requestId: string): Promise<ProxyResponse> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const matched = matchRequest(api, req.method, url);
    const { method, route } = matched;
    const headers = headersOf(req);
    const apiKey = method.apiKeyRequired ? admitApiKey(this, this.throttle, api.id, matched.stageName, lastHeader(headers, "x-api-key")) : undefined;
    const query = queryOf(url);
    validateRequest(api, method, { headers, query, pathParameters: route.pathParameters, body });

    const integration = api.integrations.get(methodKey(method.resourceId, method.httpMethod));
    const where = `[api ${api.name}] ${matched.httpMethod} ${route.resourcePath}`;
    if (integration?.type === "MOCK") {
      const request = {
        path: route.pathParameters,
        querystring: query.single,
        header: headers.single,
        body,
        context: { requestId, extendedRequestId: requestId, apiId: api.id, stage: matched.stageName, httpMethod: matched.httpMethod, resourcePath: route.resourcePath, resourceId: route.resource.id },
        stageVariables: matched.stage.variables,
      };
      return runMockIntegration(api, integration, request, lastHeader(headers, "accept"), (problem) => this.options.log(`${where}: ${problem}`));
    }
    const fn = integratedFunction(integration, this.options.resolveFunction);
    if (!integration || !fn) {
      this.options.log(`${where}: integration ${integration?.type ?? "(none)"} ${integration?.uri ?? ""} is not emulated locally (only AWS_PROXY to a local function, and MOCK)`);
      throw new HttpError(500, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
    }

    const functionArn = /\/functions\/(.+)\/invocations$/.exec(integration.uri ?? "")?.[1];
    // The ARN API Gateway invokes with: arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>.
    const sourceArn = `arn:aws:execute-api:${this.options.region}:${this.options.accountId}:${api.id}/${matched.stageName}/${req.method ?? "GET"}/${matched.segments.join("/")}`;
    const refusal = functionArn ? this.options.authorizeInvoke?.(functionArn, sourceArn) : undefined;
    if (refusal) {
      this.options.log(`${where}: Execution failed due to configuration error: Invalid permissions on Lambda function (${refusal})`);
      throw new HttpError(500, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
    }
    const event = proxyEvent({ api, matched, req, url, headers, query, body, requestId, accountId: this.options.accountId, apiKey });
    const result = await invokeWithTimeout(fn, event, integration.timeoutMilliseconds, (failure) => this.options.log(`${where}: Lambda invocation failed: ${failure}`));
    return proxyResponse(result, (problem) => this.options.log(`${where}: malformed Lambda proxy response: ${problem}`));
  }
}
