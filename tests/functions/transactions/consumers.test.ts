/**
 * The two transaction consumers as deployed: the program runs under the mock runtime with the local
 * cloud's provisioners (tests/support/local-program.ts), so their tables, queues and environments
 * (links, settings, trigger settings) are the program's; their esbuild bundles run in fresh Node
 * processes (the local Lambda host), invoked with SQS events against dynalite and fauxqs on
 * 127.0.0.1. Batches are built by hand where fauxqs cannot produce them (several messages of one group).
 */
import { createHash, createHmac, randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PublishCommand } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SendMessageCommand, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleFunction } from "../../../components/lib/bundle";
import { bankAccountSetup } from "../../../functions/transactions/bank-account-setup/definition";
import { payment } from "../../../functions/transactions/payment/definition";
import { toPublishRequest } from "../../../functions/transactions/publisher";
import type { FunctionHost } from "../../../local/runtime/function-host";
import type { BatchOutcome } from "../../../local/runtime/sqs-poller";
import { deployProgram } from "../../support/local-program";
import { sqsRecord } from "../../support/sqs-stub";
import type { DeployedProgram } from "../../support/local-program";

const MAX_RECEIVE = 3;
const FINGERPRINT_KEY = "consumer-test-fingerprint-key-0123456789abcdef";
let program: DeployedProgram;
let region: string;
let documents: DynamoDBDocumentClient;
let sqs: SQSClient;
/** Physical table names, from the stack outputs. */
let tables: { bankAccounts: string; payments: string };
/** Each function's dead-letter queue URL, by function name. */
const dlqUrls: Record<string, string> = {};
let setupHost: FunctionHost;
let paymentHost: FunctionHost;
const logs: string[] = [];

beforeAll(async () => {
  program = await deployProgram({ config: { accountFingerprintKey: FINGERPRINT_KEY, maxReceiveCount: String(MAX_RECEIVE) }, log: (line) => logs.push(line) });
  region = program.run.settings.region;
  documents = DynamoDBDocumentClient.from(program.clients.dynamodb);
  sqs = program.clients.sqs;
  const outputs = program.run.outputs as { bankAccountsTable: string; paymentsTable: string; transactionDlqUrls: Record<string, string> };
  tables = { bankAccounts: outputs.bankAccountsTable, payments: outputs.paymentsTable };
  dlqUrls[bankAccountSetup.name] = outputs.transactionDlqUrls.bank_account_setup!;
  dlqUrls[payment.name] = outputs.transactionDlqUrls.payment!;
  setupHost = program.functionOf(bankAccountSetup).host;
  paymentHost = program.functionOf(payment).host;
  for (const definition of [bankAccountSetup, payment]) console.log(`bundle ${definition.name}: ${(bundleFunction(definition.name, definition.entry).bytes / 1024).toFixed(0)} KiB`);
});

afterAll(async () => {
  await program?.stop();
});

/** A record of the bus's shape: grouped by customer, with the transaction_type attribute SNS delivers. */
function record(body: unknown, options: { group?: string; receiveCount?: number } = {}): SQSRecord {
  const tx = body as { customer_id?: string; transaction_type?: string };
  return {
    ...sqsRecord(randomUUID(), body, {
      receiveCount: options.receiveCount,
      group: options.group ?? tx.customer_id ?? "group",
      attributes: { transaction_type: { dataType: "String", stringValue: tx.transaction_type ?? "unknown", stringListValues: [], binaryListValues: [] } },
    }),
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:source.fifo",
    awsRegion: region,
  };
}

const invoke = async (h: FunctionHost, records: SQSRecord[]) => (await h.invoke({ Records: records } satisfies SQSEvent)) as SQSBatchResponse;
const failedIds = (response: SQSBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier);

function setupTx(customer: string, overrides: Record<string, unknown> = {}) {
  return {
    transaction_id: randomUUID(),
    customer_id: customer,
    transaction_type: "bank_account_setup",
    timestamp: new Date().toISOString(),
    bank_account: { account_holder: "Jane Doe", routing_number: "021000021", account_number: "000123456789", account_type: "checking" },
    ...overrides,
  };
}
function paymentTx(customer: string, amount: number, overrides: Record<string, unknown> = {}) {
  return { transaction_id: randomUUID(), customer_id: customer, transaction_type: "payment", timestamp: new Date().toISOString(), amount, currency: "USD", ...overrides };
}

function parseOrRaw(body: string): Record<string, unknown> {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { raw: body };
  }
}

async function drainDlq(name: string) {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: dlqUrls[name], MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], WaitTimeSeconds: 0, VisibilityTimeout: 300 }),
  );
  return Messages.map((m) => ({
    body: parseOrRaw(m.Body!),
    attributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue])),
  }));
}

const ledgerOf = async (customer: string) =>
  (
    await documents.send(
      new QueryCommand({ TableName: tables.payments, KeyConditionExpression: "customer_id = :c AND begins_with(entry, :tx)", ExpressionAttributeValues: { ":c": customer, ":tx": "TX#" } }),
    )
  ).Items ?? [];
const balanceOf = async (customer: string) =>
  (await documents.send(new GetCommand({ TableName: tables.payments, Key: { customer_id: customer, entry: "BALANCE" } }))).Item?.balance_cents as number | undefined;

describe("seed scenario (CUST-WORKFLOW-001)", () => {
  const customer = "CUST-WORKFLOW-001";
  const setup = setupTx(customer, { transaction_id: "759a0edb-461d-4a3c-a2d5-384b570d4121", timestamp: "2025-08-29T17:30:00.000Z" });
  const pay = paymentTx(customer, 250.75, { transaction_id: "c05e6e0c-6feb-4891-8940-46f2f85e0df1", timestamp: "2025-08-29T17:30:01.000Z" });

  it("stores the active bank account with the last four digits and a keyed fingerprint only", async () => {
    expect(failedIds(await invoke(setupHost, [record(setup)]))).toEqual([]);
    const active = (await documents.send(new GetCommand({ TableName: tables.bankAccounts, Key: { customer_id: customer, record: "ACTIVE" } }))).Item!;
    expect(active).toMatchObject({ transaction_id: setup.transaction_id, account_holder: "Jane Doe", account_type: "checking", account_last4: "6789", status: "ACTIVE" });
    // HMAC-SHA256 keyed by the stack secret over "<routing>:<account>" — not a bare hash anyone could recompute.
    const input = "021000021:000123456789";
    expect(active.account_fingerprint).toBe(createHmac("sha256", FINGERPRINT_KEY).update(input).digest("hex"));
    expect(active.account_fingerprint).not.toBe(createHash("sha256").update(input).digest("hex"));
    const everything = JSON.stringify((await documents.send(new ScanCommand({ TableName: tables.bankAccounts }))).Items);
    expect(everything).not.toContain("000123456789");
    expect(everything).toContain(`SETUP#${setup.transaction_id}`);
  });

  it("applies the payment once with its ledger row, and a redelivery changes nothing", async () => {
    expect(failedIds(await invoke(paymentHost, [record(pay)]))).toEqual([]);
    expect(failedIds(await invoke(paymentHost, [record(pay, { receiveCount: 2 })]))).toEqual([]);
    expect(await balanceOf(customer)).toBe(25075);
    const ledger = await ledgerOf(customer);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ transaction_id: pay.transaction_id, customer_id: customer, amount: 250.75, balance_after: 250.75, status: "COMPLETED" });
    // Processed by this test run, not copied from the transaction's own (2025) timestamp.
    expect(Date.parse(ledger[0]!.processed_at as string)).toBeGreaterThan(Date.parse(pay.timestamp));
    expect(Date.parse(ledger[0]!.processed_at as string)).toBeLessThanOrEqual(Date.now());
    expect(await drainDlq("payment-processing")).toEqual([]);
    expect(logs.some((line) => line.includes('"level":"INFO"'))).toBe(true); // the functions' logs are captured, so the next check means something
    expect(logs.join("\n")).not.toContain("000123456789");
  });
});

describe("bank account setup", () => {
  it("replaces the active account with a newer setup, keeps the history, and ignores a late republish of the older one", async () => {
    const customer = `CUST-${randomUUID()}`;
    const first = setupTx(customer, { timestamp: "2025-01-01T00:00:00.000Z" });
    const second = setupTx(customer, {
      timestamp: "2025-02-01T00:00:00.000Z",
      bank_account: { account_holder: "Jane Doe", routing_number: "011000015", account_number: "99887766", account_type: "savings" },
    });
    await invoke(setupHost, [record(first)]);
    await invoke(setupHost, [record(second)]);
    await invoke(setupHost, [record(first)]); // republished after the FIFO dedup window
    const rows = (await documents.send(new QueryCommand({ TableName: tables.bankAccounts, KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer } })))
      .Items!;
    expect(rows.map((r) => r.record).sort()).toEqual(["ACTIVE", `SETUP#${first.transaction_id}`, `SETUP#${second.transaction_id}`].sort());
    expect(rows.find((r) => r.record === "ACTIVE")).toMatchObject({ transaction_id: second.transaction_id, account_last4: "7766", account_type: "savings" });
  });

  it("dead-letters an invalid setup at once with the validation error, and stores nothing", async () => {
    const customer = `CUST-${randomUUID()}`;
    const bad = setupTx(customer, { bank_account: { account_holder: "", routing_number: "021000022", account_number: "12", account_type: "checking" } });
    expect(failedIds(await invoke(setupHost, [record(bad)]))).toEqual([]);
    const [dead] = await drainDlq("bank-account-setup");
    expect(dead!.attributes).toMatchObject({ failure_kind: "validation", failed_function: "bank-account-setup", transaction_type: "bank_account_setup" });
    expect(dead!.attributes.failure_reason).toBe(
      "bank_account.account_holder: must not be empty; bank_account.routing_number: fails the ABA routing number checksum; bank_account.account_number: must be 4 to 17 digits",
    );
    const rows = await documents.send(new QueryCommand({ TableName: tables.bankAccounts, KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer } }));
    expect(rows.Items).toEqual([]);
  });
});

describe("payment", () => {
  it("retries a payment that arrives before its bank account, then applies it once the setup is processed", async () => {
    const customer = `CUST-${randomUUID()}`;
    const pay = paymentTx(customer, 10);
    const early = record(pay);
    expect(failedIds(await invoke(paymentHost, [early]))).toEqual([early.messageId]);
    expect(await balanceOf(customer)).toBeUndefined();
    await invoke(setupHost, [record(setupTx(customer))]);
    expect(failedIds(await invoke(paymentHost, [record(pay, { receiveCount: 2 })]))).toEqual([]);
    expect(await balanceOf(customer)).toBe(1000);
  });

  it("never applies a payment twice, even when it comes back after a later payment with its ledger row unfinished", async () => {
    const customer = `CUST-${randomUUID()}`;
    await invoke(setupHost, [record(setupTx(customer))]);
    const first = paymentTx(customer, 10);
    await invoke(paymentHost, [record(first)]);
    // As if the first attempt stopped after crediting the balance, before completing its ledger row
    // (then went to the DLQ), and the customer's next payment went through meanwhile.
    await documents.send(
      new UpdateCommand({
        TableName: tables.payments,
        Key: { customer_id: customer, entry: `TX#${first.transaction_id}` },
        UpdateExpression: "SET #s = :applying REMOVE balance_after, processed_at",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":applying": "APPLYING" },
      }),
    );
    await invoke(paymentHost, [record(paymentTx(customer, 5))]);
    expect(await balanceOf(customer)).toBe(1500);
    // The first payment is redriven from the DLQ (or republished after the dedup window).
    expect(failedIds(await invoke(paymentHost, [record(first, { receiveCount: 1 })]))).toEqual([]);
    expect(await balanceOf(customer)).toBe(1500);
    const row = (await ledgerOf(customer)).find((r) => r.transaction_id === first.transaction_id);
    expect(row).toMatchObject({ status: "COMPLETED", balance_after: 10 });
  });

  it("never applies a LATER payment twice, after a redrive from the DLQ and after a republish with a fresh dedup id", async () => {
    // The guard that matters here is the balance's `applied` map: the customer's first payment is
    // recorded there by the put that creates the balance, every later one by the conditional update.
    const customer = `CUST-${randomUUID()}`;
    await invoke(setupHost, [record(setupTx(customer))]);
    const [p1, p2, p3] = [paymentTx(customer, 10), paymentTx(customer, 20), paymentTx(customer, 30)];
    for (const p of [p1, p2, p3]) expect(failedIds(await invoke(paymentHost, [record(p)]))).toEqual([]);
    // As if p2's and p3's first attempts stopped after crediting the balance, before completing their
    // ledger rows (then went to the DLQ), and the customer's next payment went through meanwhile.
    for (const p of [p2, p3]) {
      await documents.send(
        new UpdateCommand({
          TableName: tables.payments,
          Key: { customer_id: customer, entry: `TX#${p.transaction_id}` },
          UpdateExpression: "SET #s = :applying REMOVE balance_after, processed_at",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":applying": "APPLYING" },
        }),
      );
    }
    expect(failedIds(await invoke(paymentHost, [record(paymentTx(customer, 5))]))).toEqual([]);
    expect(await balanceOf(customer)).toBe(6500);

    // Through the queues as deployed: the payment function's event source mapping polls its queue.
    const fn = program.functionOf(payment);
    const sourceQueue = program.queue(fn.mapping!.eventSourceArn);
    const dlq = program.queue(dlqUrls[payment.name]!);
    const outcomes: BatchOutcome[] = [];
    const poller = program.startMapping(fn, (outcome) => outcomes.push(outcome));
    try {
      // p2 is redriven: in the DLQ (as the runtime dead-letters), then moved back by SQS's move task.
      await sqs.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: JSON.stringify(p2), MessageGroupId: customer, MessageDeduplicationId: randomUUID() }));
      await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: sourceQueue.arn }));
      // p3 is republished to the bus after the FIFO dedup window: same transaction, fresh dedup id.
      const request = toPublishRequest(p3);
      await program.clients.sns.send(new PublishCommand({ TopicArn: (program.run.outputs as { transactionTopicArn: string }).transactionTopicArn, ...request, MessageDeduplicationId: randomUUID() }));
      const deadline = Date.now() + 20_000;
      while (outcomes.reduce((n, o) => n + o.deleted, 0) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await poller.stop();
    }
    expect({ received: outcomes.reduce((n, o) => n + o.received, 0), deleted: outcomes.reduce((n, o) => n + o.deleted, 0) }).toEqual({ received: 2, deleted: 2 });
    expect(await balanceOf(customer)).toBe(6500);
    const ledger = await ledgerOf(customer);
    expect(ledger).toHaveLength(4);
    expect(ledger.find((r) => r.transaction_id === p2.transaction_id)).toMatchObject({ status: "COMPLETED", balance_after: 30 });
    expect(ledger.find((r) => r.transaction_id === p3.transaction_id)).toMatchObject({ status: "COMPLETED", balance_after: 60 });
    expect(await drainDlq("payment-processing")).toEqual([]);
  });

  it("dead-letters a payment whose bank account never arrives on its last receive, with that reason", async () => {
    const customer = `CUST-${randomUUID()}`;
    const pay = paymentTx(customer, 5);
    expect(failedIds(await invoke(paymentHost, [record(pay, { receiveCount: MAX_RECEIVE })]))).toEqual([]);
    const [dead] = await drainDlq("payment-processing");
    expect(dead!.body.transaction_id).toBe(pay.transaction_id);
    expect(dead!.attributes).toMatchObject({ failure_kind: "exhausted", receive_count: String(MAX_RECEIVE), failure_reason: `customer ${customer} has no active bank account yet` });
  });

  it("dead-letters a payment over the limit at once", async () => {
    const customer = `CUST-${randomUUID()}`;
    await invoke(setupHost, [record(setupTx(customer))]);
    expect(failedIds(await invoke(paymentHost, [record(paymentTx(customer, 10_000.01))]))).toEqual([]);
    const [dead] = await drainDlq("payment-processing");
    expect(dead!.attributes).toMatchObject({ failure_kind: "permanent", failure_reason: "amount 10000.01 exceeds the payment limit of 10000" });
    expect(await ledgerOf(customer)).toEqual([]);
  });

  it("dead-letters a body that is not JSON", async () => {
    expect(failedIds(await invoke(paymentHost, [record("{not json", { group: "G" })]))).toEqual([]);
    const [dead] = await drainDlq("payment-processing");
    expect(dead!.body).toEqual({ raw: "{not json" });
    expect(dead!.attributes).toMatchObject({ failure_kind: "validation", failure_reason: "body is not JSON" });
  });

  it("in a FIFO batch, fails the rest of a failing group and processes the other groups in order", async () => {
    const ready = `CUST-${randomUUID()}`;
    const notReady = `CUST-${randomUUID()}`;
    await invoke(setupHost, [record(setupTx(ready))]);
    const batch = [
      record(paymentTx(ready, 1)),
      record(paymentTx(notReady, 7)), // fails: no bank account
      record(paymentTx(ready, 2)),
      record(paymentTx(notReady, 8)), // skipped: its group already failed in this batch
      record(paymentTx(ready, 3)),
    ];
    const response = await invoke(paymentHost, batch);
    expect(failedIds(response).sort()).toEqual([batch[1]!.messageId, batch[3]!.messageId].sort());
    const ledger = (await ledgerOf(ready)).sort((a, b) => (a.balance_after as number) - (b.balance_after as number));
    expect(ledger.map((r) => [r.amount, r.balance_after])).toEqual([
      [1, 1],
      [2, 3],
      [3, 6],
    ]);
    expect(await ledgerOf(notReady)).toEqual([]);
  });
});
