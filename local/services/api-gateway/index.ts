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
 * - `MOCK` integrations (a CORS preflight): the request template names the status, the matching
 *   integration response maps it to a method response with static headers and a VTL response
 *   template, whose `$context.responseOverride` headers and status apply (mock-integration.ts,
 *   mapping-templates.ts); gateway responses' header mappings (`'static'`,
 *   `method.request.header.<name>`, ...) are applied too.
 * Not emulated: authorizers other than API keys, non-proxy integrations other than MOCK, usage
 * plan quotas, caching, deployments as snapshots (the latest declared configuration is served).
 *
 * Modules, in the order a request meets them:
 * - registry.ts: {@link ApiGatewayRegistry}, the APIs and their servers; `handle` is the pipeline;
 * - request.ts: headers, query string and body of the incoming request;
 * - routing.ts: stage, resource and method of a URL;
 * - usage-plans.ts: API keys, usage plans and their throttling;
 * - request-validation.ts and model-schema.ts: request validators and request models;
 * - lambda-proxy.ts: the proxy event, the integration timeout, the function's response;
 * - mock-integration.ts and mapping-templates.ts: MOCK integrations and their VTL templates;
 * - gateway-responses.ts: refused requests and the gateway responses that answer them;
 * - rest-api.ts: the declarations all of them read.
 *
 * This index exports what the local cloud (local/cloud.ts) and the provisioners
 * (local/provision/apigateway.ts) use.
 */
export { compileModelSchema } from "./model-schema";
export { ApiGatewayRegistry } from "./registry";
export { INTEGRATION_TIMEOUT_MS, methodKey } from "./rest-api";
export type { LambdaInvoker } from "./rest-api";
