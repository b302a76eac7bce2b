/**
 * `MOCK` integrations, answered by the gateway itself as API Gateway does (a CORS preflight is the
 * usual one): the request template names the status (`{"statusCode": 200}`); the integration
 * response whose selection pattern matches it (or the default one, without a pattern) maps it to a
 * method response: static header values (`'text'`) and a response template (VTL) whose
 * `$context.responseOverride.header.<name>` and `.status` override the rest. A missing template,
 * integration response or method response is the configuration error AWS answers with 500.
 */
import { HttpError } from "./gateway-responses";
import type { ProxyResponse } from "./lambda-proxy";
import { renderMappingTemplate } from "./mapping-templates";
import type { TemplateRequest } from "./mapping-templates";
import { methodKey } from "./rest-api";
import type { ApiIntegration, RestApi } from "./rest-api";

const DEFAULT_CONTENT_TYPE = "application/json";

function configurationError(log: (problem: string) => void, problem: string): HttpError {
  log(`Execution failed due to configuration error: ${problem}`);
  return new HttpError(500, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException");
}

/** The template for a content type: that one, else `application/json`, else the first declared. */
function templateFor(templates: Record<string, string>, contentType: string | undefined): [string, string] | undefined {
  const wanted = contentType?.split(";")[0]?.trim().toLowerCase();
  const key = (wanted && wanted in templates ? wanted : undefined) ?? (DEFAULT_CONTENT_TYPE in templates ? DEFAULT_CONTENT_TYPE : Object.keys(templates)[0]);
  return key === undefined ? undefined : [key, templates[key]!];
}

/**
 * Answers a request to a method with a MOCK integration.
 * @param accept - the request's `Accept` header, which picks the response template.
 * @param log - told about configuration errors (the 500s) and mappings not emulated.
 * @throws {HttpError} 500 for a configuration error, as API Gateway answers it.
 */
export function runMockIntegration(api: RestApi, integration: ApiIntegration, request: TemplateRequest, accept: string | undefined, log: (problem: string) => void): ProxyResponse {
  const key = methodKey(integration.resourceId, integration.httpMethod);
  const requestTemplate = templateFor(integration.requestTemplates, lastValue(request.header, "content-type"));
  let statusCode = 200;
  if (requestTemplate) {
    const rendered = renderMappingTemplate(requestTemplate[1], request).output.trim();
    let parsed: unknown;
    try {
      parsed = JSON.parse(rendered);
    } catch {
      throw configurationError(log, `the MOCK request template does not render JSON with a statusCode: ${rendered.slice(0, 200)}`);
    }
    const named = (parsed as { statusCode?: unknown } | null)?.statusCode;
    if (typeof named !== "number" || !Number.isInteger(named)) throw configurationError(log, `the MOCK request template names no integer statusCode: ${rendered.slice(0, 200)}`);
    statusCode = named;
  }

  const responses = api.integrationResponses.get(key) ?? [];
  const selected =
    responses.find((r) => r.selectionPattern !== undefined && r.selectionPattern !== "" && new RegExp(`^(?:${r.selectionPattern})$`).test(String(statusCode))) ??
    responses.find((r) => r.selectionPattern === undefined || r.selectionPattern === "");
  if (!selected) throw configurationError(log, `no integration response matches status ${statusCode} and there is no default one`);
  const methodResponse = api.methodResponses.get(`${key} ${selected.statusCode}`);
  if (!methodResponse) throw configurationError(log, `no method response ${selected.statusCode} for the integration response that matched`);

  const headers: Record<string, string> = {};
  for (const [target, expression] of Object.entries(selected.responseParameters)) {
    const name = target.replace(/^method\.response\.header\./, "");
    if (!(name in methodResponse.headers)) log(`integration response ${selected.statusCode} maps ${target}, which method response ${selected.statusCode} does not declare (AWS refuses to deploy it)`);
    const literal = /^'(.*)'$/s.exec(expression);
    if (literal) headers[name] = literal[1]!;
    else log(`integration response ${selected.statusCode}: ${target} = ${expression} is not emulated for a MOCK integration (it has no integration response headers or body)`);
  }

  const responseTemplate = templateFor(selected.responseTemplates, accept && accept !== "*/*" ? accept : undefined);
  let body = "";
  let status = Number(selected.statusCode);
  if (responseTemplate) {
    const rendered = renderMappingTemplate(responseTemplate[1], { ...request, body: "" });
    body = rendered.output;
    Object.assign(headers, rendered.headerOverrides);
    if (rendered.statusOverride !== undefined) status = rendered.statusOverride;
  }
  return { statusCode: status, headers: { "content-type": responseTemplate?.[0] ?? DEFAULT_CONTENT_TYPE, ...headers }, body };
}

function lastValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}
