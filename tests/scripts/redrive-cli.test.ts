/**
 * `npm run redrive`'s command line and its pieces: usage and exit 2 for bad input (like
 * `npm run tx`), which queue a name means, the report's wording, and one clear line (exit 1) when
 * the local cloud is not running. The redrive itself runs against a local cloud in
 * tests/integration/transactions.test.ts (dead-lettered payments applied once after it) and the
 * move task's semantics in tests/local/emulators/sqs-move-tasks.test.ts.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackOutputsFile } from "../../local/outputs";
import { parseRedriveArgs } from "../../scripts/redrive";
import { failureOf, formatReport } from "../../scripts/redrive/inspect";
import type { DeadLetterReport } from "../../scripts/redrive/inspect";
import { HelpRequested, UsageError, resolveTarget } from "../../scripts/redrive/targets";
import { notRunningMessage } from "../../scripts/tx";

const ROOT = path.resolve(__dirname, "../..");
const q = (base: string, name: string) => `${base}/000000000000/${name}`;

function outputsAt(url: string): StackOutputsFile {
  return {
    region: "us-east-2",
    awsEndpoints: { sns: url, sqs: url, dynamodb: url, stepfunctions: url },
    transactionTopicArn: "arn:aws:sns:us-east-2:000000000000:utility-customer-system-dev-transaction-processing.fifo",
    transactionQueueUrls: { payment: q(url, "utility-customer-system-dev-payment-processing.fifo"), bank_account_setup: q(url, "utility-customer-system-dev-bank-account-setup.fifo") },
    transactionDlqUrls: { payment: q(url, "utility-customer-system-dev-payment-processing-dlq.fifo"), bank_account_setup: q(url, "utility-customer-system-dev-bank-account-setup-dlq.fifo") },
    transactionSubscriptionDlqUrls: {
      payment: q(url, "utility-customer-system-dev-payment-processing-subscription-dlq.fifo"),
      bank_account_setup: q(url, "utility-customer-system-dev-bank-account-setup-subscription-dlq.fifo"),
    },
    bankAccountsTable: "b",
    paymentsTable: "p",
    apiUrl: `${url}/dev`,
    apiKey: "k",
    ordersTable: "o",
    failedOrdersTable: "fo",
    stateMachineArn: "arn:aws:states:us-east-2:000000000000:stateMachine:w",
    fulfillmentQueueUrl: q(url, "dofs-dev-fulfillment"),
    fulfillmentDlqUrl: q(url, "dofs-dev-fulfillment-dlq"),
    dashboardUrl: "https://us-east-2.console.aws.amazon.com/cloudwatch/home?region=us-east-2#dashboards:name=d",
    alarmTopicArn: "arn:aws:sns:us-east-2:000000000000:alarms",
  };
}

describe("parseRedriveArgs", () => {
  it("takes the queue, the stack or outputs, the velocity and --dry-run", () => {
    expect(parseRedriveArgs(["payment"])).toEqual({ queue: "payment", stack: "dev", outputs: undefined, maxPerSecond: undefined, dryRun: false });
    expect(parseRedriveArgs(["payment-subscription", "--outputs", "o.json", "--max-per-second", "5", "--dry-run"])).toEqual({
      queue: "payment-subscription",
      stack: "dev",
      outputs: "o.json",
      maxPerSecond: 5,
      dryRun: true,
    });
  });

  it("refuses bad input, each mistake in one line", () => {
    expect(() => parseRedriveArgs([])).toThrow(new UsageError("a queue or dead-letter queue is required (e.g. payment, payment-subscription, fulfillment)"));
    expect(() => parseRedriveArgs(["payment", "--bogus"])).toThrow(new UsageError("unknown option --bogus"));
    expect(() => parseRedriveArgs(["payment", "--max-per-second"])).toThrow(new UsageError("--max-per-second needs a value"));
    expect(() => parseRedriveArgs(["payment", "--dry-run=yes"])).toThrow(new UsageError("--dry-run takes no value"));
    expect(() => parseRedriveArgs(["payment", "refund"])).toThrow(new UsageError('unexpected argument "refund"'));
    for (const bad of ["0", "501", "2.5", "fast"]) {
      expect(() => parseRedriveArgs(["payment", "--max-per-second", bad])).toThrow(new UsageError(`--max-per-second must be a whole number from 1 to 500 (SQS's limit), got "${bad}"`));
    }
    expect(() => parseRedriveArgs(["payment", "--stack", "dev", "--outputs", "o.json"])).toThrow(/--stack and --outputs exclude each other/);
    expect(() => parseRedriveArgs(["-h"])).toThrow(HelpRequested);
  });
});

describe("resolveTarget", () => {
  const outputs = outputsAt("http://127.0.0.1:1");
  it("knows each DLQ by its label, its name, or its source queue's name, and how it is moved", () => {
    const payment = { label: "payment", dlqUrl: outputs.transactionDlqUrls.payment, destinationUrl: outputs.transactionQueueUrls.payment, via: "move-task" };
    expect(resolveTarget(outputs, "payment")).toEqual(payment);
    expect(resolveTarget(outputs, "utility-customer-system-dev-payment-processing-dlq.fifo")).toEqual(payment);
    expect(resolveTarget(outputs, "utility-customer-system-dev-payment-processing.fifo")).toEqual(payment);
    expect(resolveTarget(outputs, "bank-account-setup").label).toBe("bank_account_setup");
    // SQS's move task does not take an SNS subscription's DLQ: it is moved message by message.
    expect(resolveTarget(outputs, "payment-subscription")).toEqual({
      label: "payment-subscription",
      dlqUrl: outputs.transactionSubscriptionDlqUrls.payment,
      destinationUrl: outputs.transactionQueueUrls.payment,
      via: "client-move",
    });
    expect(resolveTarget(outputs, "dofs-dev-fulfillment-dlq")).toMatchObject({ label: "fulfillment", destinationUrl: outputs.fulfillmentQueueUrl, via: "move-task" });
  });
  it("names the known ones for an unknown name", () => {
    expect(() => resolveTarget(outputs, "refunds")).toThrow(
      new UsageError('no dead-letter queue "refunds" in the stack\'s outputs (known: payment, bank_account_setup, payment-subscription, bank_account_setup-subscription, fulfillment, or a queue\'s name such as utility-customer-system-dev-payment-processing-dlq.fifo)'),
    );
  });
});

describe("the report", () => {
  const outputs = outputsAt("http://127.0.0.1:1");
  it("says why each message is there: the runtime's failure attributes, SQS's own move, or SNS's failed delivery", () => {
    const sqsDlq = resolveTarget(outputs, "payment");
    expect(failureOf(sqsDlq, { failure_kind: "exhausted", failure_reason: "customer C has no active bank account yet" })).toBe("exhausted — customer C has no active bank account yet");
    expect(failureOf(sqsDlq, {})).toMatch(/^moved by SQS after maxReceiveCount receives — the function crashed or timed out/);
    expect(failureOf(resolveTarget(outputs, "payment-subscription"), {})).toMatch(/^delivery — SNS could not deliver it to the queue/);
  });
  it("prints the count, what it looked at, the oldest, and the tallies", () => {
    const report: DeadLetterReport = {
      target: resolveTarget(outputs, "payment"),
      count: 3,
      inspected: 2,
      oldest: { sentAt: new Date("2026-01-01T10:00:00Z"), messageId: "m1", key: "customer C" },
      byFailure: [{ value: "exhausted — customer C has no active bank account yet", count: 2 }],
      byKey: [{ value: "customer C", count: 1 }, { value: "customer D", count: 1 }],
      messages: [],
    };
    expect(formatReport(report, new Date("2026-01-01T13:00:00Z"))).toBe(
      [
        "utility-customer-system-dev-payment-processing-dlq.fifo: 3 messages (dead-letter queue of utility-customer-system-dev-payment-processing.fifo)",
        "  looked at 2 (a FIFO queue shows the first messages of each group: the rest wait behind them)",
        "  oldest: 2026-01-01T10:00:00.000Z (3 h ago), customer C",
        "  by failure:",
        "       2  exhausted — customer C has no active bank account yet",
        "  by customer or order:",
        "       1  customer C",
        "       1  customer D",
      ].join("\n"),
    );
  });
});

describe("npm run redrive (process)", () => {
  let dir: string;
  let closedPort: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "redrive-cli-"));
    closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    fs.mkdirSync(path.join(dir, "staging"), { recursive: true });
    fs.writeFileSync(path.join(dir, "staging", "outputs.json"), JSON.stringify(outputsAt(`http://127.0.0.1:${closedPort}`)));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const redrive = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("npx", ["tsx", "scripts/redrive.ts", ...args], { cwd: ROOT, env: { ...process.env, LOCAL_CLOUD_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.once("exit", (code) => resolve({ code, stdout, stderr: stderr.replace(/^npm warn .*\n/gm, "") }));
    });

  it("prints usage, refuses bad input with exit 2, and says when the local cloud is not running", async () => {
    const [none, help, rate, unknownQueue, stopped, missing, unknownStack] = await Promise.all([
      redrive(),
      redrive("--help"),
      redrive("payment", "--max-per-second", "1000"),
      redrive("refunds", "--stack", "staging"),
      redrive("payment", "--stack", "staging"),
      redrive("payment", "--stack", "dev"),
      redrive("payment", "--stack", "nope"),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^a queue or dead-letter queue is required .*\nusage:\n {2}npm run redrive -- <queue or DLQ>/);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage:\n {2}npm run redrive -- <queue or DLQ>/);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/^--max-per-second must be a whole number from 1 to 500 \(SQS's limit\), got "1000"\nusage:/);
    expect(unknownQueue.code).toBe(2);
    expect(unknownQueue.stderr).toMatch(/^no dead-letter queue "refunds" in the stack's outputs \(known: payment, /);
    expect(stopped).toMatchObject({ code: 1, stdout: "", stderr: `${notRunningMessage(`http://127.0.0.1:${closedPort}`, "staging")}\n` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("The local cloud for stack dev is not running (no ");
    expect(unknownStack).toMatchObject({ code: 2, stderr: 'No stack "nope": Pulumi.nope.yaml does not exist (stacks: dev, staging)\n' });
  }, 60_000);
});
