/**
 * Every function the program deploys is observable: the OTEL collector layer, active tracing, the
 * OTEL environment the tracer reads, and the metrics namespace from config (the seed's by default).
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../runner/run-program";

const secret = { accountFingerprintKey: "x".repeat(40) };
/** The program's 7 functions: 2 transaction consumers and 5 of the orders unit (API, 2 Tasks, fulfillment, DLQ). */
const FUNCTIONS = (stack: string) =>
  [
    `utility-customer-system-${stack}-bank-account-setup`,
    `utility-customer-system-${stack}-payment-processing`,
    `dofs-${stack}-orders-api`,
    `dofs-${stack}-orders-validate`,
    `dofs-${stack}-orders-store`,
    `dofs-${stack}-orders-fulfillment`,
    `dofs-${stack}-orders-dlq`,
  ].sort();

describe("functions of the program", () => {
  for (const stack of ["dev", "staging"]) {
    it(`${stack}: every function has the OTEL layer, Active tracing, the OTEL env and the seed's namespace`, async () => {
      const run = await runProgram({ stack, config: secret });
      const functions = run.resources.filter((r) => r.type === "aws:lambda/function:Function");
      expect(functions.map((f) => f.inputs.name as string).sort()).toEqual(FUNCTIONS(stack));
      for (const fn of functions) {
        const inputs = fn.inputs as {
          name: string;
          layers?: string[];
          tracingConfig?: { mode: string };
          environment?: { variables?: Record<string, string> };
        };
        expect(inputs.layers, inputs.name).toContain(run.settings.otelLayerArn);
        expect(inputs.tracingConfig, inputs.name).toEqual({ mode: "Active" });
        expect(inputs.environment?.variables, inputs.name).toMatchObject({
          OTEL_SERVICE_NAME: inputs.name,
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318",
          OTEL_PROPAGATORS: "tracecontext",
          POWERTOOLS_METRICS_NAMESPACE: run.settings.metricsNamespace,
        });
        expect(inputs.environment?.variables?.POWERTOOLS_SERVICE_NAME, inputs.name).toBeTruthy();
      }
      expect(run.settings.metricsNamespace).toBe("OTEL/UtilityCustomer/Enhanced");
    });
  }

  it("takes the metrics namespace from config", async () => {
    const run = await runProgram({ stack: "dev", config: { ...secret, metricsNamespace: "Custom/Ns" } });
    const functions = run.resources.filter((r) => r.type === "aws:lambda/function:Function");
    expect(functions.map((f) => f.inputs.name as string).sort()).toEqual(FUNCTIONS("dev"));
    for (const fn of functions) {
      expect((fn.inputs as { environment: { variables: Record<string, string> } }).environment.variables.POWERTOOLS_METRICS_NAMESPACE).toBe("Custom/Ns");
    }
  });
});
