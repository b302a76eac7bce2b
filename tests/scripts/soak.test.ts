/**
 * A small soak in `npm test` (issue 16): a few hundred transactions and orders through a local
 * cloud with faults on every kind of target, and every invariant of `npm run soak` must hold, so a
 * regression that loses or doubles anything fails CI. The full volume is `npm run soak` (README).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import { UsageError, parseSoakArgs } from "../../scripts/soak";
import { formatReport, runSoak } from "../../scripts/soak/run";
import { planWorkload } from "../../scripts/soak/workload";

/**
 * Faults on more than 10% of invocations and of DynamoDB calls, as in the full soak, but with more
 * 5xx than throttling: the SDK backs off a throttle from 500 ms and a 5xx from 100 ms, and a short
 * function timeout (so crashed batches come back soon) needs the shorter waits.
 */
const SMALL_SOAK_FAULTS = "functions=crash:0.03,timeout:0.02,throw:0.03,throttle:0.03;dynamodb=throttle:0.03,error:0.07;sqs=error:0.02;stepfunctions=error:0.02";

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({
    stack: "dev",
    // Visibility timeout 6 × 5 s: a batch whose invocation crashed comes back after 30 s.
    config: { accountFingerprintKey: randomBytes(32).toString("hex"), functionTimeoutSeconds: "5" },
    outputsFile: false,
    traces: false,
    log: () => undefined,
  });
}, 120_000);
afterAll(async () => {
  await cloud?.stop();
});

describe("soak", () => {
  it("loses nothing and doubles nothing under faults: 300 transactions over 40 customers, 120 orders", async () => {
    const lines: string[] = [];
    const report = await runSoak(cloud.outputs, {
      transactions: 300,
      customers: 40,
      orders: 120,
      clients: 8,
      faults: SMALL_SOAK_FAULTS,
      seed: 20261202,
      settleTimeoutMs: 240_000,
      successRate: 0.7,
      log: (line) => lines.push(line),
    });
    const failed = report.checks.filter((c) => !c.ok);
    if (failed.length) console.log(`${lines.join("\n")}\n${formatReport(report)}`);
    expect(failed).toEqual([]);
    expect(report.checks.find((c) => c.name.startsWith("payments lost"))).toMatchObject({ actual: "0", ok: true });
    // Faults really fired, on functions and on DynamoDB.
    expect(report.figures["faults injected"]).toMatch(/function crash \d+/);
    expect(report.figures["faults injected"]).toMatch(/dynamodb error \d+/);
    // IAM was enforced throughout (the default), and the real grants refused nothing.
    expect(cloud.iam.enabled).toBe(true);
    expect(cloud.iam.usage.deniedCalls()).toEqual([]);
  }, 420_000);
});

describe("soak plan and arguments", () => {
  it("plans the same workload for the same seed: every customer's setup first, except the payment-first ones", () => {
    const a = planWorkload({ transactions: 200, customers: 20, orders: 30, seed: 5 }, "run1");
    const b = planWorkload({ transactions: 200, customers: 20, orders: 30, seed: 5 }, "run1");
    const shape = (w: typeof a) => w.lanes.map((lane) => lane.map((m) => `${m.MessageGroupId}:${m.MessageAttributes.transaction_type?.StringValue}`));
    expect(shape(a)).toEqual(shape(b));
    expect(a.payments.length).toBe(180);
    expect(a.malformed.length).toBe(4);
    expect(a.orders.length).toBe(30);
    for (const customer of a.customers) {
      const own = a.lanes.flat().filter((m) => m.MessageGroupId === customer && !m.Message.includes("not JSON") && !m.Message.includes("ten dollars"));
      const setupAt = own.findIndex((m) => m.MessageAttributes.transaction_type?.StringValue === "bank_account_setup");
      expect(setupAt).toBeLessThanOrEqual(1);
    }
    expect(a.customers.filter((c) => a.lanes.flat().find((m) => m.MessageGroupId === c && !m.Message.includes("not JSON") && !m.Message.includes("ten dollars"))?.MessageAttributes.transaction_type?.StringValue === "payment").length).toBe(a.paymentFirst);
  });

  it("refuses bad arguments with a clear message", () => {
    expect(() => parseSoakArgs(["--transactions", "ten"])).toThrow(new UsageError('--transactions must be an integer of at least 1, got "ten"'));
    expect(() => parseSoakArgs(["--customers", "50", "--transactions", "10"])).toThrow(new UsageError("--customers (50) cannot exceed --transactions (10): each customer's setup is a transaction"));
    expect(() => parseSoakArgs(["--stack", "dev", "--outputs", "o.json"])).toThrow(new UsageError("give --stack or --outputs, not both"));
    expect(() => parseSoakArgs(["--success-rate", "1.5", "--outputs", "o.json"])).toThrow(new UsageError('--success-rate must be a number from 0 to 1, got "1.5"'));
    expect(() => parseSoakArgs(["extra"])).toThrow(new UsageError('unexpected argument "extra"'));
    expect(parseSoakArgs(["--faults", "none", "--seed", "3"]).options).toMatchObject({ faults: false, seed: 3, transactions: 10_000, customers: 1000, orders: 5000, clients: 16, successRate: 0.7 });
  });
});
