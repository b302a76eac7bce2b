/**
 * `npm run tx`'s command line: a missing transaction type lists the types, --help prints the usage
 * (exit 0), an unknown option is one clear line plus the usage (exit 2), a negative amount reaches
 * the contract's validation, and a stopped or unknown local cloud is one line naming the stack and
 * how to start it (exit 1), without OpenTelemetry exporter noise. The publish itself, and the
 * printed field names, are covered by tests/local/main-cli.test.ts against a running cloud.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelpRequested, UsageError, notRunningMessage, transactionFromArgs } from "../../scripts/tx";

const ROOT = path.resolve(__dirname, "../..");

describe("transactionFromArgs", () => {
  it("asks for a transaction type, listing them", () => {
    expect(() => transactionFromArgs([])).toThrow(new UsageError("a transaction type is required: payment, bank-account-setup"));
    expect(() => transactionFromArgs(["refund"])).toThrow('unknown transaction type "refund" (types: payment, bank-account-setup)');
  });

  it("treats -h/--help as a request for the usage", () => {
    expect(() => transactionFromArgs(["--help"])).toThrow(HelpRequested);
    expect(() => transactionFromArgs(["payment", "-h"])).toThrow(HelpRequested);
  });

  it("names an unknown option or a missing value in one line", () => {
    expect(() => transactionFromArgs(["payment", "--bogus"])).toThrow(new UsageError("unknown option --bogus"));
    expect(() => transactionFromArgs(["payment", "--customer"])).toThrow(new UsageError("--customer needs a value"));
    expect(() => transactionFromArgs(["payment", "--amount", "5"])).toThrow(new UsageError("--customer is required for payment"));
  });

  it("takes a negative amount as the amount (validation then refuses it)", () => {
    for (const argv of [["--amount", "-5"], ["--amount=-5"]]) {
      const { transaction } = transactionFromArgs(["payment", "--customer", "C-1", ...argv]);
      expect(transaction).toMatchObject({ transaction_type: "payment", customer_id: "C-1", amount: -5 });
    }
    expect(transactionFromArgs(["payment", "--customer", "C-1", "--amount", "-.5"]).transaction.amount).toBe(-0.5);
  });
});

describe("npm run tx (process)", () => {
  let dir: string;
  let closedPort: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tx-cli-"));
    // A port nothing listens on: take one, then close it.
    closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closedPort}`;
    fs.mkdirSync(path.join(dir, "staging"), { recursive: true });
    // What a run killed with SIGKILL leaves behind: outputs naming dead addresses.
    fs.writeFileSync(
      path.join(dir, "staging", "outputs.json"),
      JSON.stringify({
        region: "us-east-1",
        awsEndpoints: { sns: url, sqs: url, dynamodb: url, stepfunctions: url },
        otlpEndpoint: url,
        transactionTopicArn: "arn:aws:sns:us-east-1:000000000000:t.fifo",
        transactionQueueUrls: {},
        transactionDlqUrls: {},
        transactionSubscriptionDlqUrls: {},
        bankAccountsTable: "b",
        paymentsTable: "p",
        apiUrl: `${url}/staging`,
        apiKey: "k",
        ordersTable: "o",
        failedOrdersTable: "fo",
        stateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:w",
        fulfillmentQueueUrl: `${url}/000000000000/f.fifo`,
        fulfillmentDlqUrl: `${url}/000000000000/f-dlq.fifo`,
        dashboardUrl: "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=d",
        alarmTopicArn: "arn:aws:sns:us-east-1:000000000000:alarms",
      }),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tx = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("npx", ["tsx", "scripts/tx.ts", ...args], { cwd: ROOT, env: { ...process.env, LOCAL_CLOUD_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.once("exit", (code) => resolve({ code, stdout, stderr: stderr.replace(/^npm warn .*\n/gm, "") }));
    });

  it("prints usage, refuses bad input, and says when the local cloud is not running", async () => {
    const [none, help, bogus, negative, stopped, missing, unknownStack] = await Promise.all([
      tx(),
      tx("--help"),
      tx("payment", "--bogus"),
      tx("payment", "--customer", "C-1", "--amount", "-5", "--stack", "staging"),
      tx("payment", "--customer", "C-1", "--amount", "5", "--stack", "staging"),
      tx("payment", "--customer", "C-1", "--amount", "5", "--stack", "dev"),
      tx("payment", "--customer", "C-1", "--amount", "5", "--stack", "nope"),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^a transaction type is required: payment, bank-account-setup\nusage:/);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage:\n {2}npm run tx -- payment/);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^unknown option --bogus\nusage:/);
    expect(negative).toMatchObject({ code: 2, stderr: "Invalid transaction: amount: must be positive\n" });
    expect(stopped).toMatchObject({ code: 1, stdout: "", stderr: `${notRunningMessage(`http://127.0.0.1:${closedPort}`, "staging")}\n` });
    expect(stopped.stderr).toContain("The local cloud for stack staging is not running (nothing listens on http://127.0.0.1:");
    expect(stopped.stderr).toContain("`npm start -- --stack staging`");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("The local cloud for stack dev is not running (no ");
    expect(missing.stderr).toContain("`npm start -- --stack dev`");
    expect(unknownStack).toMatchObject({ code: 2, stderr: 'No stack "nope": Pulumi.nope.yaml does not exist (stacks: dev, staging)\n' });
  });
});
