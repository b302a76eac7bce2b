/**
 * CORS on the order API, as API Gateway (REST) can do it: which resources answer a preflight, with
 * what, and the headers of the gateway's own errors. The function's own answers carry theirs
 * (functions/lib/cors.ts, the same constants).
 *
 * ```
 * OPTIONS /order, /order/{id} ─▶ MOCK integration (no function, no API key)
 *     integration response: a mapping template (VTL) that compares the request's Origin with the
 *     list and, only for an allowed one, sets the CORS headers through $context.responseOverride
 * gateway responses (403, 429, 400 shape, 5xx) ─▶ header mappings: static text or a request header
 * ```
 *
 * Where AWS forces a compromise (README, "CORS"): a gateway response cannot compare anything, its
 * headers are static text or a copy of a request value. With `["*"]` or one origin it says exactly
 * that origin; with several it must copy the caller's `Origin`, whatever it is, so a page on any
 * origin can read the gateway's own error bodies (`{"message":"Forbidden","requestId":...}`) of
 * requests that need no preflight. Everything that reaches the function, and every preflight, is
 * answered for allowed origins only.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { ANY_ORIGIN, CORS_EXPOSE_HEADERS } from "../../functions/lib/cors";
import { IDEMPOTENCY_HEADER } from "../../functions/orders/api/definition";

/**
 * The request headers a page may send: the ones the API reads (`content-type`, the key, the
 * idempotency key, the W3C trace context that continues the caller's trace).
 */
export const CORS_ALLOW_HEADERS = ["content-type", "x-api-key", IDEMPOTENCY_HEADER, "traceparent", "tracestate"] as const;
/** How long a browser may reuse a preflight answer (Chromium caps it at 7200 s, Firefox at 86400 s). */
export const CORS_MAX_AGE_SECONDS = 600;

/** Header names as API Gateway's method and gateway responses declare them. */
export const CORS_HEADER = {
  allowOrigin: "Access-Control-Allow-Origin",
  allowMethods: "Access-Control-Allow-Methods",
  allowHeaders: "Access-Control-Allow-Headers",
  maxAge: "Access-Control-Max-Age",
  exposeHeaders: "Access-Control-Expose-Headers",
  vary: "Vary",
} as const;

/** A static value in an API Gateway mapping expression: single-quoted text. */
const quoted = (value: string) => `'${value}'`;

/** True when the setting allows any origin (`["*"]`). */
export const allowsAnyOrigin = (origins: readonly string[]) => origins.includes(ANY_ORIGIN);

/**
 * The headers a preflight answers for an allowed origin, by name.
 * @param methods - the resource's methods, e.g. `["POST"]` (OPTIONS is added).
 */
export function preflightHeaders(origin: string, methods: readonly string[]): Record<string, string> {
  return {
    [CORS_HEADER.allowOrigin]: origin,
    [CORS_HEADER.allowMethods]: [...new Set([...methods, "OPTIONS"])].sort().join(","),
    [CORS_HEADER.allowHeaders]: CORS_ALLOW_HEADERS.join(","),
    [CORS_HEADER.maxAge]: String(CORS_MAX_AGE_SECONDS),
  };
}

/**
 * The integration response mapping template of a preflight for a list of origins (VTL, which
 * API Gateway evaluates in integration responses, unlike gateway responses). It reads the
 * `Origin` header (browsers send `Origin` over HTTP/1.1, `origin` over HTTP/2), and sets every CORS
 * header through `$context.responseOverride.header` only when the origin is in the list: a
 * disallowed origin gets none. The origins are validated by the settings schema (letters, digits,
 * `.-:[]/`), so they are safe inside a VTL string.
 */
export function preflightTemplate(origins: readonly string[], methods: readonly string[]): string {
  const condition = origins.map((origin) => `$origin == "${origin}"`).join(" || ");
  const overrides = Object.entries(preflightHeaders("$origin", methods)).map(
    ([name, value]) => `#set($context.responseOverride.header.${name} = "${value}")`,
  );
  return [
    "#set($origin = \"\")",
    "#set($headers = $input.params().get(\"header\"))",
    "#if($headers.get(\"Origin\"))#set($origin = $headers.get(\"Origin\"))#elseif($headers.get(\"origin\"))#set($origin = $headers.get(\"origin\"))#end",
    `#if(${condition})`,
    ...overrides,
    "#end",
    "",
  ].join("\n");
}

/**
 * The CORS headers of every gateway response, as `gatewayresponse.header.*` mappings: `*`, the one
 * origin, or (several origins) a copy of the request's `Origin` (see the compromise above), plus
 * `Vary: Origin` when the answer depends on the origin and the headers a page may read.
 */
export function gatewayResponseCorsParameters(origins: readonly string[]): Record<string, string> {
  if (origins.length === 0) return {};
  const header = (name: string) => `gatewayresponse.header.${name}`;
  const expose = { [header(CORS_HEADER.exposeHeaders)]: quoted(CORS_EXPOSE_HEADERS.join(",")) };
  if (allowsAnyOrigin(origins)) return { [header(CORS_HEADER.allowOrigin)]: quoted(ANY_ORIGIN), ...expose };
  const allowOrigin = origins.length === 1 ? quoted(origins[0]!) : "method.request.header.Origin";
  return { [header(CORS_HEADER.allowOrigin)]: allowOrigin, [header(CORS_HEADER.vary)]: quoted("Origin"), ...expose };
}

/** One resource's preflight: the OPTIONS method, its MOCK integration and their 200 responses. */
export interface Preflight {
  method: aws.apigateway.Method;
  integration: aws.apigateway.Integration;
  methodResponse: aws.apigateway.MethodResponse;
  integrationResponse: aws.apigateway.IntegrationResponse;
}

export interface PreflightArgs {
  restApi: pulumi.Input<string>;
  resourceId: pulumi.Input<string>;
  /** The resource's methods besides OPTIONS, e.g. `["POST"]`. */
  methods: readonly string[];
  /** The allowed origins (`corsAllowOrigins`, not empty). */
  origins: readonly string[];
}

/**
 * Declares a resource's preflight, answered by API Gateway itself: an OPTIONS method with no
 * authorization and no API key (browsers never send credentials on a preflight), a MOCK
 * integration that answers 200, and the 200 responses that carry the CORS headers. With `["*"]`
 * the headers are static; with a list they come from {@link preflightTemplate}, and only `Vary`
 * is static.
 * @param name - logical name prefix, e.g. `orders-order` → `orders-order-options`, ...
 */
export function createPreflight(name: string, args: PreflightArgs, opts: pulumi.CustomResourceOptions): Preflight {
  const { restApi, resourceId, methods, origins } = args;
  const method = new aws.apigateway.Method(`${name}-options`, { restApi, resourceId, httpMethod: "OPTIONS", authorization: "NONE", apiKeyRequired: false }, opts);
  const integration = new aws.apigateway.Integration(`${name}-options-integration`, {
    restApi,
    resourceId,
    httpMethod: method.httpMethod,
    type: "MOCK",
    // A MOCK integration answers the status its request template names.
    requestTemplates: { "application/json": '{"statusCode": 200}' },
    passthroughBehavior: "WHEN_NO_MATCH",
  }, opts);
  const any = allowsAnyOrigin(origins);
  const names = [...Object.keys(preflightHeaders("", methods)), ...(any ? [] : [CORS_HEADER.vary])];
  const methodResponse = new aws.apigateway.MethodResponse(`${name}-options-200`, {
    restApi,
    resourceId,
    httpMethod: method.httpMethod,
    statusCode: "200",
    responseParameters: Object.fromEntries(names.map((header) => [`method.response.header.${header}`, false])),
  }, opts);
  const staticHeaders = any ? preflightHeaders(ANY_ORIGIN, methods) : { [CORS_HEADER.vary]: "Origin" };
  const integrationResponse = new aws.apigateway.IntegrationResponse(`${name}-options-integration-200`, {
    restApi,
    resourceId,
    httpMethod: method.httpMethod,
    statusCode: methodResponse.statusCode,
    responseParameters: Object.fromEntries(Object.entries(staticHeaders).map(([header, value]) => [`method.response.header.${header}`, quoted(value)])),
    responseTemplates: { "application/json": any ? "" : preflightTemplate(origins, methods) },
  }, { ...opts, dependsOn: [integration] });
  return { method, integration, methodResponse, integrationResponse };
}
