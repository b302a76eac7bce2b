/**
 * Refused requests and how they are answered. Every step of the request pipeline refuses a
 * request by throwing an {@link HttpError} that names its gateway response type
 * (`MISSING_AUTHENTICATION_TOKEN`, `BAD_REQUEST_BODY`, ...); {@link sendGatewayError} turns it into
 * the response: the API's gateway response for that type (or `DEFAULT_4XX`/`DEFAULT_5XX`) if the
 * program declared one, else API Gateway's default `{"message": ...}` body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RestApi } from "./rest-api";

/** A refused request: HTTP status, gateway response type, message and `x-amzn-ErrorType`. */
export class HttpError extends Error {
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

/**
 * Answers a request that failed anywhere in the pipeline. Anything but an {@link HttpError} is a
 * bug of the local gateway: logged with its stack and answered 500, as API Gateway answers its own
 * faults.
 */
export function sendGatewayError(api: RestApi, req: IncomingMessage, res: ServerResponse, requestId: string, error: unknown, log: (line: string) => void): void {
  const failure = error instanceof HttpError ? error : new HttpError(500, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
  if (!(error instanceof HttpError)) log(`[api ${api.name}] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  if (failure.validationErrors.length) {
    // What the stage's access log would show in $context.error.validationErrorString.
    log(`[api ${api.name}] ${req.method ?? "GET"} ${req.url ?? "/"}: ${failure.status} ${failure.responseType} ${errorContext(failure)["error.validationErrorString"]}`);
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
    ...gatewayResponseHeaders(custom?.headers ?? {}, req, request, stage?.variables ?? {}, (problem) => log(`[api ${api.name}] ${problem}`)),
  });
  res.end(text);
}

/**
 * A gateway response's headers, from its `gatewayresponse.header.<name>` mappings as AWS evaluates
 * them: `'static text'`, or a copy of `method.request.header.<name>` (matched case-insensitively,
 * as HTTP header names are), `method.request.querystring.<name>`, `stageVariables.<name>` or
 * `context.<name>`. A mapping whose source the request does not have adds no header.
 */
export function gatewayResponseHeaders(
  mappings: Record<string, string>,
  req: IncomingMessage,
  context: GatewayContext,
  stageVariables: Record<string, string>,
  log: (problem: string) => void,
): Record<string, string> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const headers: Record<string, string> = {};
  for (const [name, expression] of Object.entries(mappings)) {
    const literal = /^'(.*)'$/s.exec(expression);
    const source = /^(method\.request\.header|method\.request\.querystring|stageVariables|context)\.(.+)$/.exec(expression);
    let value: string | undefined;
    if (literal) value = literal[1];
    else if (source?.[1] === "method.request.header") {
      const header = req.headers[source[2]!.toLowerCase()];
      value = Array.isArray(header) ? header.at(-1) : header;
    } else if (source?.[1] === "method.request.querystring") value = url.searchParams.getAll(source[2]!).at(-1);
    else if (source?.[1] === "stageVariables") value = stageVariables[source[2]!];
    else if (source?.[1] === "context") value = context[source[2]!];
    else log(`gateway response header ${name} = ${expression} is not emulated locally`);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
