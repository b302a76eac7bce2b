/**
 * Mapping templates (integration request and response templates of non-proxy integrations), which
 * API Gateway evaluates with its Velocity (VTL) engine, unlike gateway response templates
 * (gateway-responses.ts: simple substitution only). Rendered here with velocityjs, the VTL engine
 * serverless-offline also uses, given what API Gateway gives a template:
 * - `$input.params()` (a map of `path`, `querystring` and `header` maps), `$input.params(name)`
 *   (the first of path, query string and header with that name), `$input.body`, `$input.json('$')`;
 * - `$context` (request id, stage, HTTP method, resource path, ...) with `responseOverride.header`
 *   and `responseOverride.status`, which a response template sets to override the method
 *   response's headers and status;
 * - `$stageVariables`; `$util.escapeJavaScript`, `$util.urlEncode`, `$util.urlDecode`,
 *   `$util.base64Encode`, `$util.base64Decode`.
 * Maps answer Java's `get`, `keySet`, `containsKey` and `size`, as AWS's do.
 */
import * as velocity from "velocityjs";

/** Java's Map methods, which an entry of the same name (a header called `get`) must not hide. */
const MAP_METHODS = new Set(["get", "keySet", "containsKey", "size", "entries"]);

/** A Java-like map, as VTL templates on AWS see request parameters (`$map.get("a")` and `$map.a`). */
class VtlMap {
  constructor(private readonly entries: Record<string, unknown>) {
    for (const [key, value] of Object.entries(entries)) if (!MAP_METHODS.has(key)) Object.defineProperty(this, key, { value, enumerable: true });
  }
  get(key: string): unknown {
    return this.entries[key] ?? null;
  }
  keySet(): string[] {
    return Object.keys(this.entries);
  }
  containsKey(key: string): boolean {
    return key in this.entries;
  }
  size(): number {
    return Object.keys(this.entries).length;
  }
}

/** The request as a mapping template sees it. */
export interface TemplateRequest {
  /** Path parameters by name. */
  path: Record<string, string>;
  /** Query string parameters (last value) by name. */
  querystring: Record<string, string>;
  /** Headers (last value) by name, as the client sent them. */
  header: Record<string, string>;
  /** The body the template reads as `$input.body` (the request's, or the integration's answer). */
  body: string;
  /** `$context` variables, e.g. `{ requestId, stage, httpMethod, resourcePath }`. */
  context: Record<string, unknown>;
  stageVariables: Record<string, string>;
}

/** What a rendered template produced: its text and the overrides it set. */
export interface RenderedTemplate {
  output: string;
  /** `$context.responseOverride.header.<name>` values set by the template. */
  headerOverrides: Record<string, string>;
  /** `$context.responseOverride.status`, when set. */
  statusOverride?: number;
}

/**
 * Renders a mapping template the way API Gateway does.
 * @throws {Error} naming the problem, for a template velocityjs cannot parse (AWS refuses to
 *   deploy one; a deployed one that fails answers 500).
 */
export function renderMappingTemplate(template: string, request: TemplateRequest): RenderedTemplate {
  const params = new VtlMap({ path: new VtlMap(request.path), querystring: new VtlMap(request.querystring), header: new VtlMap(request.header) });
  const responseOverride: { header: Record<string, unknown>; status?: unknown } = { header: {} };
  const input = {
    params: (name?: string) => {
      if (name === undefined) return params;
      return request.path[name] ?? request.querystring[name] ?? request.header[name] ?? "";
    },
    body: request.body,
    json: (path: string) => jsonAt(request.body, path),
    path: (path: string) => JSON.parse(jsonAt(request.body, path)) as unknown,
  };
  const util = {
    escapeJavaScript: (value: unknown) => JSON.stringify(String(value ?? "")).slice(1, -1).replaceAll("'", "\\'"),
    urlEncode: (value: unknown) => encodeURIComponent(String(value ?? "")),
    urlDecode: (value: unknown) => decodeURIComponent(String(value ?? "")),
    base64Encode: (value: unknown) => Buffer.from(String(value ?? ""), "utf8").toString("base64"),
    base64Decode: (value: unknown) => Buffer.from(String(value ?? ""), "base64").toString("utf8"),
    parseJson: (value: unknown) => JSON.parse(String(value)) as unknown,
  };
  const context = { ...request.context, responseOverride };
  const output = velocity.render(template, { input, context, stageVariables: request.stageVariables, util }, undefined, { escape: false });
  const headerOverrides = Object.fromEntries(Object.entries(responseOverride.header).map(([name, value]) => [name, String(value)]));
  const status = responseOverride.status === undefined ? undefined : Number(responseOverride.status);
  return { output, headerOverrides, ...(status !== undefined && Number.isInteger(status) ? { statusOverride: status } : {}) };
}

/** `$input.json(path)` for the paths templates use: `$` and dotted members (`$.a.b`). */
function jsonAt(body: string, path: string): string {
  let value: unknown = body === "" ? {} : (JSON.parse(body) as unknown);
  for (const part of path.replace(/^\$\.?/, "").split(".").filter(Boolean)) value = (value as Record<string, unknown> | null)?.[part];
  return JSON.stringify(value ?? null);
}
