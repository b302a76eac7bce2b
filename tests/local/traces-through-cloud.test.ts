/**
 * Propagation, proven through the local cloud: a published transaction and a placed order each
 * yield ONE connected trace with the expected spans, as the OTLP receiver stores them and as
 * `npm run traces` prints them.
 *
 * The test process is the publisher, so its spans must reach the receiver too. It exports to the
 * cloud's receiver exactly as `npm run tx` does (`exportToOutputsReceiver(outputs)` sets
 * `OTEL_EXPORTER_OTLP_ENDPOINT` from the outputs' `otlpEndpoint` before telemetry initialises),
 * rather than collecting its spans in an in-memory exporter and joining them by trace id: one
 * store holding every span proves what a user sees, and covers the CLI's path as well.
 *
 * The cloud runs with `fulfillmentSuccessRate=0` and `maxReceiveCount=2`, so the order takes the
 * longest path: API → workflow tasks → fulfillment (fails twice) → DLQ → DLQ handler.
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { flushTelemetry, setupTelemetry, telemetryStatus } from "../../functions/lib/telemetry/provider";
import { TransactionPublisher, newTransaction } from "../../functions/transactions/publisher";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import type { StoredSpan } from "../../local/otlp-receiver";
import { clientConfig } from "../../local/outputs";
import { main as tracesCli, readSpans } from "../../local/traces";
import { exportToOutputsReceiver } from "../../scripts/tx";
import { eventually } from "../integration/target";

const PRODUCER = 4;
const SERVER = 2;
const CONSUMER = 5;
const CLIENT = 3;
const OTEL_VARS = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED"] as const;

let cloud: LocalCloud;
let dir: string;
let sns: SNSClient;
let dynamo: DynamoDBDocumentClient;
const logs: string[] = [];
const savedEnv: Partial<Record<(typeof OTEL_VARS)[number], string>> = {};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "traces-through-cloud-"));
  cloud = await startLocalCloud({
    stack: "dev",
    config: { accountFingerprintKey: randomBytes(32).toString("hex"), maxReceiveCount: "2", fulfillmentSuccessRate: "0" },
    outputsFile: false,
    spansDir: dir,
    log: (line) => {
      logs.push(line);
      if (logs.length > 300) logs.shift();
      if (process.env.LOCAL_CLOUD_LOGS) console.log(line);
    },
  });
  // This process publishes like `npm run tx`: no endpoint of its own, so the outputs' receiver.
  for (const key of OTEL_VARS) {
    savedEnv[key] = process.env[key];
    delete process.env[key];
  }
  expect(exportToOutputsReceiver(cloud.outputs)).toBe(cloud.outputs.otlpEndpoint);
  setupTelemetry();
  sns = new SNSClient(clientConfig(cloud.outputs, "sns"));
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud.outputs, "dynamodb")));
});

afterAll(async () => {
  sns?.destroy();
  dynamo?.destroy();
  await cloud?.stop();
  for (const key of OTEL_VARS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function printLogsOnFailure(): void {
  onTestFailed(() => console.log(`Local cloud logs (last lines):\n${logs.join("\n")}`));
}

/** The spans of one trace, from the receiver's memory. */
const traceOf = (traceId: string): StoredSpan[] => cloud.spans().filter((s) => s.traceId === traceId);

/** The parent chain of a span inside its trace, nearest first. */
function ancestors(span: StoredSpan, trace: StoredSpan[]): StoredSpan[] {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const chain: StoredSpan[] = [];
  for (let parent = span.parentSpanId && byId.get(span.parentSpanId); parent; parent = parent.parentSpanId && byId.get(parent.parentSpanId)) {
    chain.push(parent);
  }
  return chain;
}

/** Every span hangs off `root` by parent ids: nothing orphaned, no second root. */
function expectConnectedTo(root: StoredSpan, trace: StoredSpan[]): void {
  expect(root.parentSpanId, `${root.name} is the root`).toBeUndefined();
  for (const span of trace) {
    if (span === root) continue;
    expect(ancestors(span, trace).at(-1)?.spanId, `${span.name} [${span.service}] reaches ${root.name} by parent ids`).toBe(root.spanId);
  }
}

/** The one trace id of the spans that carry `attribute` = `id` (fails if there are several). */
function oneTraceId(attribute: string, id: string): string {
  const ids = new Set(cloud.spans().filter((s) => s.attributes[attribute] === id).map((s) => s.traceId));
  expect([...ids], `trace ids of the spans with ${attribute}=${id}`).toHaveLength(1);
  return [...ids][0]!;
}

/**
 * Runs `npm run traces -- <id>` on the spans file (once the file holds every span the receiver has
 * for the trace) and prints the tree of `traceId`, the first one it lists (traces come in start
 * order). Other traces carrying the id (an order's status reads) are counted, not printed.
 * @returns the printed tree.
 */
async function printTrace(id: string, traceId: string): Promise<string> {
  const file = cloud.spansFile!;
  const expected = traceOf(traceId).length;
  await eventually("the spans file to hold the whole trace", async () => (readSpans(file).filter((s) => s.traceId === traceId).length >= expected ? true : undefined), 10_000, 100);
  let text = "";
  expect(tracesCli([id, "--file", file], (t) => (text = t))).toBe(0);
  const [tree = "", ...others] = text.split("\n\n");
  expect(tree.startsWith(`trace ${traceId} `)).toBe(true);
  const roots = [...new Set(others.map((t) => t.split("\n")[1]?.split(" [")[0]))];
  console.log(`$ npm run traces -- ${id}\n${tree}${others.length ? `\n(then ${others.length} more trace(s) carrying it, rooted at: ${roots.join(", ")})` : ""}`);
  return tree;
}

const queueName = (url: string | undefined) => url?.split("/").pop() ?? "";

describe("npm run tx's exporter endpoint", () => {
  const outputs = { otlpEndpoint: "http://127.0.0.1:4318" } as Parameters<typeof exportToOutputsReceiver>[0];

  it("is the outputs' receiver when the environment names none, and the environment's otherwise", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(exportToOutputsReceiver(outputs, env)).toBe("http://127.0.0.1:4318");
    expect(env).toEqual({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SERVICE_NAME: "tx-cli" });
    const own: NodeJS.ProcessEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "mine" };
    expect(exportToOutputsReceiver(outputs, own)).toBe("http://collector:4318");
    expect(own).toEqual({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "mine" });
    const tracesOnly: NodeJS.ProcessEnv = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" };
    expect(exportToOutputsReceiver(outputs, tracesOnly)).toBe("http://collector:4318/v1/traces");
    expect(tracesOnly.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });

  it("is none for a deployed stack's outputs (no otlpEndpoint) and an empty environment", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(exportToOutputsReceiver({} as typeof outputs, env)).toBeUndefined();
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });
});

describe("traces through the local cloud", () => {
  it("the outputs name the receiver, and this process exports to it", () => {
    expect(cloud.outputs.otlpEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(telemetryStatus()).toMatchObject({ exporter: "otlp", endpoint: `${cloud.outputs.otlpEndpoint}/v1/traces` });
    expect(cloud.spansFile?.startsWith(dir)).toBe(true);
  });

  it("a published payment is one trace: publish → consumer invocation → process <payment queue> → DynamoDB", async () => {
    printLogsOnFailure();
    const customer = `CUST-TRACE-${randomUUID().slice(0, 8)}`;
    const publisher = new TransactionPublisher(cloud.outputs.transactionTopicArn, sns);
    const setup = newTransaction({
      customer_id: customer,
      transaction_type: "bank_account_setup",
      bank_account: { account_holder: "Jane Doe", routing_number: "021000021", account_number: "000123456789", account_type: "checking" },
    });
    await publisher.publish(setup);
    // The payment is published once the account is active, so it is processed on its first receive
    // and its trace shows one attempt (a payment that comes first is retried, in the same trace).
    await eventually("the active bank account", async () => {
      const { Item } = await dynamo.send(new GetCommand({ TableName: cloud.outputs.bankAccountsTable, Key: { customer_id: customer, record: "ACTIVE" }, ConsistentRead: true }));
      return Item;
    });
    const pay = newTransaction({ customer_id: customer, transaction_type: "payment", amount: 250.75, currency: "USD" });
    await publisher.publish(pay);
    await flushTelemetry();
    await eventually("the COMPLETED ledger row", async () => {
      const { Item } = await dynamo.send(new GetCommand({ TableName: cloud.outputs.paymentsTable, Key: { customer_id: customer, entry: `TX#${pay.transaction_id}` }, ConsistentRead: true }));
      return Item?.status === "COMPLETED" ? Item : undefined;
    });

    const topic = cloud.outputs.transactionTopicArn.split(":").pop()!;
    const paymentQueue = queueName(cloud.outputs.transactionQueueUrls.payment);
    // The consumer flushes its spans when its invocation ends, just after the ledger write.
    const traceId = await eventually(
      "the payment's trace with the publish and the consumer's invocation",
      async () => {
        const id = cloud.spans().find((s) => s.attributes["transaction.id"] === pay.transaction_id)?.traceId;
        const spans = id ? traceOf(id) : [];
        return spans.some((s) => s.name === `publish ${topic}`) && spans.some((s) => s.kind === CONSUMER && s.attributes["faas.trigger"] === "pubsub") ? id : undefined;
      },
      15_000,
      100,
    );
    expect(oneTraceId("transaction.id", pay.transaction_id)).toBe(traceId);
    const trace = traceOf(traceId);

    const publish = trace.find((s) => s.name === `publish ${topic}`)!;
    expect(publish).toMatchObject({ kind: PRODUCER, service: "tx-cli", attributes: { "transaction.id": pay.transaction_id, "customer.id": customer } });
    const invocations = trace.filter((s) => s.attributes["faas.trigger"] === "pubsub");
    expect(invocations.map((s) => s.attributes["messaging.destination.name"])).toEqual([paymentQueue]);
    const invocation = invocations[0]!;
    expect(invocation).toMatchObject({ kind: CONSUMER, parentSpanId: publish.spanId });
    expect(invocation.service).toMatch(/payment-processing$/);

    const processes = trace.filter((s) => s.name === `process ${paymentQueue}`);
    expect(processes).toHaveLength(1);
    const processSpan = processes[0]!;
    expect(processSpan).toMatchObject({ kind: CONSUMER, parentSpanId: invocation.spanId, status: { code: 0 }, attributes: { "transaction.id": pay.transaction_id } });
    expect(ancestors(processSpan, trace).map((s) => s.name)).toEqual([invocation.name, publish.name]);

    const dynamoCalls = trace.filter((s) => s.name.startsWith("DynamoDB."));
    expect(dynamoCalls.length).toBeGreaterThanOrEqual(2);
    for (const call of dynamoCalls) {
      expect(call.kind).toBe(CLIENT);
      expect(ancestors(call, trace).map((s) => s.spanId), call.name).toContain(processSpan.spanId);
    }
    expect(dynamoCalls.map((s) => s.attributes["aws.dynamodb.table_names"]).flat()).toEqual(expect.arrayContaining([cloud.outputs.bankAccountsTable, cloud.outputs.paymentsTable]));
    expect(trace.filter((s) => s.status.code === 2)).toEqual([]);
    expectConnectedTo(publish, trace);

    // The bank account setup is a trace of its own.
    expect(oneTraceId("transaction.id", setup.transaction_id)).not.toBe(traceId);

    const printed = await printTrace(pay.transaction_id, traceId);
    expect(printed.split("\n")[0]).toBe(`trace ${traceId}  ${trace.length} spans`);
    expect(printed).toContain(`process ${paymentQueue}`);
  }, 120_000);

  it("a placed order is one trace: POST /order → validate and store tasks → fulfillment process spans → DLQ handler", async () => {
    printLogsOnFailure();
    const apiUrl = cloud.outputs.apiUrl.replace(/\/$/, "");
    const headers = { "content-type": "application/json", "x-api-key": cloud.outputs.apiKey };
    const customer = `cust-trace-${randomUUID().slice(0, 8)}`;
    const response = await fetch(`${apiUrl}/order`, { method: "POST", headers, body: JSON.stringify({ customer_id: customer, items: [{ product_id: "prod-widget", quantity: 2 }] }) });
    const placed = (await response.json()) as { order_id: string; status: string };
    expect(response.status, JSON.stringify(placed)).toBe(200);
    const orderId = placed.order_id;
    // fulfillmentSuccessRate=0: fails on both receives (maxReceiveCount=2), then the DLQ handler marks it FAILED.
    const status = await eventually(
      `order ${orderId} to be final`,
      async () => {
        const r = await fetch(`${apiUrl}/order/${orderId}`, { headers });
        const body = (await r.json()) as { status?: string };
        return r.status === 200 && (body.status === "FULFILLED" || body.status === "FAILED") ? body.status : undefined;
      },
      90_000,
      500,
    );
    expect(status).toBe("FAILED");

    const fulfillmentQueue = queueName(cloud.outputs.fulfillmentQueueUrl);
    const dlq = queueName(cloud.outputs.fulfillmentDlqUrl);
    const traceId = await eventually(
      "the order's trace through the DLQ handler",
      async () => {
        const id = cloud.spans().find((s) => s.attributes["order.id"] === orderId)?.traceId;
        const spans = id ? traceOf(id) : [];
        const dlqInvocationDone = spans.some((s) => s.attributes["faas.trigger"] === "pubsub" && s.attributes["messaging.destination.name"] === dlq);
        return dlqInvocationDone && spans.some((s) => s.name === "POST /order") ? id : undefined;
      },
      15_000,
      100,
    );
    // Every span naming the order is in this trace, except the status reads above: each
    // `GET /order/{id}` is a request, and a trace, of its own.
    const others = new Set(cloud.spans().filter((s) => s.attributes["order.id"] === orderId && s.traceId !== traceId).map((s) => s.traceId));
    for (const other of others) expect(traceOf(other).find((s) => !s.parentSpanId)?.name).toBe("GET /order/{id}");
    const trace = traceOf(traceId);

    const api = trace.find((s) => s.name === "POST /order")!;
    expect(api).toMatchObject({ kind: SERVER, attributes: { "faas.trigger": "http", "http.response.status_code": 200 } });
    expect(api.service).toMatch(/orders-api$/);
    const task = (fn: string) => trace.filter((s) => s.attributes["faas.trigger"] === "other" && s.service.endsWith(fn));
    expect(task("orders-validate")).toHaveLength(1);
    expect(task("orders-store")).toHaveLength(1);

    const fulfillment = trace.filter((s) => s.name === `process ${fulfillmentQueue}`);
    expect(fulfillment.map((s) => s.attributes["messaging.aws.sqs.receive_count"])).toEqual([1, 2]);
    for (const span of fulfillment) expect(span).toMatchObject({ kind: CONSUMER, status: { code: 2, message: expect.stringContaining("Fulfillment simulation failed") } });
    // The second attempt dead-letters the message itself; its SendMessage carries the context on.
    const deadLetter = trace.find((s) => s.name === "SQS.SendMessage" && s.attributes["messaging.destination.name"] === dlq);
    expect(deadLetter && ancestors(deadLetter, trace).map((s) => s.spanId)).toContain(fulfillment[1]!.spanId);
    const dlqProcess = trace.filter((s) => s.name === `process ${dlq}`);
    expect(dlqProcess).toHaveLength(1);
    expect(ancestors(dlqProcess[0]!, trace).map((s) => s.spanId)).toContain(deadLetter!.spanId);
    expect(trace.some((s) => s.name.startsWith("DynamoDB.") && ancestors(s, trace).includes(dlqProcess[0]!))).toBe(true);

    for (const span of [...task("orders-validate"), ...task("orders-store"), ...fulfillment, ...dlqProcess]) {
      expect(ancestors(span, trace).at(-1), `${span.name} [${span.service}]`).toBe(api);
    }
    expectConnectedTo(api, trace);

    const printed = await printTrace(orderId, traceId);
    expect(printed).toContain(`process ${dlq}`);
  }, 150_000);
});
