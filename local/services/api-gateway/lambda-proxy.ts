/**
 * `AWS_PROXY` Lambda integrations: the REST API proxy event (payload format 1.0) a function gets,
 * the integration timeout, and the function's result mapped back to the HTTP response. A function
 * error or a malformed result is 502 `{"message": "Internal server error"}`, the timeout 504
 * `{"message": "Endpoint request timed out"}`, as on AWS.
 */
import type { IncomingMessage } from "node:http";
import { FunctionError } from "../../runtime/function-host";
import { HttpError } from "./gateway-responses";
import type { ApiIntegration, ApiKey, LambdaInvoker, RestApi } from "./rest-api";
import { lastHeader } from "./request";
import type { HeaderSets } from "./request";
import type { MatchedRequest } from "./routing";

/** What the local gateway sends back for a request that reached its integration. */
export interface ProxyResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** Everything the proxy event is made of. */
export interface ProxyRequest {
  api: RestApi;
  matched: MatchedRequest;
  req: IncomingMessage;
  url: URL;
  headers: HeaderSets;
  query: HeaderSets;
  body: string;
  requestId: string;
  accountId: string;
  /** The key an `apiKeyRequired` method was called with. */
  apiKey?: ApiKey;
}

/** The local function behind an `AWS_PROXY` integration's URI (`.../functions/<arn>/invocations`). */
export function integratedFunction(integration: ApiIntegration | undefined, resolveFunction: (functionArn: string) => LambdaInvoker | undefined): LambdaInvoker | undefined {
  const functionArn = integration?.type === "AWS_PROXY" ? /\/functions\/(.+)\/invocations$/.exec(integration.uri ?? "")?.[1] : undefined;
  return functionArn ? resolveFunction(functionArn) : undefined;
}

/** The REST API proxy event (payload format 1.0); maps with no entries are `null`, as on AWS. */
export function proxyEvent({ api, matched, req, url, headers, query, body, requestId, accountId, apiKey }: ProxyRequest): unknown {
  const { stageName, stage, httpMethod, segments, route } = matched;
  const now = new Date();
  return {
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
      accountId,
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
}

/**
 * Invokes the function, giving up after the integration's timeout.
 * @param onFailure - Told what the function threw (`name: message`), before the 502.
 * @throws {HttpError} 504 `INTEGRATION_TIMEOUT`, 500 `INTEGRATION_FAILURE` when Lambda refused it
 *   (throttled), or 502 when the invocation failed.
 */
export async function invokeWithTimeout(fn: LambdaInvoker, event: unknown, timeoutMilliseconds: number, onFailure: (description: string) => void): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn.invoke(event),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new HttpError(504, "INTEGRATION_TIMEOUT", "Endpoint request timed out", "InternalServerErrorException")), timeoutMilliseconds);
      }),
    ]);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    onFailure(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    // Lambda refusing the invocation (throttled) reaches the client as 500: API Gateway maps it to
    // INTEGRATION_FAILURE, a function that failed or crashed as 502.
    if (error instanceof FunctionError && error.source === "service") throw new HttpError(500, "INTEGRATION_FAILURE", "Internal server error", "InternalServerErrorException");
    throw new HttpError(502, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The function's result as the HTTP response: `statusCode`, `headers` over `multiValueHeaders`,
 * a string `body` (decoded when `isBase64Encoded`), JSON content type unless the function set one.
 * @param warn - Told why a result is malformed, before the 502.
 * @throws {HttpError} 502 for a result without a numeric `statusCode` or with a non-string body.
 */
export function proxyResponse(result: unknown, warn: (problem: string) => void): ProxyResponse {
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
