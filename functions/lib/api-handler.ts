/**
 * The runtime of API Gateway (REST, Lambda proxy) typed functions.
 *
 * A function declares its routes as `"<METHOD> <resource path>"` keys (API Gateway's resource
 * template, e.g. `GET /order/{id}`), each with its own handler. The runtime:
 * - parses the JSON body once (a body that is not JSON answers 400 before any route runs);
 * - lower-cases header names (API Gateway passes them as the client sent them);
 * - answers every result as JSON with `content-type: application/json`;
 * - turns an `HttpError` into its status and body, and anything else into a 500 that names the
 *   request id and nothing internal (the error itself goes to the log);
 * - adds the CORS headers for the caller's `Origin` to every answer, errors included, when the
 *   function is told its allowed origins (`cors.ts`);
 * - traces each invocation as a SERVER span `<METHOD> <resource>` (`traceApiInvocation`), child of
 *   the caller's `traceparent` header when it sent one, flushed before the answer is returned.
 *   Routes add business ids with `setBusinessAttributes` and pass the context on with
 *   `injectIntoPayload` / the shared clients.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type * as z from "./zod-mini";
import { readSettings } from "./define";
import type { ApiTrigger, FunctionDefinition } from "./define";
import type { LinkMap, ResolvedLinks } from "./links";
import { resolveLinks } from "./links";
import { corsResponseHeaders } from "./cors";
import { createLogger, createMetrics } from "./observability";
import { traceApiInvocation } from "./telemetry/invocation";

/** One offending field of a request: its path (`items.0.quantity`) and why. */
export interface FieldError {
  field: string;
  message: string;
}

/** A response with a status other than 2xx; thrown from a route. */
export class HttpError extends Error {
  override name = "HttpError";
  /**
   * @param statusCode - the HTTP status.
   * @param message - the `message` field of the JSON body.
   * @param details - more fields of the body, e.g. `{ errors: FieldError[] }`.
   */
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A 400 naming each offending field of a zod validation failure. */
export function badRequest(error: z.$ZodError, message = "Invalid request"): HttpError {
  return new HttpError(400, message, { errors: fieldErrors(error) });
}

/** `[{ field: "items.0.quantity", message: "must be at most 1000" }]`; the root is `(body)`. */
export function fieldErrors(error: z.$ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join(".") || "(body)", message: issue.message }));
}

/** The request as a route sees it. */
export interface ApiRequest {
  /** `POST /order`: the method and API Gateway's resource template. */
  route: string;
  /** Path parameters by name (`{id}` → `id`). */
  pathParameters: Readonly<Record<string, string>>;
  /** Query string parameters (last value wins). */
  query: Readonly<Record<string, string>>;
  /** Header values by lower-case name. */
  headers: Readonly<Record<string, string>>;
  /** The parsed JSON body; `undefined` when the request had none. */
  body: unknown;
  /** API Gateway's request id (also in the log and in 500 answers). */
  requestId: string;
}

/** What a route answers: a status, a JSON body and extra headers. */
export interface ApiResult {
  statusCode: number;
  body: unknown;
  /** @default {} */
  headers?: Record<string, string>;
}

/** What a route receives besides the request. */
export interface RouteContext<L extends LinkMap, S> {
  links: ResolvedLinks<L>;
  settings: S;
  logger: Logger;
  /** The function's EMF metrics (`recordOrderPlaced(metrics)`, ...). */
  metrics: Metrics;
  lambdaContext: Context;
}

export type RouteHandler<L extends LinkMap, S> = (request: ApiRequest, context: RouteContext<L, S>) => Promise<ApiResult>;

/** How an API function behaves beyond its routes. */
export interface ApiHandlerOptions<S> {
  /**
   * The origins whose pages may read its answers (CORS), from its settings.
   * @default none: no CORS headers
   * @example (settings) => settings.corsAllowOrigins
   */
  allowedOrigins?: (settings: S) => readonly string[];
}

const ROUTE_KEY = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \/\S*$/;

/**
 * Implements an API-triggered definition.
 *
 * @param definition - the function's definition (its trigger must be `api`).
 * @param routes - handler per `"<METHOD> <resource template>"`, e.g. `"GET /order/{id}"`.
 * @param options - CORS (`allowedOrigins`). @default {}
 * @returns the Lambda handler for API Gateway's proxy integration.
 */
export function apiHandler<L extends LinkMap, S extends z.$ZodType>(
  definition: FunctionDefinition<ApiTrigger, L, S>,
  routes: Record<string, RouteHandler<L, z.output<S>>>,
  options: ApiHandlerOptions<z.output<S>> = {},
): (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult> {
  for (const key of Object.keys(routes)) {
    if (!ROUTE_KEY.test(key)) throw new Error(`Function "${definition.name}": route "${key}" must look like "GET /order/{id}"`);
  }
  const logger = createLogger(definition.name);
  const metrics = createMetrics(definition.name);
  const links = resolveLinks(definition.name, definition.links as L);
  let settings: z.output<S> | undefined;

  const respond = (result: ApiResult, requestId: string, origin: string | undefined): APIGatewayProxyResult => ({
    statusCode: result.statusCode,
    headers: {
      "content-type": "application/json",
      "x-request-id": requestId,
      ...result.headers,
      ...corsResponseHeaders(origin, settings && options.allowedOrigins ? options.allowedOrigins(settings) : []),
    },
    body: JSON.stringify(result.body),
  });

  /** One invocation, start to end: the single place where telemetry wraps an API function. */
  const invoke = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    settings ??= readSettings(definition);
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const route = `${event.httpMethod} ${event.resource}`;
    const origin = headerValue(event, "origin");
    logger.resetKeys();
    logger.addContext(context);
    logger.appendKeys({ route, api_request_id: requestId });
    try {
      const handle = routes[route];
      if (!handle) {
        const pathKnown = Object.keys(routes).some((key) => key.endsWith(` ${event.resource}`));
        throw pathKnown ? new HttpError(405, `${event.httpMethod} is not allowed on ${event.resource}`) : new HttpError(404, `No route for ${event.httpMethod} ${event.path}`);
      }
      const request: ApiRequest = {
        route,
        pathParameters: compact(event.pathParameters),
        query: compact(event.queryStringParameters),
        headers: Object.fromEntries(Object.entries(event.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), v]]))),
        body: parseBody(event),
        requestId,
      };
      const result = await handle(request, { links, settings, logger, metrics, lambdaContext: context });
      logger.info("Request answered", { status: result.statusCode });
      return respond(result, requestId, origin);
    } catch (error) {
      if (error instanceof HttpError) {
        logger.info("Request refused", { status: error.statusCode, reason: error.message });
        return respond({ statusCode: error.statusCode, body: { message: error.message, ...error.details } }, requestId, origin);
      }
      logger.error("Request failed", { error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
      return respond({ statusCode: 500, body: { message: "Internal server error", request_id: requestId } }, requestId, origin);
    }
  };
  return (event, context) => traceApiInvocation(event, context, () => invoke(event, context));
}

/** A request header's value, its name matched case-insensitively (HTTP/2 clients send lower case). */
function headerValue(event: APIGatewayProxyEvent, name: string): string | undefined {
  const key = Object.keys(event.headers ?? {}).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : (event.headers[key] ?? undefined);
}

function compact(values: Record<string, string | undefined> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])));
}

function parseBody(event: APIGatewayProxyEvent): unknown {
  if (event.body === null || event.body === undefined || event.body === "") return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, "Request body is not valid JSON", { errors: [{ field: "(body)", message: "must be a JSON document" }] });
  }
}
