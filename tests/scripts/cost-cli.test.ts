/**
 * `npm run cost`: its arguments are validated (a clear message and exit 2, nothing run), the
 * workflow's transitions are counted from the real state machine definition, and the model's
 * arithmetic holds (a line's cost is its quantity at its price; EXPRESS replaces transitions; full
 * batches divide the per-batch requests). The program run itself is left to `npm run cost`.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { orderWorkflowDefinition } from "../../components/orders/workflow-definition";
import { parseCostArgs } from "../../scripts/cost";
import { transitionsOnPath } from "../../scripts/cost/deployed";
import { DEFAULT_ASSUMPTIONS, lineCost, orderLines, perMillion, transactionLines } from "../../scripts/cost/model";
import type { Deployed, PriceTable } from "../../scripts/cost/model";
import prices from "../../scripts/cost/prices/us-east-1.json";

const ROOT = path.resolve(__dirname, "../..");
const table = prices as unknown as PriceTable;

const deployed: Deployed = {
  workflowType: "STANDARD",
  transitionsAccepted: 6,
  transitionsRejected: 5,
  batchSize: 10,
  maxReceiveCount: 5,
  fulfillmentSuccessRate: 0.7,
  memoryMb: 256,
  kmsKeys: 4,
  kmsEncryptedInUse: 10,
  kmsReuseSeconds: 300,
  polledFifoQueues: 2,
  polledStandardQueues: 2,
  alarms: 35,
  dashboards: 1,
};
const measured = { warmMs: {}, initMs: {} };

describe("npm run cost arguments", () => {
  it("takes the defaults, the flags it knows, and refuses anything else naming it", () => {
    const args = parseCostArgs(["--memory-mb", "512", "--workflow", "EXPRESS", "--batch-fill", "10"]);
    expect(args).toMatchObject({ stack: "dev", memoryMb: 512, workflow: "EXPRESS", assumptions: { batchFill: 10, coldStartRate: 0.01 } });
    expect(parseCostArgs(["-h"])).toBe("help");
    expect(() => parseCostArgs(["--memory-mb", "64"])).toThrow('--memory-mb must be an integer from 128 to 10240, got "64"');
    expect(() => parseCostArgs(["--memory-mb", "256.5"])).toThrow("--memory-mb must be an integer");
    expect(() => parseCostArgs(["--batch-fill", "eleven"])).toThrow('--batch-fill must be a number from 1 to 10, got "eleven"');
    expect(() => parseCostArgs(["--cold-start-rate", "1.5"])).toThrow("--cold-start-rate must be a number from 0 to 1");
    expect(() => parseCostArgs(["--workflow", "express"])).toThrow('--workflow must be STANDARD or EXPRESS, got "express"');
    expect(() => parseCostArgs(["--bench", "/nonexistent/bench.json"])).toThrow("no such file: /nonexistent/bench.json");
    expect(() => parseCostArgs(["--memory"])).toThrow(/Unknown option '--memory'/);
    expect(() => parseCostArgs(["staging"])).toThrow('unexpected argument "staging"');
  });

  it("as a process: a bad value exits 2 with the message and the usage, having run nothing", () => {
    const run = spawnSync("npx", ["tsx", "scripts/cost.ts", "--kms-reuse-seconds", "30"], { cwd: ROOT, encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain('--kms-reuse-seconds must be an integer from 60 to 86400, got "30"\nusage: npm run cost');
  });
});

describe("the cost model", () => {
  it("counts the order workflow's transitions from its definition: 6 accepted, 5 rejected", () => {
    const definition = orderWorkflowDefinition({
      validateFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:validate",
      storeFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:store",
      fulfillmentQueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/fulfillment",
    }) as unknown as Parameters<typeof transitionsOnPath>[0];
    expect(transitionsOnPath(definition, () => 0)).toBe(6);
    expect(transitionsOnPath(definition, (state) => (state === "CheckVerdict" ? -1 : 0))).toBe(5);
  });

  it("prices each line at its table price: one FIFO publish per transaction is $0.30 per million", () => {
    const publish = transactionLines(deployed, measured, DEFAULT_ASSUMPTIONS).find((l) => l.what === "FIFO publish")!;
    expect(publish.quantity).toBe(1);
    expect(lineCost(publish, table) * 1e6).toBeCloseTo(0.3, 10);
  });

  it("EXPRESS replaces STANDARD's transitions and costs less per order; full batches cost less per transaction", () => {
    const standard = orderLines(deployed, measured, DEFAULT_ASSUMPTIONS);
    const express = orderLines({ ...deployed, workflowType: "EXPRESS" }, measured, DEFAULT_ASSUMPTIONS);
    expect(standard.find((l) => l.price === "stepFunctionsStandardTransition")?.quantity).toBe(6);
    expect(express.some((l) => l.price === "stepFunctionsStandardTransition")).toBe(false);
    expect(perMillion(express, table)).toBeLessThan(perMillion(standard, table));
    const quiet = transactionLines(deployed, measured, DEFAULT_ASSUMPTIONS);
    const full = transactionLines(deployed, measured, { ...DEFAULT_ASSUMPTIONS, batchFill: 10 });
    expect(full.find((l) => l.service === "SQS")!.quantity).toBeCloseTo(1 + 2 / 10, 10);
    expect(perMillion(full, table)).toBeLessThan(perMillion(quiet, table));
  });

  it("every price of the table is dated and sourced", () => {
    expect(table.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [name, price] of Object.entries(table.prices)) {
      expect(price.usd, name).toBeGreaterThan(0);
      expect(price.source, name).toMatch(/https?:\/\//);
    }
  });
});
