/**
 * The orders tables' guarded reads and writes (order-table.ts) and the fulfillment, DLQ and store
 * handlers, run in this process against dynalite on 127.0.0.1 (the bundles run the same code in
 * child processes: orders.test.ts and guards.test.ts). In-process, so that mutation testing
 * (`npm run mutation`) can see which of these checks notices each change of the handlers' code.
 * The tables have the program's keys (`order_id`); SQS is a local stub on the shared client: what
 * the SQS runtime sends is pinned in tests/functions/lib/sqs-handler-dead-letter.test.ts.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import { documentClient } from "../../../functions/lib/aws/dynamodb";
import type * as DlqHandler from "../../../functions/orders/dlq/handler";
import type * as FulfillmentHandler from "../../../functions/orders/fulfillment/handler";
import type * as OrderTable from "../../../functions/orders/order-table";
import type * as StoreHandler from "../../../functions/orders/store/handler";
import type { FailedOrderRecord, OrderRecord, WorkflowOrder } from "../../../functions/orders/schemas";
import { awsClientConfig } from "../../../local/emulators";
import { startDynamoDb } from "../../../local/emulators/dynamodb";
import type { DynamoDbEmulator } from "../../../local/emulators/dynamodb";
import { stubSqs } from "../../support/sqs-stub";

const region = "us-east-2";
const TABLES = { orders: "orders", failedOrders: "failed-orders" };
const DLQ_URL = "https://sqs.us-east-2.amazonaws.com/123456789012/fulfillment-dlq";
let dynamo: DynamoDbEmulator;
let documents: DynamoDBDocumentClient;
// Imported once the environment is set: the handlers resolve their links when their module loads.
let table: typeof OrderTable;
let fulfillment: typeof FulfillmentHandler;
let dlq: typeof DlqHandler;
let store: typeof StoreHandler;
/** SQS commands the handlers sent (the stub answers them). */
const sent: { command: string; input: Record<string, unknown> }[] = [];
/** What the handlers wrote to stdout and stderr (WARN and above): JSON log lines and EMF metric lines. */
const output: string[] = [];

const FULFILLED_CUSTOMER = "cust-ok";
const FAILED_CUSTOMER = "cust-fail";

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = new DynamoDBClient(awsClientConfig(dynamo.endpoint, region));
  documents = DynamoDBDocumentClient.from(client);
  for (const name of Object.values(TABLES)) {
    await client.send(
      new CreateTableCommand({ TableName: name, KeySchema: [{ AttributeName: "order_id", KeyType: "HASH" }], AttributeDefinitions: [{ AttributeName: "order_id", AttributeType: "S" }], BillingMode: "PAY_PER_REQUEST" }),
    );
  }
  Object.assign(process.env, {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    LINK_ORDERS: JSON.stringify({ name: TABLES.orders, arn: `arn:aws:dynamodb:${region}:1:table/${TABLES.orders}` }),
    LINK_FAILED_ORDERS: JSON.stringify({ name: TABLES.failedOrders, arn: `arn:aws:dynamodb:${region}:1:table/${TABLES.failedOrders}` }),
    LINK_SOURCE: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/123456789012/fulfillment", arn: "arn:aws:sqs:us-east-2:123456789012:fulfillment" }),
    LINK_DEAD_LETTER: JSON.stringify({ url: DLQ_URL, arn: "arn:aws:sqs:us-east-2:123456789012:fulfillment-dlq" }),
    FUNCTION_SETTINGS: JSON.stringify({ fulfillmentSuccessRate: 0.5, fulfillmentOverrides: { [FULFILLED_CUSTOMER]: "FULFILLED", [FAILED_CUSTOMER]: "FAILED" } }),
    FUNCTION_TRIGGER: JSON.stringify({ maxReceiveCount: 3 }),
  });
  stubSqs(sqsClient(), sent);
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (output.push(String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (output.push(String(chunk)), true));
  table = await import("../../../functions/orders/order-table");
  fulfillment = await import("../../../functions/orders/fulfillment/handler");
  dlq = await import("../../../functions/orders/dlq/handler");
  store = await import("../../../functions/orders/store/handler");
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await dynamo?.stop();
});
beforeEach(() => {
  sent.length = 0;
  output.length = 0;
});

const lambdaContext = { awsRequestId: "req-1", functionName: "orders-test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function workflowOrder(customer = FULFILLED_CUSTOMER): WorkflowOrder {
  return { order_id: randomUUID(), customer_id: customer, items: [{ product_id: "prod-widget", quantity: 2 }], received_at: "2026-01-01T00:00:00.000Z" };
}
async function putOrder(status: OrderRecord["status"], customer = FULFILLED_CUSTOMER, extra: Record<string, unknown> = {}): Promise<string> {
  const orderId = randomUUID();
  await documents.send(new PutCommand({ TableName: TABLES.orders, Item: { order_id: orderId, customer_id: customer, items: [{ product_id: "prod-widget", quantity: 1 }], status, created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z", ...extra } }));
  return orderId;
}
const orderOf = async (orderId: string) => (await documents.send(new GetCommand({ TableName: TABLES.orders, Key: { order_id: orderId }, ConsistentRead: true }))).Item as OrderRecord | undefined;
const failedRowOf = async (orderId: string) => (await documents.send(new GetCommand({ TableName: TABLES.failedOrders, Key: { order_id: orderId }, ConsistentRead: true }))).Item as FailedOrderRecord | undefined;

function sqsRecord(orderId: string, customer: string, options: { reason?: string; receiveCount?: number } = {}): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify({ order_id: orderId, customer_id: customer }),
    attributes: { ApproximateReceiveCount: String(options.receiveCount ?? 1), SentTimestamp: String(Date.now()), SenderId: "TEST", ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: options.reason ? { failure_reason: { dataType: "String", stringValue: options.reason, stringListValues: [], binaryListValues: [] } } : {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-2:123456789012:fulfillment",
    awsRegion: region,
  } as SQSRecord;
}

/** The `OrdersCompleted` and `OrderProcessingLatency` EMF lines written since the test began. */
function completions(): { status: string; latency?: number }[] {
  return output
    .filter((line) => line.includes('"OrdersCompleted"'))
    .map((line) => JSON.parse(line) as { status: string; OrderProcessingLatency?: number })
    .map(({ status }) => ({ status }));
}
/** The `message` of each JSON log line written since the test began. */
const logMessages = () => output.filter((line) => line.startsWith("{") && !line.includes('"_aws"')).map((line) => (JSON.parse(line) as { message: string }).message);
const latencies = () => output.filter((line) => line.includes('"OrderProcessingLatency"')).map((line) => (JSON.parse(line) as { OrderProcessingLatency: number }).OrderProcessingLatency);
const deadLettered = () =>
  sent
    .filter((c) => c.command === "SendMessageCommand")
    .map((c) => Object.fromEntries(Object.entries(c.input.MessageAttributes as Record<string, { StringValue: string }>).filter(([k]) => k === "failure_kind" || k === "failure_reason").map(([k, v]) => [k, v.StringValue])));

describe("createOrder", () => {
  it("creates a PENDING order from the workflow's input, created when it was received", async () => {
    const order = workflowOrder();
    const before = Date.now();
    const created = await table.createOrder(TABLES.orders, order, "PENDING");
    const stored = await orderOf(order.order_id);
    expect(stored).toEqual(created);
    expect(stored).toEqual({ order_id: order.order_id, customer_id: order.customer_id, items: order.items, status: "PENDING", created_at: order.received_at, updated_at: expect.any(String) });
    expect(Date.parse(stored!.updated_at)).toBeGreaterThanOrEqual(before - 1);
  });
  it("creates a REJECTED order with its reason, cut to 1000 characters", async () => {
    const order = workflowOrder();
    await table.createOrder(TABLES.orders, order, "REJECTED", "r".repeat(1200));
    expect(await orderOf(order.order_id)).toMatchObject({ status: "REJECTED", status_reason: "r".repeat(1000) });
    expect(table.MAX_REASON_LENGTH).toBe(1000);
  });
  it("writes no reason when it is empty or absent", async () => {
    const order = workflowOrder();
    await table.createOrder(TABLES.orders, order, "REJECTED", "");
    expect(await orderOf(order.order_id)).not.toHaveProperty("status_reason");
    const other = workflowOrder();
    await table.createOrder(TABLES.orders, other, "PENDING", null);
    expect(await orderOf(other.order_id)).not.toHaveProperty("status_reason");
  });
  it("rethrows a failed write that is not the condition, even when the order exists", async () => {
    const order = workflowOrder();
    await table.createOrder(TABLES.orders, order, "PENDING");
    // Over DynamoDB's 400 KB item limit: refused whatever the condition says.
    const huge = { ...order, items: [{ product_id: "p".repeat(410 * 1024), quantity: 1 }] };
    await expect(table.createOrder(TABLES.orders, huge, "PENDING")).rejects.toThrow(/size/i);
  });
  it("answers the stored order, unchanged, when it exists already (a retried Task)", async () => {
    const order = workflowOrder();
    const first = await table.createOrder(TABLES.orders, order, "PENDING");
    const again = await table.createOrder(TABLES.orders, { ...order, customer_id: "someone-else" }, "REJECTED", "late");
    expect(again).toEqual(first);
    expect(await orderOf(order.order_id)).toEqual(first);
  });
});

describe("finishOrder", () => {
  it("moves a PENDING order to a final status, with the reason cut to 1000 characters", async () => {
    const id = await putOrder("PENDING");
    expect(await table.finishOrder(TABLES.orders, id, "FAILED", "f".repeat(1001))).toBe(true);
    const stored = await orderOf(id);
    expect(stored).toMatchObject({ status: "FAILED", status_reason: "f".repeat(1000) });
    expect(stored!.updated_at).not.toBe("2026-01-01T00:00:00.000Z");
  });
  it("without a reason writes none", async () => {
    const id = await putOrder("PENDING");
    expect(await table.finishOrder(TABLES.orders, id, "FULFILLED")).toBe(true);
    const stored = await orderOf(id);
    expect(stored!.status).toBe("FULFILLED");
    expect(stored).not.toHaveProperty("status_reason");
  });
  it.each(["FULFILLED", "FAILED", "REJECTED"] as const)("never changes a %s order, and says so", async (status) => {
    const id = await putOrder(status);
    const before = await orderOf(id);
    expect(await table.finishOrder(TABLES.orders, id, "FAILED", "late")).toBe(false);
    expect(await orderOf(id)).toEqual(before);
  });
  it("writes nothing for an order that does not exist", async () => {
    const id = randomUUID();
    expect(await table.finishOrder(TABLES.orders, id, "FULFILLED")).toBe(false);
    expect(await orderOf(id)).toBeUndefined();
  });
});

describe("recordFailure", () => {
  const tables = TABLES;
  it("fails a PENDING order with the reason and writes its one failed row", async () => {
    const id = await putOrder("PENDING", "cust-a");
    const outcome = await table.recordFailure(tables, id, "x".repeat(1100));
    expect(outcome).toEqual({ status: "FAILED", failedRowWritten: true, createdAt: "2026-01-01T00:00:00.000Z" });
    expect(await orderOf(id)).toMatchObject({ status: "FAILED", status_reason: "x".repeat(1000) });
    expect(await failedRowOf(id)).toEqual({ order_id: id, customer_id: "cust-a", failure_reason: "x".repeat(1000), failed_at: expect.stringMatching(/^\d{4}-/) });
  });
  it("a second call keeps the row and the first reason, and reports it wrote nothing", async () => {
    const id = await putOrder("PENDING");
    await table.recordFailure(tables, id, "first");
    const row = await failedRowOf(id);
    expect(await table.recordFailure(tables, id, "second")).toEqual({ status: "FAILED", failedRowWritten: false, createdAt: "2026-01-01T00:00:00.000Z" });
    expect(await failedRowOf(id)).toEqual(row);
    expect((await orderOf(id))!.status_reason).toBe("first");
  });
  it.each(["FULFILLED", "REJECTED"] as const)("leaves a %s order alone and writes no row", async (status) => {
    const id = await putOrder(status);
    expect(await table.recordFailure(tables, id, "late")).toEqual({ status, failedRowWritten: false, createdAt: "2026-01-01T00:00:00.000Z" });
    expect((await orderOf(id))!.status).toBe(status);
    expect(await failedRowOf(id)).toBeUndefined();
  });
  it("completes the pair for a FAILED order whose row was never written (a crash between the writes), with the order's reason", async () => {
    const id = await putOrder("FAILED", "cust-b", { status_reason: "the stored reason" });
    expect(await table.recordFailure(tables, id, "another")).toEqual({ status: "FAILED", failedRowWritten: true, createdAt: "2026-01-01T00:00:00.000Z" });
    expect(await failedRowOf(id)).toMatchObject({ customer_id: "cust-b", failure_reason: "the stored reason" });
  });
  it("an unknown order: nothing, unless the order is given, then it is created FAILED with its row", async () => {
    const unknown = randomUUID();
    expect(await table.recordFailure(tables, unknown, "why")).toEqual({ status: undefined, failedRowWritten: false });
    expect(await orderOf(unknown)).toBeUndefined();
    expect(await failedRowOf(unknown)).toBeUndefined();
    const order = workflowOrder("cust-c");
    expect(await table.recordFailure(tables, order.order_id, "workflow failed", order)).toEqual({ status: "FAILED", failedRowWritten: true, createdAt: order.received_at });
    expect(await orderOf(order.order_id)).toMatchObject({ status: "FAILED", status_reason: "workflow failed", customer_id: "cust-c", items: order.items });
    expect(await failedRowOf(order.order_id)).toMatchObject({ failure_reason: "workflow failed" });
  });
  it("rethrows an error that is not a failed condition", async () => {
    const id = await putOrder("PENDING");
    await expect(table.recordFailure({ orders: TABLES.orders, failedOrders: "no-such-table" }, id, "r")).rejects.toThrow(/non-existent table|not found/i);
  });
});

describe("fulfillment handler", () => {
  const run = (record: SQSRecord) => fulfillment.handler({ Records: [record] }, lambdaContext) as Promise<SQSBatchResponse>;
  it("fulfils a PENDING order bound to succeed, and counts it once with its latency", async () => {
    const id = await putOrder("PENDING", FULFILLED_CUSTOMER, { created_at: new Date(Date.now() - 5000).toISOString() });
    expect(await run(sqsRecord(id, FULFILLED_CUSTOMER))).toEqual({ batchItemFailures: [] });
    expect((await orderOf(id))!.status).toBe("FULFILLED");
    expect(completions()).toEqual([{ status: "FULFILLED" }]);
    const [latency] = latencies();
    expect(latency).toBeGreaterThanOrEqual(5000);
    expect(latency).toBeLessThan(60_000);
    expect(deadLettered()).toEqual([]);
  });
  it("an order that became final between its read and its write is left as it is, and not counted", async () => {
    const id = await putOrder("PENDING", FULFILLED_CUSTOMER);
    const dynamoClient = documentClient();
    const send = dynamoClient.send.bind(dynamoClient);
    // The DLQ handler wins the race: it fails the order just before the fulfillment's write.
    const spy = vi.spyOn(dynamoClient, "send").mockImplementation((async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === "UpdateCommand") {
        await documents.send(
          new UpdateCommand({
            TableName: TABLES.orders,
            Key: { order_id: id },
            UpdateExpression: "SET #s = :failed, status_reason = :reason",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: { ":failed": "FAILED", ":reason": "the DLQ handler was first" },
          }),
        );
      }
      return (send as (c: unknown) => Promise<unknown>)(command);
    }) as never);
    try {
      expect(await run(sqsRecord(id, FULFILLED_CUSTOMER))).toEqual({ batchItemFailures: [] });
    } finally {
      spy.mockRestore();
    }
    expect(await orderOf(id)).toMatchObject({ status: "FAILED", status_reason: "the DLQ handler was first" });
    expect(completions()).toEqual([]);
  });
  it("fails (to be retried) an order bound to fail, leaving it PENDING", async () => {
    const id = await putOrder("PENDING", FAILED_CUSTOMER);
    const record = sqsRecord(id, FAILED_CUSTOMER);
    expect(await run(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect((await orderOf(id))!.status).toBe("PENDING");
    expect(completions()).toEqual([]);
  });
  it("dead-letters it with the simulated reason on its last receive", async () => {
    const id = await putOrder("PENDING", FAILED_CUSTOMER);
    expect(await run(sqsRecord(id, FAILED_CUSTOMER, { receiveCount: 3 }))).toEqual({ batchItemFailures: [] });
    expect(deadLettered()).toEqual([{ failure_kind: "exhausted", failure_reason: fulfillment.SIMULATED_FAILURE }]);
    expect(fulfillment.SIMULATED_FAILURE).toBe("Fulfillment simulation failed");
  });
  it.each(["FULFILLED", "FAILED", "REJECTED"] as const)("acknowledges a message for a %s order and changes nothing", async (status) => {
    const id = await putOrder(status, FAILED_CUSTOMER);
    const before = await orderOf(id);
    expect(await run(sqsRecord(id, FAILED_CUSTOMER))).toEqual({ batchItemFailures: [] });
    expect(await orderOf(id)).toEqual(before);
    expect(completions()).toEqual([]);
  });
  it("dead-letters a message for an order that does not exist at once", async () => {
    const id = randomUUID();
    expect(await run(sqsRecord(id, FULFILLED_CUSTOMER))).toEqual({ batchItemFailures: [] });
    expect(deadLettered()).toEqual([{ failure_kind: "permanent", failure_reason: `order ${id} does not exist` }]);
    expect(await orderOf(id)).toBeUndefined();
  });
});

describe("DLQ handler", () => {
  const run = (record: SQSRecord) => dlq.handler({ Records: [record] }, lambdaContext) as Promise<SQSBatchResponse>;
  it("fails a PENDING order with the message's reason, and counts it once with its latency", async () => {
    const id = await putOrder("PENDING", "cust-d", { created_at: new Date(Date.now() - 3000).toISOString() });
    expect(await run(sqsRecord(id, "cust-d", { reason: "Fulfillment simulation failed" }))).toEqual({ batchItemFailures: [] });
    expect(await orderOf(id)).toMatchObject({ status: "FAILED", status_reason: "Fulfillment simulation failed" });
    expect(await failedRowOf(id)).toMatchObject({ failure_reason: "Fulfillment simulation failed" });
    expect(completions()).toEqual([{ status: "FAILED" }]);
    expect(latencies()[0]).toBeGreaterThanOrEqual(3000);
    expect(latencies()[0]).toBeLessThan(60_000);
    expect(logMessages()).toContain("Order failed");
  });
  it("without a reason attribute (moved by the redrive policy) records the reason that says so", async () => {
    const id = await putOrder("PENDING");
    await run(sqsRecord(id, FULFILLED_CUSTOMER));
    expect(await orderOf(id)).toMatchObject({ status: "FAILED", status_reason: dlq.REDRIVEN_REASON });
    expect(dlq.REDRIVEN_REASON).toBe("Fulfillment did not complete: the message exhausted its receives (moved by the queue's redrive policy)");
  });
  it("a redelivery counts nothing twice; a FULFILLED or unknown order is left alone", async () => {
    const id = await putOrder("PENDING");
    await run(sqsRecord(id, FULFILLED_CUSTOMER, { reason: "r" }));
    output.length = 0;
    await run(sqsRecord(id, FULFILLED_CUSTOMER, { reason: "r2" }));
    expect(completions()).toEqual([]);
    // Each case says what it did (an operator reading the DLQ handler's log must tell them apart).
    expect(logMessages()).toEqual(["Order failed"]);
    output.length = 0;
    const done = await putOrder("FULFILLED");
    await run(sqsRecord(done, FULFILLED_CUSTOMER, { reason: "late" }));
    expect((await orderOf(done))!.status).toBe("FULFILLED");
    expect(logMessages()).toEqual(["Order already final; not marked failed"]);
    output.length = 0;
    const unknown = randomUUID();
    expect(await run(sqsRecord(unknown, FULFILLED_CUSTOMER, { reason: "late" }))).toEqual({ batchItemFailures: [] });
    expect(await orderOf(unknown)).toBeUndefined();
    expect(logMessages()).toEqual(["Dead-lettered message for an unknown order; nothing to record"]);
    expect(completions()).toEqual([]);
  });
});

describe("store handler (the workflow's Task)", () => {
  const run = (input: unknown) => store.handler(input, lambdaContext);
  it("stores an order and answers its id and status; a retry answers the stored one", async () => {
    const order = workflowOrder();
    expect(await run({ action: "store", order, status: "PENDING" })).toEqual({ order_id: order.order_id, status: "PENDING" });
    expect(await run({ action: "store", order, status: "REJECTED", reason: "late" })).toEqual({ order_id: order.order_id, status: "PENDING" });
    const rejected = workflowOrder();
    expect(await run({ action: "store", order: rejected, status: "REJECTED", reason: "a test product" })).toEqual({ order_id: rejected.order_id, status: "REJECTED" });
    expect(await orderOf(rejected.order_id)).toMatchObject({ status: "REJECTED", status_reason: "a test product" });
  });
  it("logs an invocation with its own keys only, not those the previous invocation appended", async () => {
    const order = workflowOrder("cust-keys");
    await run({ action: "fail", order, reason: "States.Timeout" });
    await expect(run({ action: "store", status: "PENDING" })).rejects.toThrow("orders-store: invalid input: order: Invalid input: expected object, received undefined");
    const lines = output.filter((line) => line.startsWith("{") && !line.includes('"_aws"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const ids = (message: string) => lines.filter((l) => l.message === message).map((l) => [l.order_id, l.customer_id]);
    expect(ids("Workflow failure recorded")).toEqual([[order.order_id, "cust-keys"]]);
    expect(ids("Task input does not match the schema")).toEqual([[undefined, undefined]]);
  });

  it("records the workflow's failure: the order FAILED (created if absent) with its row, counted once", async () => {
    const order = workflowOrder("cust-e");
    expect(await run({ action: "fail", order, reason: "States.Timeout" })).toEqual({ order_id: order.order_id, status: "FAILED" });
    expect(await failedRowOf(order.order_id)).toMatchObject({ customer_id: "cust-e", failure_reason: "States.Timeout" });
    expect(await run({ action: "fail", order, reason: "again" })).toEqual({ order_id: order.order_id, status: "FAILED" });
    expect(completions()).toEqual([{ status: "FAILED" }]);
    // Since the order was received (2026-01-01): positive, and not a sum of two dates.
    const [latency] = latencies();
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(Date.now());
    const fulfilled = await putOrder("FULFILLED");
    const stored = (await orderOf(fulfilled))!;
    expect(await run({ action: "fail", order: { order_id: fulfilled, customer_id: stored.customer_id, items: stored.items, received_at: stored.created_at }, reason: "late" })).toEqual({ order_id: fulfilled, status: "FULFILLED" });
  });
});
