/**
 * CORS as an API function answers it: the headers its responses carry for the caller's `Origin`.
 *
 * API Gateway answers the preflight (`OPTIONS`) itself and adds headers to its own errors
 * (components/orders/cors.ts); the function's responses go through the Lambda proxy integration
 * untouched, so the function sets them itself. It is also the only place on AWS that can pick the
 * origin from a list for every request: it echoes the caller's origin when the list has it, and
 * sends no CORS header at all when it does not, so the browser refuses to show the response.
 *
 * The constants are shared with the infrastructure (the preflight and gateway responses say the
 * same), which imports them from here.
 */

/** Response headers a browser page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSE_HEADERS = ["x-request-id", "x-amzn-requestid", "idempotent-replayed"] as const;
/** The header through which any origin is allowed. */
export const ANY_ORIGIN = "*";

/**
 * The CORS headers of a function's response.
 *
 * @param origin - the request's `Origin` header; `undefined` for a request not made by a page
 *   on another origin (curl, a server).
 * @param allowed - the allowed origins (`corsAllowOrigins`): `["*"]` for any, `[]` for none.
 * @returns `Access-Control-Allow-Origin` (the origin itself, or `*`) and
 *   `Access-Control-Expose-Headers` for an allowed origin, nothing for another; `Vary: Origin`
 *   whenever the answer depends on the origin (a list that is not `*`), so a cache never hands one
 *   origin's answer to another.
 */
export function corsResponseHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (allowed.length === 0) return {};
  if (allowed.includes(ANY_ORIGIN)) return { "access-control-allow-origin": ANY_ORIGIN, "access-control-expose-headers": CORS_EXPOSE_HEADERS.join(",") };
  const headers: Record<string, string> = { vary: "Origin" };
  if (origin !== undefined && allowed.includes(origin)) {
    headers["access-control-allow-origin"] = origin;
    headers["access-control-expose-headers"] = CORS_EXPOSE_HEADERS.join(",");
  }
  return headers;
}
