/**
 * Routing: which stage, resource and method a request URL is for. The first path segment is the
 * stage; the rest is matched against the API's resource tree the way API Gateway matches it, and
 * the method is the request's HTTP method or the resource's `ANY`. Anything that does not match is
 * 403 `{"message":"Missing Authentication Token"}`, as on AWS; a path whose percent-encoding cannot
 * be decoded is 400.
 */
import { HttpError } from "./gateway-responses";
import { methodKey } from "./rest-api";
import type { ApiMethod, ApiResource, ApiStage, RestApi } from "./rest-api";

/** The resource a path matched, its full path and the values of its `{param}` parts. */
export interface Route {
  resource: ApiResource;
  resourcePath: string;
  pathParameters: Record<string, string>;
}

/** What a request is for, once routed. */
export interface MatchedRequest {
  stageName: string;
  stage: ApiStage;
  /** Upper case, as the proxy event carries it. */
  httpMethod: string;
  /** The decoded path segments after the stage. */
  segments: string[];
  route: Route;
  method: ApiMethod;
}

/**
 * Routes a request to its stage, resource and method.
 * @throws {HttpError} 403 `MISSING_AUTHENTICATION_TOKEN` for an unknown stage, path or method; 400
 *   `DEFAULT_4XX` for a malformed percent-encoding.
 */
export function matchRequest(api: RestApi, requestMethod: string | undefined, url: URL): MatchedRequest {
  const segments = url.pathname.split("/").filter(Boolean).map(decodeSegment);
  const stageName = segments.shift();
  const stage = stageName ? api.stages.get(stageName) : undefined;
  if (!stageName || !stage) throw missingAuthenticationToken();
  const httpMethod = (requestMethod ?? "GET").toUpperCase();
  const route = routeOf(api, segments);
  const method = route && (api.methods.get(methodKey(route.resource.id, httpMethod)) ?? api.methods.get(methodKey(route.resource.id, "ANY")));
  if (!route || !method) throw missingAuthenticationToken();
  return { stageName, stage, httpMethod, segments, route, method };
}

/** The resource's full path, e.g. `/order/{id}`. */
export function resourcePath(api: RestApi, resourceId: string): string {
  const parts: string[] = [];
  let current = api.resources.get(resourceId);
  while (current?.pathPart !== undefined) {
    parts.unshift(current.pathPart);
    current = current.parentId ? api.resources.get(current.parentId) : undefined;
  }
  return `/${parts.join("/")}`;
}

/** The resource matching the path: literal parts win over `{param}`, which win over `{proxy+}`. */
function routeOf(api: RestApi, segments: string[]): Route | undefined {
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
  return found && { resource: found.resource, resourcePath: resourcePath(api, found.resource.id), pathParameters: found.params };
}

/**
 * A path segment, percent-decoded. A malformed escape (`%`, `%ZZ`, `%C0%AF`, bytes that are not
 * UTF-8) is the client's error: 400, as API Gateway refuses a request it cannot decode, never the
 * 500 of an exception in the gateway itself.
 * @throws {HttpError} 400 `DEFAULT_4XX`.
 */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "DEFAULT_4XX", "Bad Request: the path has a malformed percent-encoding", "BadRequestException");
  }
}

function missingAuthenticationToken(): HttpError {
  return new HttpError(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", "MissingAuthenticationTokenException");
}
