/**
 * Drives a stack through its outputs only, as real clients do: publishes the bus lanes with
 * `PublishBatch` (lanes in parallel, each in order), and places the orders from concurrent clients
 * that retry a 5xx, a 409 (the key is being claimed) or a network error with the same
 * `Idempotency-Key`, with a growing backoff.
 */
import { PublishBatchCommand } from "@aws-sdk/client-sns";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { BusMessage, PlannedOrder, Workload } from "./workload";

/** An order's result at the client. */
export interface PlacedOrder {
  planned: PlannedOrder;
  /** The order id of every 200 answer (all must be the same). */
  orderIds: string[];
  /** The final answer's status (0: the network failed on every attempt). */
  status: number;
  /** The final answer's body, when it was not a 200. */
  refusal?: string;
  attempts: number;
}

export interface DriveFigures {
  published: number;
  publishSeconds: number;
  publishRetries: number;
  ordersSeconds: number;
  orderRetries: number;
}

const MAX_ORDER_ATTEMPTS = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes every lane, in order, 10 messages per call; a failed entry is sent again with those after it (deduplication drops repeats). */
export async function publishLanes(sns: SNSClient, topicArn: string, workload: Workload, progress: (line: string) => void = () => undefined): Promise<{ published: number; retries: number; seconds: number }> {
  const started = Date.now();
  let published = 0;
  let retries = 0;
  const total = workload.lanes.reduce((n, lane) => n + lane.length, 0);
  const ticker = setInterval(() => progress(`  publishing: ${published} of ${total} messages (${retries} batch retries)`), 10_000);
  await Promise.all(
    workload.lanes.map(async (lane) => {
      let at = 0;
      while (at < lane.length) {
        const batch = lane.slice(at, at + 10);
        const failedAt = await publishBatch(sns, topicArn, batch);
        if (failedAt === undefined) {
          at += batch.length;
          published += batch.length;
          continue;
        }
        retries++;
        at += failedAt;
        published += failedAt;
        await sleep(Math.min(2000, 100 * 2 ** Math.min(retries, 5)));
      }
    }),
  ).finally(() => clearInterval(ticker));
  return { published, retries, seconds: (Date.now() - started) / 1000 };
}

/** The index of the first entry that failed, or undefined when all were accepted. */
async function publishBatch(sns: SNSClient, topicArn: string, batch: BusMessage[]): Promise<number | undefined> {
  try {
    const result = await sns.send(new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: batch.map((entry, i) => ({ Id: String(i), ...entry })) }));
    const failed = (result.Failed ?? []).map((f) => Number(f.Id));
    return failed.length ? Math.min(...failed) : undefined;
  } catch {
    return 0;
  }
}

/** Places every order from `clients` concurrent clients. */
export async function placeOrders(
  apiUrl: string,
  apiKey: string,
  orders: PlannedOrder[],
  clients: number,
  progress: (line: string) => void = () => undefined,
): Promise<{ placed: PlacedOrder[]; retries: number; seconds: number }> {
  const started = Date.now();
  const placed: PlacedOrder[] = [];
  let next = 0;
  let retries = 0;
  const ticker = setInterval(() => progress(`  ordering: ${placed.length} of ${orders.length} orders placed (${retries} client retries)`), 10_000);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < orders.length) {
        const planned = orders[next++]!;
        const result = await placeOrder(apiUrl, apiKey, planned);
        retries += result.attempts - 1;
        placed.push(result);
      }
    }),
  ).finally(() => clearInterval(ticker));
  return { placed, retries, seconds: (Date.now() - started) / 1000 };
}

async function placeOrder(apiUrl: string, apiKey: string, planned: PlannedOrder): Promise<PlacedOrder> {
  const orderIds: string[] = [];
  let status = 0;
  let refusal: string | undefined;
  let attempts = 0;
  while (attempts < MAX_ORDER_ATTEMPTS) {
    attempts++;
    try {
      const response = await fetch(`${apiUrl}/order`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": apiKey, "Idempotency-Key": planned.idempotencyKey },
        body: JSON.stringify(planned.body),
        signal: AbortSignal.timeout(35_000),
      });
      status = response.status;
      const text = await response.text();
      if (status === 200) {
        orderIds.push((JSON.parse(text) as { order_id: string }).order_id);
        refusal = undefined;
        break;
      }
      refusal = text;
      if (status < 500 && status !== 409 && status !== 429) break;
    } catch (error) {
      status = 0;
      refusal = error instanceof Error ? error.message : String(error);
    }
    await sleep(Math.min(3000, 100 * 2 ** attempts) * (0.5 + Math.random() / 2));
  }
  return { planned, orderIds, status, ...(refusal ? { refusal } : {}), attempts };
}
