/**
 * End-to-end benchmarks through the local cloud, which runs the deploy artifacts on emulators:
 * - transactions: bank setups then payments for many customers, published in batches of ten,
 *   timed from the first publish until every ledger row is COMPLETED;
 * - orders: `POST /order` for many orders, timed until every order has a final status.
 * Each runs with tracing on and off, so the telemetry's share reads as a ratio.
 * These are local figures (emulators on one machine), not AWS throughput.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { TransactionPublisher } from "../functions/transactions/publisher";
import { startLocalCloud } from "../local/cloud";
import { clientConfig } from "../local/outputs";
import type { StackOutputsFile } from "../local/outputs";
import { transactionsFor } from "./bus";

export interface FlowFigures {
  traces: boolean;
  bootMs: number;
  transactions: { count: number; seconds: number; perSecond: number };
  orders: { count: number; seconds: number; perSecond: number; fulfilled: number; failed: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function transactionsFlow(outputs: StackOutputsFile, customers: number, paymentsEach: number) {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(outputs, "dynamodb")));
  const publisher = new TransactionPublisher(outputs.transactionTopicArn, new SNSClient(clientConfig(outputs, "sns")));
  const { customers: ids, transactions } = transactionsFor(customers, paymentsEach);
  const started = performance.now();
  await publisher.publishAll(transactions);
  await until(
    async () => {
      for (const customer_id of ids) {
        const ledger = await documents.send(
          new QueryCommand({ TableName: outputs.paymentsTable, KeyConditionExpression: "customer_id = :c AND begins_with(entry, :tx)", FilterExpression: "#s = :done", ExpressionAttributeNames: { "#s": "status" }, ExpressionAttributeValues: { ":c": customer_id, ":tx": "TX#", ":done": "COMPLETED" } }),
        );
        if ((ledger.Items?.length ?? 0) < paymentsEach) return false;
      }
      return true;
    },
    300_000,
    "every payment to complete",
  );
  const seconds = (performance.now() - started) / 1000;
  return { count: transactions.length, seconds, perSecond: transactions.length / seconds };
}

async function ordersFlow(outputs: StackOutputsFile, count: number) {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(outputs, "dynamodb")));
  const started = performance.now();
  const orderIds: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const placed = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, async (_, j) => {
        const response = await fetch(`${outputs.apiUrl}/order`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": outputs.apiKey },
          body: JSON.stringify({ customer_id: `bench-${i + j}`, items: [{ product_id: "prod-widget", quantity: 1 + ((i + j) % 5) }] }),
        });
        if (response.status !== 200) throw new Error(`POST /order answered ${response.status}: ${await response.text()}`);
        return ((await response.json()) as { order_id: string }).order_id;
      }),
    );
    orderIds.push(...placed);
  }
  const statuses = new Map<string, string>();
  await until(
    async () => {
      for (const order_id of orderIds) {
        if (statuses.get(order_id) && statuses.get(order_id) !== "PENDING") continue;
        const item = await documents.send(new GetCommand({ TableName: outputs.ordersTable, Key: { order_id } }));
        statuses.set(order_id, (item.Item?.status as string | undefined) ?? "PENDING");
      }
      return [...statuses.values()].every((s) => s !== "PENDING");
    },
    300_000,
    "every order to reach a final status",
  );
  const seconds = (performance.now() - started) / 1000;
  const final = [...statuses.values()];
  return { count, seconds, perSecond: count / seconds, fulfilled: final.filter((s) => s === "FULFILLED").length, failed: final.filter((s) => s === "FAILED").length };
}

/**
 * @param traces - run the functions with tracing exported to the local OTLP receiver.
 * @param size - customers, payments per customer, orders.
 */
export async function benchFlows(traces: boolean, size = { customers: 20, paymentsEach: 5, orders: 40 }): Promise<FlowFigures> {
  // maxReceiveCount 2 keeps failed orders' backoff short; the rate stays the seed's 0.7.
  const cloud = await startLocalCloud({
    stack: "dev",
    config: { accountFingerprintKey: "bench-fingerprint-key-0123456789abcdef0123", maxReceiveCount: "2", maxConcurrency: "5" },
    outputsFile: false,
    traces,
    log: () => undefined,
  });
  const bootMs = cloud.bootMs;
  try {
    const transactions = await transactionsFlow(cloud.outputs, size.customers, size.paymentsEach);
    const orders = await ordersFlow(cloud.outputs, size.orders);
    return { traces, bootMs, transactions, orders };
  } finally {
    await cloud.stop();
  }
}
