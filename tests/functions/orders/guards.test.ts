/**
 * The guards of the orders tables under the conditions they exist for, through the real bundles of
 * the fulfillment and DLQ functions against dynalite (the program deployed as in harness.ts, without
 * pollers: each test invokes the functions with SQS events):
 *
 * - two writers racing for one PENDING order (the fulfillment function finishing it, the DLQ
 *   handler failing it): both have read PENDING, so the checks in code let both through, and only
 *   the database's conditional write (`#status = :pending`) decides. A DynamoDB proxy in front of
 *   the emulator holds both status updates until both have arrived, then lets them go one after the
 *   other in a chosen order: the first wins, the second changes nothing;
 * - a redelivered DLQ message for a FAILED order: the failed row keeps its first `failed_at`, and the
 *   failure is counted once (`OrdersCompleted`, status FAILED).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleFailedFulfillment } from "../../../functions/orders/dlq/definition";
import { fulfillOrder } from "../../../functions/orders/fulfillment/definition";
import type { FailedOrderRecord, OrderRecord } from "../../../functions/orders/schemas";
import type { FunctionHost } from "../../../local/runtime/function-host";
import { deployProgram } from "../../support/local-program";
import type { DeployedProgram } from "../../support/local-program";

const CUSTOMER = "cust-race";

/**
 * A DynamoDB endpoint in front of the emulator that holds every `UpdateItem` of an order it is told
 * to watch until `expected` of them have arrived, then forwards them one at a time in the order
 * `release` chooses, each after the previous one was answered. Everything else goes straight through.
 */
class UpdateBarrier {
  target = "";
  private watched: { orderId: string; expected: number; held: { writer: string; forward: () => Promise<void> }[]; allHeld: () => void } | undefined;
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Holds the next `expected` status updates of `orderId`; resolves once they are all held. */
  watch(orderId: string, expected: number): { held: Promise<string[]>; release: (order: string[]) => Promise<void> } {
    let allHeld!: () => void;
    const held = new Promise<void>((r) => (allHeld = r));
    const watched = { orderId, expected, held: [] as { writer: string; forward: () => Promise<void> }[], allHeld };
    this.watched = watched;
    return {
      held: held.then(() => watched.held.map((h) => h.writer)),
      release: async (order) => {
        this.watched = undefined;
        for (const writer of order) await watched.held.find((h) => h.writer === writer)!.forward();
      },
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const forward = () => this.forward(req, body, res);
    const watched = this.watched;
    const operation = String(req.headers["x-amz-target"] ?? "");
    if (watched && operation.endsWith(".UpdateItem") && body.includes(`"${watched.orderId}"`)) {
      // Which writer: the fulfillment function sets FULFILLED, the DLQ handler FAILED.
      const writer = body.includes('"FULFILLED"') ? "fulfillment" : "dlq";
      watched.held.push({ writer, forward });
      if (watched.held.length === watched.expected) watched.allHeld();
      return;
    }
    await forward();
  }

  private forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      const upstream = http.request(`${this.target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
        answer.on("end", resolve);
      });
      upstream.on("error", reject);
      upstream.end(body);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const barrier = new UpdateBarrier();
let program: DeployedProgram;
let documents: DynamoDBDocumentClient;
let tables: { orders: string; failedOrders: string };
let hosts: { fulfillment: FunctionHost; dlq: FunctionHost };
/** Function log lines, `[<function name>] <line>`. */
const logs: string[] = [];

beforeAll(async () => {
  const proxy = await barrier.listen();
  program = await deployProgram({
    config: { maxReceiveCount: "3" },
    functionSettings: [{ definition: fulfillOrder, add: { fulfillmentOverrides: { [CUSTOMER]: "FULFILLED" } } }],
    environment: { AWS_ENDPOINT_URL_DYNAMODB: proxy },
    log: (line) => logs.push(line),
  });
  barrier.target = program.emulators.endpoints.dynamodb;
  documents = DynamoDBDocumentClient.from(program.clients.dynamodb);
  const outputs = program.run.outputs as { ordersTable: string; failedOrdersTable: string };
  tables = { orders: outputs.ordersTable, failedOrders: outputs.failedOrdersTable };
  hosts = { fulfillment: program.functionOf(fulfillOrder).host, dlq: program.functionOf(handleFailedFulfillment).host };
});
afterAll(async () => {
  await program?.stop();
  await barrier.close();
});

function sqsRecord(orderId: string, attributes: Record<string, string> = {}): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify({ order_id: orderId, customer_id: CUSTOMER }),
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "TEST", ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { dataType: "String", stringValue: v, stringListValues: [], binaryListValues: [] }])),
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-2:000000000000:queue",
    awsRegion: "us-east-2",
  } as SQSRecord;
}
const invoke = async (host: FunctionHost, record: SQSRecord) => ((await host.invoke({ Records: [record] })) as SQSBatchResponse).batchItemFailures;

async function pendingOrder(): Promise<string> {
  const orderId = randomUUID();
  const now = new Date().toISOString();
  await documents.send(new PutCommand({ TableName: tables.orders, Item: { order_id: orderId, customer_id: CUSTOMER, items: [{ product_id: "prod-widget", quantity: 1 }], status: "PENDING", created_at: now, updated_at: now } }));
  return orderId;
}
const orderOf = async (orderId: string) => (await documents.send(new GetCommand({ TableName: tables.orders, Key: { order_id: orderId }, ConsistentRead: true }))).Item as OrderRecord | undefined;
const failedRowOf = async (orderId: string) => (await documents.send(new GetCommand({ TableName: tables.failedOrders, Key: { order_id: orderId }, ConsistentRead: true }))).Item as FailedOrderRecord | undefined;

/** `OrdersCompleted` EMF lines written since `from` (index into `logs`), as "<status>" per line. */
function completions(from: number): string[] {
  return logs
    .slice(from)
    .map((line) => /^\[[^\]]+\] (\{.*\})$/.exec(line)?.[1])
    .filter((json): json is string => json !== undefined && json.includes('"OrdersCompleted"'))
    .map((json) => (JSON.parse(json) as { status: string }).status);
}

describe("two writers racing for a PENDING order: the database's condition decides", () => {
  it.each([
    ["fulfillment first: the order is FULFILLED, the DLQ handler writes nothing", ["fulfillment", "dlq"], "FULFILLED"],
    ["the DLQ handler first: the order is FAILED with one failed row, fulfillment writes nothing", ["dlq", "fulfillment"], "FAILED"],
  ] as const)("%s", async (_name, order, winner) => {
    const orderId = await pendingOrder();
    const from = logs.length;
    const race = barrier.watch(orderId, 2);
    const fulfillment = invoke(hosts.fulfillment, sqsRecord(orderId));
    const dlq = invoke(hosts.dlq, sqsRecord(orderId, { failure_reason: "Fulfillment simulation failed" }));
    // Both read PENDING and sent their update: the checks in code have let both through.
    expect((await race.held).sort()).toEqual(["dlq", "fulfillment"]);
    await race.release([...order]);
    expect(await fulfillment).toEqual([]);
    expect(await dlq).toEqual([]);
    const stored = await orderOf(orderId);
    expect(stored!.status).toBe(winner);
    if (winner === "FAILED") {
      expect(stored!.status_reason).toBe("Fulfillment simulation failed");
      expect(await failedRowOf(orderId)).toMatchObject({ order_id: orderId, failure_reason: "Fulfillment simulation failed" });
    } else {
      expect(stored!.status_reason).toBeUndefined();
      expect(await failedRowOf(orderId)).toBeUndefined();
    }
    // One final status, counted once.
    expect(completions(from)).toEqual([winner]);
  });
});

describe("a redelivered DLQ message for a FAILED order", () => {
  it("keeps the one failed row with its first failed_at, and counts the failure once", async () => {
    const orderId = await pendingOrder();
    const from = logs.length;
    expect(await invoke(hosts.dlq, sqsRecord(orderId, { failure_reason: "first reason" }))).toEqual([]);
    const first = await failedRowOf(orderId);
    expect(first).toEqual({ order_id: orderId, customer_id: CUSTOMER, failure_reason: "first reason", failed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    // Later, so that a rewritten row would show another failed_at.
    await new Promise((r) => setTimeout(r, 20));
    expect(await invoke(hosts.dlq, sqsRecord(orderId, { failure_reason: "second reason" }))).toEqual([]);
    expect(await failedRowOf(orderId)).toEqual(first);
    expect(await orderOf(orderId)).toMatchObject({ status: "FAILED", status_reason: "first reason" });
    expect(completions(from)).toEqual(["FAILED"]);
  });
});
