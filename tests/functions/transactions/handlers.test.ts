/**
 * The payment consumer run in this process against dynalite on 127.0.0.1 (consumers.test.ts runs
 * its bundle, as deployed): the ledger row and the balance of a first and a later payment, exactly
 * once under redelivery, redrive and concurrent writers, the payment limit, and a payment before
 * its bank account; the bank account setup handler, with its fingerprint key read from the local
 * Parameter Store (once per environment, through a traced client). In-process, so that mutation
 * testing (`npm run mutation`) can see which check notices each change of the handler. The tables
 * have the program's keys; SQS is a local stub (the dead-letter message itself is pinned in
 * tests/functions/lib/sqs-handler-dead-letter.test.ts).
 */
import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import type { Context, SQSBatchResponse, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { documentClient } from "../../../functions/lib/aws/dynamodb";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import type * as BankAccountSetupHandler from "../../../functions/transactions/bank-account-setup/handler";
import type * as PaymentHandler from "../../../functions/transactions/payment/handler";
import { awsClientConfig } from "../../../local/emulators";
import { startDynamoDb } from "../../../local/emulators/dynamodb";
import type { DynamoDbEmulator } from "../../../local/emulators/dynamodb";
import { startSsm } from "../../../local/services/ssm";
import type { SsmService } from "../../../local/services/ssm";
import { stubSqs } from "../../support/sqs-stub";

const region = "us-east-2";
const TABLES = { payments: "payments", bankAccounts: "bank-accounts" };
let dynamo: DynamoDbEmulator;
let ssm: SsmService;
/** The fingerprint key's parameter: declared in the local Parameter Store by the bank account tests. */
const FINGERPRINT_KEY = { name: "/dofs/test/fingerprint-key", arn: `arn:aws:ssm:${region}:1:parameter/dofs/test/fingerprint-key` };
let documents: DynamoDBDocumentClient;
// Imported once the environment is set: the handler resolves its links when its module loads.
let payment: typeof PaymentHandler;
let bankSetup: typeof BankAccountSetupHandler;
const sent: { command: string; input: Record<string, unknown> }[] = [];

beforeAll(async () => {
  [dynamo, ssm] = await Promise.all([startDynamoDb(), startSsm()]);
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
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    LINK_FINGERPRINT_KEY: JSON.stringify(FINGERPRINT_KEY),
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
  bankSetup = await import("../../../functions/transactions/bank-account-setup/handler");
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all([dynamo?.stop(), ssm?.stop()]);
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

  /**
   * Makes the handlers' document client fail the commands `fails` picks (with `error()`), and pass
   * the others through; restored by the caller.
   */
  function failCommands(fails: (command: { constructor: { name: string }; input: Record<string, unknown> }) => boolean, error: () => Error) {
    const client = documentClient();
    const send = client.send.bind(client);
    const attempts: string[] = [];
    const spy = vi.spyOn(client, "send").mockImplementation(((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (!fails(command)) return send(command as never);
      attempts.push(command.constructor.name);
      return Promise.reject(error());
    }) as never);
    return { attempts, restore: () => spy.mockRestore() };
  }
  const conflict = () => new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
  const balanceUpdate = (c: { constructor: { name: string }; input: Record<string, unknown> }) => c.constructor.name === "UpdateCommand" && (c.input.Key as { entry: string }).entry === "BALANCE";

  it("retries a balance update that lost a race up to 5 times in all, then fails naming the customer", async () => {
    const customer = await customerWithAccount();
    await run(record(paymentTx(customer, 1)));
    let left = 4;
    const lost = failCommands((c) => balanceUpdate(c) && left-- > 0, conflict);
    try {
      expect(await payment.applyToBalance(TABLES.payments, customer, randomUUID(), 200)).toBe(300);
      expect(lost.attempts).toHaveLength(4);
    } finally {
      lost.restore();
    }
    const always = failCommands(balanceUpdate, conflict);
    try {
      await expect(payment.applyToBalance(TABLES.payments, customer, randomUUID(), 200)).rejects.toThrow(`balance of customer ${customer} kept changing during 5 attempts`);
      expect(always.attempts).toHaveLength(5);
    } finally {
      always.restore();
    }
    expect((await balanceItem(customer))!.balance_cents).toBe(300);
  });

  it("a failed write that is not a lost race fails the message at once: the ledger row stays APPLYING, the balance unchanged", async () => {
    const customer = await customerWithAccount();
    await run(record(paymentTx(customer, 1)));
    const tx = paymentTx(customer, 2);
    const r = record(tx);
    const broken = failCommands(balanceUpdate, () => new Error("throughput exceeded"));
    try {
      expect(await run(r)).toEqual([r.messageId]);
      expect(broken.attempts).toEqual(["UpdateCommand"]);
    } finally {
      broken.restore();
    }
    expect((await balanceItem(customer))!.balance_cents).toBe(100);
    expect(await ledgerRow(customer, tx.transaction_id)).toEqual({
      customer_id: customer,
      entry: `TX#${tx.transaction_id}`,
      transaction_id: tx.transaction_id,
      amount: 2,
      amount_cents: 200,
      currency: "USD",
      account_last4: "6789",
      status: "APPLYING",
      requested_at: "2026-01-01T00:00:00.000Z",
    });
    // The ledger claim failing for another reason than its condition: nothing is applied either.
    const other = paymentTx(customer, 3);
    const o = record(other);
    const claim = failCommands((c) => c.constructor.name === "PutCommand" && (c.input.Item as { entry: string }).entry.startsWith("TX#"), () => new Error("throughput exceeded"));
    try {
      expect(await run(o)).toEqual([o.messageId]);
    } finally {
      claim.restore();
    }
    expect((await balanceItem(customer))!.balance_cents).toBe(100);
    expect(await ledgerRow(customer, other.transaction_id)).toBeUndefined();
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

describe("bank account setup handler", () => {
  const ACCOUNT = { account_holder: "Ada Lovelace", routing_number: "021000021", account_number: "123456789", account_type: "checking" };
  const setupTx = (customer: string, timestamp: string, account: Partial<typeof ACCOUNT> = {}) => ({
    transaction_id: randomUUID(),
    customer_id: customer,
    transaction_type: "bank_account_setup",
    timestamp,
    bank_account: { ...ACCOUNT, ...account },
  });
  const runSetup = async (...records: SQSRecord[]) => ((await bankSetup.handler({ Records: records }, lambdaContext)) as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);
  const row = async (customer: string, key: string) => (await documents.send(new GetCommand({ TableName: TABLES.bankAccounts, Key: { customer_id: customer, record: key }, ConsistentRead: true }))).Item;
  // HMAC-SHA256 of "021000021:123456789" keyed "fingerprint-key-1" (openssl dgst -sha256 -hmac).
  const FINGERPRINT = "8656866821e8bc5389e9ea589bb446ad3756721e309f39f1328637c2d1f26fe0";
  beforeAll(() => ssm.put({ ...FINGERPRINT_KEY, type: "SecureString", value: "fingerprint-key-1" }));

  it("fingerprints an account with HMAC-SHA256 of routing:account under the key", () => {
    expect(bankSetup.accountFingerprint("fingerprint-key-1", "021000021", "123456789")).toBe(FINGERPRINT);
  });

  it("retries a setup while its fingerprint key cannot be read, and reads it again on the next invocation", async () => {
    // A function environment of its own (fresh modules), linked to a parameter not declared yet:
    // the other tests' environment has read its key already, and keeps it.
    const missing = { name: `/dofs/test/key-${randomUUID()}`, arn: `arn:aws:ssm:${region}:1:parameter/dofs/test/missing` };
    const linked = process.env.LINK_FINGERPRINT_KEY;
    process.env.LINK_FINGERPRINT_KEY = JSON.stringify(missing);
    vi.resetModules();
    try {
      stubSqs((await import("../../../functions/lib/aws/sqs")).sqsClient(), sent);
      const fresh = await import("../../../functions/transactions/bank-account-setup/handler");
      const customer = `CUST-${randomUUID()}`;
      const r = record(setupTx(customer, "2026-01-01T00:00:00.000Z"));
      const failures = async () => ((await fresh.handler({ Records: [r] }, lambdaContext)) as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);
      expect(await failures()).toEqual([r.messageId]);
      expect(await row(customer, "ACTIVE")).toBeUndefined();
      ssm.put({ ...missing, type: "SecureString", value: "fingerprint-key-1" });
      expect(await failures()).toEqual([]);
      expect((await row(customer, "ACTIVE"))!.account_fingerprint).toBe(FINGERPRINT);
      expect(deadLettered()).toEqual([]);
    } finally {
      process.env.LINK_FINGERPRINT_KEY = linked;
    }
  });

  it("refuses a parameter with an empty value, naming it", async () => {
    const { parameterValue } = await import("../../../functions/lib/parameters");
    const empty = { name: `/dofs/test/empty-${randomUUID()}`, arn: `arn:aws:ssm:${region}:1:parameter/dofs/test/empty` };
    ssm.put({ ...empty, type: "SecureString", value: "" });
    await expect(parameterValue(empty)).rejects.toThrow(new Error(`SSM parameter ${empty.name} has no value`));
    const set = { name: `/dofs/test/set-${randomUUID()}`, arn: `arn:aws:ssm:${region}:1:parameter/dofs/test/set` };
    ssm.put({ ...set, type: "SecureString", value: "v1" });
    expect(await parameterValue(set)).toBe("v1");
  });

  it("reads a parameter once for the environment's life, through a traced SSM client", async () => {
    // Fresh modules: a parameter reader of its own, its spans kept by an exporter of this test.
    vi.resetModules();
    const { parameterValue } = await import("../../../functions/lib/parameters");
    const exporter = new InMemorySpanExporter();
    (await import("../../../functions/lib/telemetry/provider")).setupTelemetry({ exporter, simple: true });
    const parameter = { name: `/dofs/test/kept-${randomUUID()}`, arn: `arn:aws:ssm:${region}:1:parameter/dofs/test/kept` };
    ssm.put({ ...parameter, type: "SecureString", value: "k1" });
    const answer = vi.spyOn(ssm, "answer");
    let calls: unknown[][];
    try {
      // Two reads at once share one request.
      expect(await Promise.all([parameterValue(parameter), parameterValue(parameter)])).toEqual(["k1", "k1"]);
      // Past Powertools' own cache (5 s) the value is still kept: a new version is not read.
      ssm.put({ ...parameter, type: "SecureString", value: "k2" });
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 6_000 });
      expect(await parameterValue(parameter)).toBe("k1");
    } finally {
      vi.useRealTimers();
      calls = answer.mock.calls.map(([action, body]) => [action, body.Name, body.WithDecryption]);
      answer.mockRestore();
    }
    expect(calls).toEqual([["GetParameter", parameter.name, true]]);
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes["rpc.service"], s.attributes["rpc.method"]])).toEqual([["SSM.GetParameter", "SSM", "GetParameter"]]);
  });

  it("stores the active account and its history row with the last four digits and the fingerprint, never the number", async () => {
    const customer = `CUST-${randomUUID()}`;
    const tx = setupTx(customer, "2026-01-01T00:00:00Z");
    const before = Date.now();
    expect(await runSetup(record(tx))).toEqual([]);
    const stored = {
      customer_id: customer,
      transaction_id: tx.transaction_id,
      account_holder: "Ada Lovelace",
      account_type: "checking",
      routing_number: "021000021",
      account_last4: "6789",
      account_fingerprint: FINGERPRINT,
      setup_timestamp: "2026-01-01T00:00:00.000Z",
    };
    const active = await row(customer, "ACTIVE");
    expect(active).toEqual({ ...stored, record: "ACTIVE", status: "ACTIVE", updated_at: expect.any(String) });
    expect(Date.parse(active!.updated_at as string)).toBeGreaterThanOrEqual(before - 1);
    const history = await row(customer, `SETUP#${tx.transaction_id}`);
    expect(history).toEqual({ ...stored, record: `SETUP#${tx.transaction_id}`, processed_at: active!.updated_at });
    expect(JSON.stringify([active, history])).not.toContain("123456789");
    expect(deadLettered()).toEqual([]);
  });

  it("a redelivery changes nothing; a later setup replaces the active account, an older one only joins the history", async () => {
    const customer = `CUST-${randomUUID()}`;
    const first = setupTx(customer, "2026-01-02T00:00:00.000Z");
    await runSetup(record(first));
    const [active, history] = [await row(customer, "ACTIVE"), await row(customer, `SETUP#${first.transaction_id}`)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await runSetup(record(first, 2))).toEqual([]);
    expect(await row(customer, "ACTIVE")).toEqual(active);
    expect(await row(customer, `SETUP#${first.transaction_id}`)).toEqual(history);

    const older = setupTx(customer, "2026-01-01T00:00:00.000Z", { account_number: "5550001111" });
    expect(await runSetup(record(older))).toEqual([]);
    expect(await row(customer, "ACTIVE")).toEqual(active);
    expect((await row(customer, `SETUP#${older.transaction_id}`))!.account_last4).toBe("1111");

    // The same timestamp as the active one: the later delivery wins.
    const sameTime = setupTx(customer, "2026-01-02T00:00:00.000Z", { account_number: "5550002222", account_type: "savings" });
    expect(await runSetup(record(sameTime))).toEqual([]);
    expect(await row(customer, "ACTIVE")).toMatchObject({ transaction_id: sameTime.transaction_id, account_last4: "2222", account_type: "savings", status: "ACTIVE" });
    const later = setupTx(customer, "2026-01-03T00:00:00.000Z", { account_number: "5550003333" });
    expect(await runSetup(record(later))).toEqual([]);
    expect(await row(customer, "ACTIVE")).toMatchObject({ transaction_id: later.transaction_id, account_last4: "3333", setup_timestamp: "2026-01-03T00:00:00.000Z" });
  });
});
