import { afterEach, describe, expect, it } from "vitest";
import { BAD_REQUEST_BODY_MESSAGE, GATEWAY_RESPONSE_TEMPLATES, orderRequestJsonSchema } from "../../../components/orders/api-model";
import { gatewayResponseCorsParameters, preflightTemplate } from "../../../components/orders/cors";
import { runProgram } from "../../../runner/run-program";
import { errorContext, renderGatewayTemplate } from "../../../local/services/api-gateway/gateway-responses";
import { compileModelSchema } from "../../../local/services/api-gateway/model-schema";
import { ApiGatewayRegistry } from "../../../local/services/api-gateway/registry";
import { methodKey } from "../../../local/services/api-gateway/rest-api";

const invocations: unknown[] = [];
const logs: string[] = [];
let registry: ApiGatewayRegistry | undefined;

afterEach(async () => {
  await registry?.stop();
  registry = undefined;
  invocations.length = 0;
  logs.length = 0;
});

/** An API like the program's: POST /order (key, model), GET /order/{id} (key, path parameter), GET /public/{proxy+}. */
async function api(options: { rateLimit?: number; burstLimit?: number; result?: unknown } = {}) {
  registry = new ApiGatewayRegistry({
    region: "us-east-2",
    accountId: "000000000000",
    log: (line) => logs.push(line),
    resolveFunction: (arn) =>
      arn.endsWith(":function:orders")
        ? {
            invoke: async (event) => {
              invocations.push(event);
              return options.result ?? { statusCode: 201, headers: { "x-custom": "yes" }, body: JSON.stringify({ ok: true }) };
            },
          }
        : undefined,
  });
  const rest = await registry.createApi("abc123", "orders-api", "root");
  rest.resources.set("order", { id: "order", parentId: "root", pathPart: "order" });
  rest.resources.set("orderId", { id: "orderId", parentId: "order", pathPart: "{id}" });
  rest.resources.set("public", { id: "public", parentId: "root", pathPart: "public" });
  rest.resources.set("proxy", { id: "proxy", parentId: "public", pathPart: "{proxy+}" });
  rest.models.set("OrderRequest", {
    name: "OrderRequest",
    contentType: "application/json",
    validate: compileModelSchema({
      $schema: "http://json-schema.org/draft-04/schema#",
      type: "object",
      required: ["customer_id"],
      properties: { customer_id: { type: "string", minLength: 1 } },
      additionalProperties: false,
    }),
  });
  rest.validators.set("body", { id: "body", validateRequestBody: true, validateRequestParameters: false });
  const method = (resourceId: string, httpMethod: string, extra: Partial<{ apiKeyRequired: boolean; requestModels: Record<string, string>; requestValidatorId: string }> = {}) => {
    rest.methods.set(methodKey(resourceId, httpMethod), { resourceId, httpMethod, apiKeyRequired: false, authorization: "NONE", requestModels: {}, requestParameters: {}, ...extra });
    rest.integrations.set(methodKey(resourceId, httpMethod), {
      resourceId,
      httpMethod,
      type: "AWS_PROXY",
      uri: "arn:aws:apigateway:us-east-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-2:000000000000:function:orders/invocations",
      timeoutMilliseconds: 29_000,
      requestTemplates: {},
    });
  };
  method("order", "POST", { apiKeyRequired: true, requestModels: { "application/json": "OrderRequest" }, requestValidatorId: "body" });
  method("orderId", "GET", { apiKeyRequired: true });
  method("proxy", "ANY");
  rest.stages.set("dev", { stageName: "dev", variables: {} });
  registry.apiKeys.set("key1", { id: "key1", value: "secret-key", enabled: true });
  registry.usagePlans.set("plan1", { id: "plan1", apiStages: [{ apiId: "abc123", stage: "dev" }], rateLimit: options.rateLimit, burstLimit: options.burstLimit });
  registry.planKeys.set("key1", new Set(["plan1"]));
  return registry.invokeUrl("abc123", "dev");
}

async function send(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

const withKey = (key = "secret-key") => ({ "x-api-key": key, "content-type": "application/json" });

describe("local API Gateway", () => {
  it("turns a request into a REST proxy event and the function's result into the response", async () => {
    const base = await api();
    const response = await send(`${base}/order/123?x=1&x=2`, { headers: { ...withKey(), "X-Trace": "t" } });
    expect(response.status).toBe(201);
    expect(response.body).toBe('{"ok":true}');
    expect(response.headers.get("x-custom")).toBe("yes");
    expect(invocations[0]).toMatchObject({
      resource: "/order/{id}",
      path: "/order/123",
      httpMethod: "GET",
      pathParameters: { id: "123" },
      queryStringParameters: { x: "2" },
      multiValueQueryStringParameters: { x: ["1", "2"] },
      headers: { "X-Trace": "t" },
      body: null,
      isBase64Encoded: false,
      requestContext: { stage: "dev", apiId: "abc123", resourcePath: "/order/{id}", path: "/dev/order/123", identity: { apiKey: "secret-key", apiKeyId: "key1" } },
    });
  });

  it("routes greedy paths and ANY", async () => {
    const base = await api();
    expect((await send(`${base}/public/a/b/c`, { method: "DELETE" })).status).toBe(201);
    expect(invocations[0]).toMatchObject({ resource: "/public/{proxy+}", pathParameters: { proxy: "a/b/c" } });
  });

  it("answers 403 Missing Authentication Token for unknown paths, methods and stages", async () => {
    const base = await api();
    for (const url of [`${base}/nowhere`, `${base.replace("/dev", "/prod")}/order`]) {
      const response = await send(url, { headers: withKey() });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body)).toEqual({ message: "Missing Authentication Token" });
    }
    expect((await send(`${base}/order`, { method: "DELETE", headers: withKey() })).status).toBe(403);
  });

  it("answers 400 for a path with a malformed percent-encoding, not 500 (found by tests/fuzz/order-api.fuzz.test.ts)", async () => {
    const base = await api();
    for (const path of ["/order/%", "/order/%ZZ", "/order/%E0%A4%A", "/order/%C0%AF", "/public/a/%FF", "/%"]) {
      const response = await send(`${base}${path}`, { headers: withKey() });
      expect(response.status, path).toBe(400);
      expect(JSON.parse(response.body), path).toEqual({ message: "Bad Request: the path has a malformed percent-encoding" });
      expect(response.headers.get("x-amzn-errortype")).toBe("BadRequestException");
    }
    expect(invocations).toHaveLength(0);
    expect(logs.filter((line) => line.includes("URIError"))).toEqual([]);
    // Well-formed escapes still decode into the path parameter.
    expect((await send(`${base}/order/a%2Fb%20%C3%A9`, { headers: withKey() })).status).toBe(201);
    expect(invocations[0]).toMatchObject({ pathParameters: { id: "a/b é" } });
  });

  it("enforces the API key: missing or unknown is 403 Forbidden and the function is not called", async () => {
    const base = await api();
    for (const headers of [{ "content-type": "application/json" }, withKey("wrong")]) {
      const response = await send(`${base}/order`, { method: "POST", headers, body: '{"customer_id":"c"}' });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body)).toEqual({ message: "Forbidden" });
      expect(response.headers.get("x-amzn-errortype")).toBe("ForbiddenException");
    }
    expect(invocations).toHaveLength(0);
  });

  it("validates the body against the draft-04 model: 400 Invalid request body", async () => {
    const base = await api();
    for (const body of ["{", "{}", '{"customer_id":""}', '{"customer_id":"c","extra":1}']) {
      const response = await send(`${base}/order`, { method: "POST", headers: withKey(), body });
      expect(response.status, body).toBe(400);
      expect(JSON.parse(response.body)).toEqual({ message: "Invalid request body" });
    }
    expect(invocations).toHaveLength(0);
    expect((await send(`${base}/order`, { method: "POST", headers: withKey(), body: '{"customer_id":"c"}' })).status).toBe(201);
  });

  it("applies the program's gateway responses: the shape error is valid JSON, the validator's detail goes to the log", async () => {
    const base = await api();
    const rest = registry!.api("abc123");
    rest.models.set("OrderRequest", { name: "OrderRequest", contentType: "application/json", validate: compileModelSchema(orderRequestJsonSchema()) });
    for (const [type, template] of Object.entries(GATEWAY_RESPONSE_TEMPLATES)) rest.gatewayResponses.set(type, { templates: { "application/json": template }, headers: {} });
    for (const body of ["{", "{}", '{"customer_id":"say \\"hi\\"","items":[{"product_id":"p","quantity":"2"}]}', "[]"]) {
      const response = await send(`${base}/order`, { method: "POST", headers: withKey(), body });
      expect(response.status, body).toBe(400);
      expect(JSON.parse(response.body), body).toEqual({
        message: "Invalid order",
        errors: [{ field: "(body)", message: BAD_REQUEST_BODY_MESSAGE }],
        requestId: response.headers.get("x-amzn-requestid"),
      });
    }
    expect(logs.filter((l) => l.includes("BAD_REQUEST_BODY"))).toEqual([
      expect.stringContaining("[the body is not valid JSON ("),
      expect.stringContaining('[object has missing required properties (["customer_id","items"]) at /]'),
      expect.stringContaining('[instance type (string) does not match any allowed primitive type (allowed: ["integer"]) at /items/0/quantity]'),
      expect.stringContaining('[instance type (array) does not match any allowed primitive type (allowed: ["object"]) at /]'),
    ]);
    // DEFAULT_4XX: the gateway's message, quoted by $context.error.messageString.
    const forbidden = await send(`${base}/order`, { method: "POST", headers: withKey("wrong"), body: "{}" });
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body)).toEqual({ message: "Forbidden", requestId: forbidden.headers.get("x-amzn-requestid") });
    expect(invocations).toHaveLength(0);
  });

  it("applies a gateway response's status code", async () => {
    const base = await api();
    registry!.api("abc123").gatewayResponses.set("BAD_REQUEST_BODY", { statusCode: 422, templates: { "application/json": '{"message":$context.error.messageString,"type":"$context.error.responseType"}' }, headers: {} });
    const response = await send(`${base}/order`, { method: "POST", headers: withKey(), body: "{}" });
    expect(response.status).toBe(422);
    expect(JSON.parse(response.body)).toEqual({ message: "Invalid request body", type: "BAD_REQUEST_BODY" });
  });

  it("throttles per key with the usage plan's rate and burst: 429 Too Many Requests", async () => {
    // 0.01 requests per second: a token comes back after 100 s, so however slow the machine, the
    // burst of 2 is all there is during the test.
    const base = await api({ rateLimit: 0.01, burstLimit: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await send(`${base}/order/1`, { headers: withKey() })).status);
    expect(statuses).toEqual([201, 201, 429, 429]);
  });

  it("answers 502 for a malformed proxy result", async () => {
    const base = await api({ result: { body: "no status" } });
    const response = await send(`${base}/order/1`, { headers: withKey() });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body)).toEqual({ message: "Internal server error" });
  });
});

describe("gateway response templates: simple substitution, as AWS renders them", () => {
  const quoted = errorContext(
    { message: 'say "hi"', responseType: "BAD_REQUEST_BODY", validationErrors: ['object has missing required properties (["items"])', 'string "" is too short'] },
    { requestId: "r1" },
  );

  it("substitutes $context variables as they are: messageString quoted, validationErrorString raw", () => {
    expect(renderGatewayTemplate('{"message":$context.error.messageString,"id":"$context.requestId","type":"$context.error.responseType"}', quoted)).toBe(
      '{"message":"say \\"hi\\"","id":"r1","type":"BAD_REQUEST_BODY"}',
    );
    expect(renderGatewayTemplate("$context.error.validationErrorString", quoted)).toBe('[object has missing required properties (["items"]), string "" is too short]');
    expect(renderGatewayTemplate('{"id":"$context.requestId.","stage":"$stageVariables.name","x":"$context.unknown"}', quoted, { name: "dev" })).toBe('{"id":"r1.","stage":"dev","x":"$context.unknown"}');
  });

  it("emits $util.escapeJavaScript( and other VTL literally, as AWS would: the old template was invalid JSON", () => {
    const old = '{"message":"Invalid order","errors":"$util.escapeJavaScript($context.error.validationErrorString)"}';
    const rendered = renderGatewayTemplate(old, quoted);
    expect(rendered).toBe('{"message":"Invalid order","errors":"$util.escapeJavaScript([object has missing required properties (["items"]), string "" is too short])"}');
    expect(() => JSON.parse(rendered)).toThrow();
    expect(renderGatewayTemplate('#if($context.requestId)$util.escapeJavaScript($context.error.message)#end', quoted)).toBe('#if(r1)$util.escapeJavaScript(say "hi")#end');
  });

  it("every gateway response the program declares renders to valid JSON, even for a validation message with quotes", async () => {
    const run = await runProgram({ stack: "dev", config: { accountFingerprintKey: "x".repeat(40) } });
    const responses = run.resources.filter((r) => r.type === "aws:apigateway/response:Response");
    expect(responses.map((r) => r.inputs.responseType).sort()).toEqual(["BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS", "DEFAULT_4XX", "DEFAULT_5XX"]);
    for (const response of responses) {
      const type = String(response.inputs.responseType);
      for (const [contentType, template] of Object.entries(response.inputs.responseTemplates as Record<string, string>)) {
        const rendered = renderGatewayTemplate(template, { ...quoted, "error.responseType": type });
        expect(() => JSON.parse(rendered), `${type} ${contentType}: ${rendered}`).not.toThrow();
        expect(JSON.parse(rendered)).toMatchObject({ message: expect.any(String), requestId: "r1" });
      }
    }
  });
});

describe("MOCK integrations and gateway response headers (what CORS is declared with)", () => {
  const ORIGINS = ["https://a.example", "https://b.example"];

  /** A preflight on /order as the program declares it: OPTIONS, MOCK, 200 method and integration responses. */
  async function withPreflight(integrationResponses = true) {
    const base = await api();
    const rest = registry!.api("abc123");
    const key = methodKey("order", "OPTIONS");
    rest.methods.set(key, { resourceId: "order", httpMethod: "OPTIONS", apiKeyRequired: false, authorization: "NONE", requestModels: {}, requestParameters: {} });
    rest.integrations.set(key, { resourceId: "order", httpMethod: "OPTIONS", type: "MOCK", timeoutMilliseconds: 29_000, requestTemplates: { "application/json": '{"statusCode": 200}' } });
    rest.methodResponses.set(`${key} 200`, { statusCode: "200", headers: { Vary: false, "Access-Control-Allow-Origin": false } });
    if (integrationResponses) {
      rest.integrationResponses.set(key, [{ statusCode: "200", responseParameters: { "method.response.header.Vary": "'Origin'" }, responseTemplates: { "application/json": preflightTemplate(ORIGINS, ["POST"]) } }]);
    }
    return base;
  }
  const preflight = (base: string, origin: string) => send(`${base}/order`, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });

  it("answers a preflight from the declared responses: static Vary, and the template's overrides only for an allowed origin; no key, no function", async () => {
    const base = await withPreflight();
    const allowed = await preflight(base, "https://b.example");
    expect(allowed.status).toBe(200);
    expect(Object.fromEntries([...allowed.headers].filter(([k]) => k.startsWith("access-control-") || k === "vary"))).toEqual({
      vary: "Origin",
      "access-control-allow-origin": "https://b.example",
      "access-control-allow-methods": "OPTIONS,POST",
      "access-control-allow-headers": "content-type,x-api-key,idempotency-key,traceparent,tracestate",
      "access-control-max-age": "600",
    });
    const other = await preflight(base, "https://c.example");
    expect(other.status).toBe(200);
    expect([...other.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    expect(other.headers.get("vary")).toBe("Origin");
    expect(invocations).toHaveLength(0);
  });

  it("answers 500 for a MOCK with no integration response for its status, and logs the configuration error", async () => {
    const base = await withPreflight(false);
    const response = await preflight(base, "https://a.example");
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ message: "Internal server error" });
    expect(logs.join("\n")).toContain("Execution failed due to configuration error: no integration response matches status 200 and there is no default one");
  });

  it("adds the gateway responses' header mappings to a 502, a 429 and a 403: a copy of the request's Origin, static Vary and exposed headers", async () => {
    const base = await api({ rateLimit: 0.01, burstLimit: 1, result: { body: "no status" } });
    const rest = registry!.api("abc123");
    const headers = Object.fromEntries(Object.entries(gatewayResponseCorsParameters(ORIGINS)).map(([k, v]) => [k.slice("gatewayresponse.header.".length), v]));
    for (const type of ["DEFAULT_4XX", "DEFAULT_5XX"]) rest.gatewayResponses.set(type, { templates: { "application/json": GATEWAY_RESPONSE_TEMPLATES[type as "DEFAULT_4XX"] }, headers });
    const origin = { Origin: "https://a.example" };
    const answers = [
      await send(`${base}/order/1`, { headers: { ...withKey(), ...origin } }), // malformed function result: 502
      await send(`${base}/order/1`, { headers: { ...withKey(), ...origin } }), // burst spent: 429
      await send(`${base}/order/1`, { headers: { ...withKey("wrong"), ...origin } }), // 403
    ];
    expect(answers.map((a) => a.status)).toEqual([502, 429, 403]);
    for (const answer of answers) {
      expect([answer.headers.get("access-control-allow-origin"), answer.headers.get("vary"), answer.headers.get("access-control-expose-headers")], String(answer.status)).toEqual([
        "https://a.example",
        "Origin",
        "x-request-id,x-amzn-requestid,idempotent-replayed",
      ]);
    }
    // Copied, not compared: AWS cannot do better in a gateway response (README, "CORS"); no Origin, no header.
    expect((await send(`${base}/order/1`, { headers: { ...withKey("wrong"), Origin: "https://c.example" } })).headers.get("access-control-allow-origin")).toBe("https://c.example");
    expect((await send(`${base}/order/1`, { headers: withKey("wrong") })).headers.get("access-control-allow-origin")).toBeNull();
  });
});
