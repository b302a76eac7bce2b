/**
 * The whole local cloud under faults (issue 16): a function environment killed with `kill -9` while
 * idle, faults turned on and off through the control endpoint, and what each source does with a
 * failed invocation: API Gateway answers 502 (a crash) or 500 (throttled), and the SQS poller lets
 * the message come back and be processed once the fault is gone. The cloud keeps serving throughout.
 */
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransactionPublisher, newTransaction } from "../../functions/transactions/publisher";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import { clientConfig } from "../../local/outputs";
import { eventually } from "../integration/target";

const API_FUNCTION = "dofs-dev-orders-api";
const PAYMENT_FUNCTION = "utility-customer-system-dev-payment-processing";
let cloud: LocalCloud;
let dynamo: DynamoDBDocumentClient;
let publisher: TransactionPublisher;
const logs: string[] = [];

beforeAll(async () => {
  cloud = await startLocalCloud({
    stack: "dev",
    // A 2 s function timeout makes the queues' visibility timeout 12 s: a crashed batch comes back soon.
    config: { accountFingerprintKey: randomBytes(32).toString("hex"), functionTimeoutSeconds: "2" },
    outputsFile: false,
    traces: false,
    log: (line) => logs.push(line),
  });
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud.outputs, "dynamodb")));
  publisher = new TransactionPublisher(cloud.outputs.transactionTopicArn, new SNSClient(clientConfig(cloud.outputs, "sns")));
}, 120_000);
afterAll(async () => {
  await cloud?.stop();
});

async function control(method: "GET" | "PUT" | "DELETE", spec?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(cloud.outputs.faultControlUrl!, { method, ...(spec !== undefined ? { body: spec } : {}) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function postOrder(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${cloud.outputs.apiUrl}/order`, {
    method: "POST",
    headers: { "x-api-key": cloud.outputs.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ customer_id: "cust-faults", items: [{ product_id: "prod-1", quantity: 1 }] }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The pids of this process's function environments of `functionName` (what `ps` shows a user). */
function environmentPids(functionName: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return ppid === process.pid && fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`AWS_LAMBDA_FUNCTION_NAME=${functionName}`);
      } catch {
        return false; // exited meanwhile, or not ours to read
      }
    });
}

describe("local cloud under faults", () => {
  it("names its control endpoint in the outputs and refuses a bad spec, keeping the one in force", async () => {
    expect(cloud.outputs.faultControlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await control("GET")).toEqual({ status: 200, body: { spec: "seed=1", injected: {} } });
    expect(await control("PUT", "functions=explode:1")).toEqual({
      status: 400,
      body: { message: 'Invalid fault spec: functions: unknown function fault "explode" (one of crash, timeout, throw, throttle)' },
    });
    expect((await control("GET")).body.spec).toBe("seed=1");
  });

  it("replaces an API function environment killed while idle: the next order is accepted", async () => {
    expect((await postOrder()).status).toBe(200);
    const pids = environmentPids(API_FUNCTION);
    // One order at a time needs one environment: the host keeps it warm, and starts no other.
    expect(pids).toHaveLength(1);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const after = await postOrder();
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ status: "PENDING" });
    expect(environmentPids(API_FUNCTION).some((pid) => pids.includes(pid))).toBe(false);
  });

  it("answers a crashed invocation with 502 and a throttled one with 500, as API Gateway does, then recovers", async () => {
    // A crash lands within 200 ms of the start: usually before the handler answers (502), sometimes after (200).
    await control("PUT", `function:${API_FUNCTION}=crash:1`);
    const answers: Awaited<ReturnType<typeof postOrder>>[] = [];
    for (let i = 0; i < 10 && !answers.some((a) => a.status === 502); i++) answers.push(await postOrder());
    const crashed = answers.find((a) => a.status === 502);
    expect(crashed?.body).toEqual({ message: "Internal server error", requestId: expect.any(String) });
    expect(answers.filter((a) => a.status !== 502).every((a) => a.status === 200)).toBe(true);
    await control("PUT", `function:${API_FUNCTION}=throttle:1`);
    const throttled = await postOrder();
    expect(throttled.status).toBe(500);
    expect(throttled.body).toEqual({ message: "Internal server error", requestId: expect.any(String) });
    expect((await control("GET")).body.injected).toEqual({ [`function:${API_FUNCTION} throttle`]: 1 });
    expect(logs).toContain(`[faults] injected throttle into ${API_FUNCTION}`);
    expect((await control("DELETE")).body).toEqual({ spec: "seed=1", injected: {} });
    expect((await postOrder()).status).toBe(200);
  });

  it("lets a payment whose consumer crashed come back from its queue and be applied once the fault is gone", async () => {
    const customer = `CUST-FAULTS-${randomBytes(4).toString("hex")}`;
    await publisher.publish(
      newTransaction({
        customer_id: customer,
        transaction_type: "bank_account_setup",
        bank_account: { account_holder: "Jane Doe", routing_number: "021000021", account_number: "000123456789", account_type: "checking" },
      }),
    );
    await eventually("the active bank account", async () => (await dynamo.send(new GetCommand({ TableName: cloud.outputs.bankAccountsTable, Key: { customer_id: customer, record: "ACTIVE" } }))).Item);
    await control("PUT", `function:${PAYMENT_FUNCTION}=crash:1`);
    const pay = newTransaction({ customer_id: customer, transaction_type: "payment", amount: 12.5, currency: "USD" });
    await publisher.publish(pay);
    await eventually("a crashed payment invocation", async () => ((await control("GET")).body.injected as Record<string, number>)[`function:${PAYMENT_FUNCTION} crash`]);
    await control("DELETE");
    const row = await eventually(
      "the ledger row after the crash",
      async () => {
        const { Item } = await dynamo.send(new GetCommand({ TableName: cloud.outputs.paymentsTable, Key: { customer_id: customer, entry: `TX#${pay.transaction_id}` }, ConsistentRead: true }));
        return Item?.status === "COMPLETED" ? Item : undefined;
      },
      60_000,
    );
    expect(row).toMatchObject({ amount: 12.5, balance_after: 12.5 });
  }, 90_000);
});
