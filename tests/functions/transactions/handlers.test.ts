/**
 * The payment consumer run in this process against dynalite on 127.0.0.1 (consumers.test.ts runs
 * its bundle, as deployed): the ledger row and the balance of a first and a later payment, exactly
 * once under redelivery, redrive and concurrent writers, the payment limit, and a payment before
 * its bank account. In-process, so that mutation testing (`npm run mutation`) can see which check
 * notices each change of the handler. The tables have the program's keys; SQS is a local stub (the
 * dead-letter message itself is pinned in tests/functions/lib/sqs-handler-dead-letter.test.ts).
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import type * as PaymentHandler from "../../../functions/transactions/payment/handler";
import { awsClientConfig } from "../../../local/emulators";
import { startDynamoDb } from "../../../local/emulators/dynamodb";
import type { DynamoDbEmulator } from "../../../local/emulators/dynamodb";
import { stubSqs } from "../../support/sqs-stub";

const region = "us-east-2";
const TABLES = { payments: "payments", bankAccounts: "bank-accounts" };
let dynamo: DynamoDbEmulator;
let documents: DynamoDBDocumentClient;
// Imported once the environment is set: the handler resolves its links when its module loads.
let payment: typeof PaymentHandler;
const sent: { command: string; input: Record<string, unknown> }[] = [];

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = new DynamoDBClient(awsClientConfig(dynamo.endpoint, region));
  documents = DynamoDBDocumentClient.from(client);
  for (const [name, sort] of [[TABLES.payments, "entry"], [TABLES.bankAccounts, "record"]] as const) {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: "customer_id", KeyType: "HASH" }, { AttributeName: sort, KeyType: "RANGE" }],
        AttributeDefinitions: [{ AttributeName: "customer_id", AttributeType: "S" }, { AttributeName: sort, AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  }
  Object.assign(process.env, {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    LINK_PAYMENTS: JSON.stringify({ name: TABLES.payments, arn: `arn:aws:dynamodb:${region}:1:table/${TABLES.payments}` }),
    LINK_BANK_ACCOUNTS: JSON.stringify({ name: TABLES.bankAccounts, arn: `arn:aws:dynamodb:${region}:1:table/${TABLES.bankAccounts}` }),
    LINK_SOURCE: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/1/payment.fifo", arn: "arn:aws:sqs:us-east-2:1:payment.fifo" }),
    LINK_DEAD_LETTER: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/1/payment-dlq.fifo", arn: "arn:aws:sqs:us-east-2:1:payment-dlq.fifo" }),
    FUNCTION_SETTINGS: JSON.stringify({ paymentLimit: 10_000 }),
    FUNCTION_TRIGGER: JSON.stringify({ maxReceiveCount: 3 }),
  });
  stubSqs(sqsClient(), sent);
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  payment = await import("../../../functions/transactions/payment/handler");
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await dynamo?.stop();
});
beforeEach(() => {
  sent.length = 0;
});

const lambdaContext = { awsRequestId: "req-1", functionName: "payment-test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function paymentTx(customer: string, amount: number) {
  return { transaction_id: randomUUID(), customer_id: customer, transaction_type: "payment", timestamp: "2026-01-01T00:00:00.000Z", amount, currency: "USD" };
}
function record(body: unknown, receiveCount = 1): SQSRecord {
  const customer = (body as { customer_id: string }).customer_id;
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()), SenderId: "T", ApproximateFirstReceiveTimestamp: String(Date.now()), MessageGroupId: customer, MessageDeduplicationId: randomUUID() },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-2:1:payment.fifo",
    awsRegion: region,
  } as SQSRecord;
}
const run = async (...records: SQSRecord[]) => ((await payment.handler({ Records: records }, lambdaContext)) as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);

async function customerWithAccount(): Promise<string> {
  const customer = `CUST-${randomUUID()}`;
  await documents.send(new PutCommand({ TableName: TABLES.bankAccounts, Item: { customer_id: customer, record: "ACTIVE", account_last4: "6789", status: "ACTIVE" } }));
  return customer;
}
const balanceItem = async (customer: string) => (await documents.send(new GetCommand({ TableName: TABLES.payments, Key: { customer_id: customer, entry: "BALANCE" }, ConsistentRead: true }))).Item;
const ledgerRow = async (customer: string, tx: string) => (await documents.send(new GetCommand({ TableName: TABLES.payments, Key: { customer_id: customer, entry: `TX#${tx}` }, ConsistentRead: true }))).Item;
const ledger = async (customer: string) =>
  (await documents.send(new QueryCommand({ TableName: TABLES.payments, KeyConditionExpression: "customer_id = :c AND begins_with(entry, :tx)", ExpressionAttributeValues: { ":c": customer, ":tx": "TX#" } }))).Items ?? [];
const deadLettered = () =>
  sent.filter((c) => c.command === "SendMessageCommand").map((c) => {
    const a = c.input.MessageAttributes as Record<string, { StringValue: string }>;
    return { kind: a.failure_kind!.StringValue, reason: a.failure_reason!.StringValue };
  });
/** Marks a payment's ledger row unfinished, as if its attempt stopped after crediting the balance. */
const unfinish = (customer: string, tx: string) =>
  documents.send(
    new UpdateCommand({
      TableName: TABLES.payments,
      Key: { customer_id: customer, entry: `TX#${tx}` },
      UpdateExpression: "SET #s = :applying REMOVE balance_after, processed_at",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: { ":applying": "APPLYING" },
    }),
  );

describe("payment handler", () => {
  it("applies a first and a later payment: ledger rows, balance in cents, version, applied map", async () => {
    const customer = await customerWithAccount();
    const first = paymentTx(customer, 250.75);
    const later = paymentTx(customer, 19.99);
    const before = Date.now();
    expect(await run(record(first))).toEqual([]);
    expect(await run(record(later))).toEqual([]);
    expect(await balanceItem(customer)).toEqual({
      customer_id: customer,
      entry: "BALANCE",
      balance_cents: 27074,
      version: 2,
      last_transaction_id: later.transaction_id,
      updated_at: expect.any(String),
      applied: { [first.transaction_id]: 25075, [later.transaction_id]: 27074 },
    });
    const row = await ledgerRow(customer, later.transaction_id);
    expect(row).toEqual({
      customer_id: customer,
      entry: `TX#${later.transaction_id}`,
      transaction_id: later.transaction_id,
      amount: 19.99,
      amount_cents: 1999,
      currency: "USD",
      account_last4: "6789",
      status: "COMPLETED",
      requested_at: "2026-01-01T00:00:00.000Z",
      balance_after: 270.74,
      processed_at: expect.any(String),
    });
    expect(Date.parse(row!.processed_at as string)).toBeGreaterThanOrEqual(before - 1);
    expect(deadLettered()).toEqual([]);
  });

  it("a redelivered completed payment changes nothing", async () => {
    const customer = await customerWithAccount();
    const tx = paymentTx(customer, 10);
    await run(record(tx));
    const [balance, row] = [await balanceItem(customer), await ledgerRow(customer, tx.transaction_id)];
    expect(await run(record(tx, 2))).toEqual([]);
    expect(await balanceItem(customer)).toEqual(balance);
    expect(await ledgerRow(customer, tx.transaction_id)).toEqual(row);
  });

  it.each([
    ["the customer's first payment", 0],
    ["a later payment", 1],
  ])("%s, redriven with its ledger row unfinished after another payment went through, is not applied again", async (_name, index) => {
    const customer = await customerWithAccount();
    const txs = [paymentTx(customer, 10), paymentTx(customer, 20)];
    for (const tx of txs) await run(record(tx));
    await unfinish(customer, txs[index]!.transaction_id);
    await run(record(paymentTx(customer, 5)));
    expect((await balanceItem(customer))!.balance_cents).toBe(3500);
    expect(await run(record(txs[index]!))).toEqual([]);
    expect((await balanceItem(customer))!.balance_cents).toBe(3500);
    expect(await ledgerRow(customer, txs[index]!.transaction_id)).toMatchObject({ status: "COMPLETED", balance_after: [10, 30][index] });
  });

  it("concurrent writers of one balance: each payment applied once, on the version it read", async () => {
    const customer = await customerWithAccount();
    await run(record(paymentTx(customer, 1)));
    const amounts = [100, 200, 300, 400];
    const ids = amounts.map(() => randomUUID());
    const afters = await Promise.all(amounts.map((cents, i) => payment.applyToBalance(TABLES.payments, customer, ids[i]!, cents)));
    expect((await balanceItem(customer))!.balance_cents).toBe(100 + 1000);
    expect((await balanceItem(customer))!.version).toBe(5);
    // Each saw a different balance: the writes were serialized by the version condition.
    expect(new Set(afters).size).toBe(4);
    expect(Math.max(...afters)).toBe(1100);
    // Applying one of them again answers its recorded balance and adds nothing.
    expect(await payment.applyToBalance(TABLES.payments, customer, ids[2]!, 300)).toBe(afters[2]);
    expect((await balanceItem(customer))!.balance_cents).toBe(1100);
  });

  it("a payment before its bank account is retried, writing nothing", async () => {
    const customer = `CUST-${randomUUID()}`;
    const r = record(paymentTx(customer, 10));
    expect(await run(r)).toEqual([r.messageId]);
    expect(await ledger(customer)).toEqual([]);
    expect(await balanceItem(customer)).toBeUndefined();
    expect(deadLettered()).toEqual([]);
  });

  it("on its last receive it is dead-lettered with the reason", async () => {
    const customer = `CUST-${randomUUID()}`;
    expect(await run(record(paymentTx(customer, 10), 3))).toEqual([]);
    expect(deadLettered()).toEqual([{ kind: "exhausted", reason: `customer ${customer} has no active bank account yet` }]);
  });

  it("the limit itself is accepted; a cent more is dead-lettered at once, writing nothing", async () => {
    const customer = await customerWithAccount();
    expect(await run(record(paymentTx(customer, 10_000)))).toEqual([]);
    expect((await balanceItem(customer))!.balance_cents).toBe(1_000_000);
    const over = paymentTx(customer, 10_000.01);
    expect(await run(record(over))).toEqual([]);
    expect(deadLettered()).toEqual([{ kind: "permanent", reason: "amount 10000.01 exceeds the payment limit of 10000" }]);
    expect(await ledgerRow(customer, over.transaction_id)).toBeUndefined();
  });
});
