/**
 * CORS on the order API as the program declares it, for each form of `corsAllowOrigins` (dev: two
 * origins, staging: one, `["*"]`, none), the preflight template as API Gateway's VTL would run it
 * (rendered by the local cloud's renderer), the setting's validation, and the function's headers.
 */
import { describe, expect, it } from "vitest";
import { parseStackSettings } from "../../../components/lib/settings";
import { CORS_ALLOW_HEADERS, preflightTemplate } from "../../../components/orders/cors";
import { corsResponseHeaders } from "../../../functions/lib/cors";
import { renderMappingTemplate } from "../../../local/services/api-gateway/mapping-templates";
import type { ProgramRun } from "../../../runner/run-program";
import { runProgram } from "../../../runner/run-program";

const SECRET = { accountFingerprintKey: "x".repeat(40) };
const EXPOSE = "'x-request-id,x-amzn-requestid,idempotent-replayed'";
const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type && r.name.startsWith("orders-"));
const gatewayParameters = (run: ProgramRun) => ofType(run, "aws:apigateway/response:Response").map((r) => [r.inputs.responseType, r.inputs.responseParameters]);

describe("the program's CORS resources", () => {
  it("dev (two origins): a MOCK preflight on both resources, open to browsers; gateway responses copy the caller's Origin", async () => {
    const run = await runProgram({ stack: "dev", config: SECRET });
    const preflights = ofType(run, "aws:apigateway/method:Method").filter((m) => m.inputs.httpMethod === "OPTIONS");
    expect(preflights.map((m) => m.name).sort()).toEqual(["orders-order-id-options", "orders-order-options"]);
    for (const m of preflights) expect(m.inputs).toMatchObject({ authorization: "NONE", apiKeyRequired: false });
    const resources = Object.fromEntries(ofType(run, "aws:apigateway/resource:Resource").map((r) => [r.name, r.id]));
    expect(preflights.map((m) => m.inputs.resourceId).sort()).toEqual([resources["orders-order-id-resource"], resources["orders-order-resource"]].sort());
    const integrations = ofType(run, "aws:apigateway/integration:Integration").filter((i) => i.inputs.httpMethod === "OPTIONS");
    for (const i of integrations) expect(i.inputs).toMatchObject({ type: "MOCK", requestTemplates: { "application/json": '{"statusCode": 200}' } });
    const responses = ofType(run, "aws:apigateway/integrationResponse:IntegrationResponse");
    expect(responses.map((r) => r.name).sort()).toEqual(["orders-order-id-options-integration-200", "orders-order-options-integration-200"]);
    for (const r of responses) {
      expect(r.inputs.responseParameters).toEqual({ "method.response.header.Vary": "'Origin'" });
      expect((r.inputs.responseTemplates as Record<string, string>)["application/json"]).toContain('$origin == "http://localhost:8080" || $origin == "http://127.0.0.1:8080"');
    }
    expect(ofType(run, "aws:apigateway/methodResponse:MethodResponse").map((r) => Object.keys(r.inputs.responseParameters as object).sort())[0]).toEqual(
      ["Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Max-Age", "Vary"].map((h) => `method.response.header.${h}`),
    );
    for (const [type, parameters] of gatewayParameters(run)) {
      expect(parameters, String(type)).toEqual({
        "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
        "gatewayresponse.header.Vary": "'Origin'",
        "gatewayresponse.header.Access-Control-Expose-Headers": EXPOSE,
      });
    }
    const fn = run.resources.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "dofs-dev-orders-api")!;
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(JSON.parse(env.FUNCTION_SETTINGS!)).toEqual({ corsAllowOrigins: ["http://localhost:8080", "http://127.0.0.1:8080"] });
    // The deployment waits for the preflights (a deployment is a snapshot of what exists).
    const deployment = ofType(run, "aws:apigateway/deployment:Deployment")[0]!;
    expect(deployment.inputs.triggers).toMatchObject({ redeployment: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("staging (one origin): gateway responses name it statically", async () => {
    const run = await runProgram({ stack: "staging", config: SECRET });
    for (const [type, parameters] of gatewayParameters(run)) {
      expect(parameters, String(type)).toMatchObject({ "gatewayresponse.header.Access-Control-Allow-Origin": "'http://localhost:8080'", "gatewayresponse.header.Vary": "'Origin'" });
    }
  });

  it('["*"]: static preflight headers, no Vary, no template', async () => {
    const run = await runProgram({ stack: "dev", config: { ...SECRET, corsAllowOrigins: '["*"]' } });
    const response = ofType(run, "aws:apigateway/integrationResponse:IntegrationResponse").find((r) => r.name === "orders-order-options-integration-200")!;
    expect(response.inputs.responseParameters).toEqual({
      "method.response.header.Access-Control-Allow-Origin": "'*'",
      "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,POST'",
      "method.response.header.Access-Control-Allow-Headers": `'${CORS_ALLOW_HEADERS.join(",")}'`,
      "method.response.header.Access-Control-Max-Age": "'600'",
    });
    expect(response.inputs.responseTemplates).toEqual({ "application/json": "" });
    for (const [, parameters] of gatewayParameters(run)) expect(parameters).toEqual({ "gatewayresponse.header.Access-Control-Allow-Origin": "'*'", "gatewayresponse.header.Access-Control-Expose-Headers": EXPOSE });
  });

  it("none: no preflight, and the gateway responses as they were before CORS", async () => {
    const run = await runProgram({ stack: "dev", config: { ...SECRET, corsAllowOrigins: "[]" } });
    expect(ofType(run, "aws:apigateway/method:Method").map((m) => m.inputs.httpMethod).sort()).toEqual(["GET", "POST"]);
    expect(ofType(run, "aws:apigateway/integrationResponse:IntegrationResponse")).toEqual([]);
    for (const [, parameters] of gatewayParameters(run)) expect(parameters).toBeUndefined();
  });
});

describe("the preflight template, as the VTL engine runs it", () => {
  const template = preflightTemplate(["https://shop.example.com", "http://localhost:8080"], ["GET"]);
  const render = (header: Record<string, string>) => renderMappingTemplate(template, { path: {}, querystring: {}, header, body: "", context: {}, stageVariables: {} });

  it("sets every CORS header for an allowed origin, whichever case the header name has", () => {
    for (const header of [{ Origin: "http://localhost:8080" }, { origin: "http://localhost:8080" }] as Record<string, string>[]) {
      expect(render(header).headerOverrides).toEqual({
        "Access-Control-Allow-Origin": "http://localhost:8080",
        "Access-Control-Allow-Methods": "GET,OPTIONS",
        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS.join(","),
        "Access-Control-Max-Age": "600",
      });
    }
  });

  it("sets nothing for another origin, a near miss or no origin", () => {
    for (const header of [{ Origin: "https://evil.example" }, { Origin: "https://shop.example.com.evil.example" }, { Origin: "http://localhost:8080/" }, {}] as Record<string, string>[]) {
      expect(render(header).headerOverrides, JSON.stringify(header)).toEqual({});
    }
    expect(render({}).output.trim()).toBe("");
    // A header named like a Map method cannot hide the method the template calls.
    expect(render({ get: "x", size: "1", Origin: "https://shop.example.com" }).headerOverrides["Access-Control-Allow-Origin"]).toBe("https://shop.example.com");
  });
});

describe("corsAllowOrigins validation", () => {
  const parse = (value: string) => () => parseStackSettings({ ...SECRET, corsAllowOrigins: value }, "dev", "us-east-2");

  it("accepts origins as browsers send them, [\"*\"] and none", () => {
    expect(parse('["https://shop.example.com","http://127.0.0.1:8080","http://[::1]:3000"]')().corsAllowOrigins).toHaveLength(3);
    expect(parse('["*"]')().corsAllowOrigins).toEqual(["*"]);
    expect(parseStackSettings(SECRET, "dev", "us-east-2").corsAllowOrigins).toEqual([]);
  });

  it("refuses anything else, saying what to write", () => {
    expect(parse('["https://shop.example.com/"]')).toThrow('corsAllowOrigins.0 is ["https://shop.example.com/"]: "https://shop.example.com/" is not an origin: write scheme://host[:port]');
    expect(parse('["https://shop.example.com:443"]')).toThrow('"https://shop.example.com:443" is not how a browser sends this origin: write https://shop.example.com');
    expect(parse('["Https://Shop.example.com"]')).toThrow("is not an origin");
    expect(parse('["ftp://files.example.com"]')).toThrow("is not an origin");
    expect(parse('["shop.example.com"]')).toThrow("is not an origin");
    expect(parse('["https://a.example","https://a.example"]')).toThrow("must not repeat an origin");
    expect(parse('["*","https://a.example"]')).toThrow('must be ["*"] alone');
  });
});

describe("the function's CORS headers", () => {
  const list = ["https://shop.example.com", "http://localhost:8080"];

  it("echo an allowed origin, with Vary and the exposed headers", () => {
    expect(corsResponseHeaders("http://localhost:8080", list)).toEqual({
      vary: "Origin",
      "access-control-allow-origin": "http://localhost:8080",
      "access-control-expose-headers": "x-request-id,x-amzn-requestid,idempotent-replayed",
    });
  });

  it("give another origin, or none, only Vary; any origin *; no list nothing", () => {
    expect(corsResponseHeaders("https://evil.example", list)).toEqual({ vary: "Origin" });
    expect(corsResponseHeaders(undefined, list)).toEqual({ vary: "Origin" });
    expect(corsResponseHeaders("https://evil.example", ["*"])).toEqual({ "access-control-allow-origin": "*", "access-control-expose-headers": "x-request-id,x-amzn-requestid,idempotent-replayed" });
    expect(corsResponseHeaders("https://shop.example.com", [])).toEqual({});
  });
});
