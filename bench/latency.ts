/**
 * What a user of the local cloud feels, measured against a cloud started as `npm start` starts it
 * (its own process, dev settings, the fault proxy on with no faults set):
 * - one `GetItem` and one `StartExecution` at a time against the idle cloud;
 * - `POST /order` and `GET /order/{id}` at one client;
 * - `POST /order` at fixed offered rates (open loop), with the time from each POST to its order's
 *   final status, and the highest offered rate whose p99 stays under 250 ms;
 * - bus throughput, and the raw SQS emulator's in the same run (the ratio);
 * - `POST /order` at an offered rate while the bus works through a backlog;
 * - the cloud's own event-loop delay during each step (its status endpoint).
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { clientConfig } from "../local/outputs";
import type { StackOutputsFile } from "../local/outputs";
import type { ConcurrencySnapshot } from "../local/runtime/account-concurrency";
import type { EventLoopDelay } from "../local/runtime/status";
import { busThroughput, orderStatuses, publishTransactions, rawQueueThroughput, transactionsFor, untilLedgersComplete } from "./bus";
import type { Throughput } from "./bus";
import { oneClient, openLoop, percentiles, startCloudProcess } from "./load";
import type { CloudProcess, Percentiles } from "./load";

export interface LatencySize {
  /** Requests per one-client and idle measurement. @default 100 */
  samples: number;
  /** The target step: orders per second and seconds. @default 20/s for 60 s */
  targetRate: number;
  targetSeconds: number;
  /** Further offered rates (orders/s), each for `stepSeconds`, in order until one's p99 reaches 250 ms. @default 5, 10, 30, 40, 60 for 15 s */
  ladder: number[];
  stepSeconds: number;
  /** Bus throughput: customers × (1 setup + payments each). @default 100 × 5 */
  busCustomers: number;
  busPaymentsEach: number;
  /** The backlog published before `POST /order` is offered at `backlogRate` for `backlogSeconds`. @default 300 × 6, 10/s for 30 s */
  backlogCustomers: number;
  backlogPaymentsEach: number;
  backlogRate: number;
  backlogSeconds: number;
}

export const DEFAULT_LATENCY_SIZE: LatencySize = {
  samples: 100,
  targetRate: 20,
  targetSeconds: 60,
  ladder: [5, 10, 30, 40, 60],
  stepSeconds: 15,
  busCustomers: 100,
  busPaymentsEach: 5,
  backlogCustomers: 300,
  backlogPaymentsEach: 6,
  backlogRate: 10,
  backlogSeconds: 30,
};

export interface RateStep {
  rate: number;
  seconds: number;
  post: Percentiles;
  errors: number;
  errorSamples: string[];
  /** From each POST's scheduled start to its order's final status (polled every 250 ms). */
  toFinal: Percentiles;
  /** Orders not final 180 s after the step. */
  notFinal: number;
  eventLoopDelayMs: EventLoopDelay;
  concurrency: ConcurrencySnapshot;
  /** The driver's own start lag, p99 ms (above a few ms the client, not the cloud, was late). */
  clientLagP99: number;
}

export interface LatencyFigures {
  idle: { getItem: Percentiles; startExecution: Percentiles; eventLoopDelayMs: EventLoopDelay };
  oneClient: { post: Percentiles; get: Percentiles; eventLoopDelayMs: EventLoopDelay };
  target: RateStep;
  ladder: RateStep[];
  /** The highest offered rate (orders/s) whose POST p99 stayed under 250 ms; null when none did. */
  highestRateUnder250ms: number | null;
  get: { rate: number; latency: Percentiles; errors: number };
  bus: Throughput;
  raw: Throughput;
  /** Bus transactions/s over raw emulator messages/s. */
  busToRaw: number;
  backlog: { transactions: number; post: Percentiles; errors: number; eventLoopDelayMs: EventLoopDelay; drain: Throughput };
}

/** `POST /order` (the i-th order of this run, with an idempotency key) and `GET /order/{id}` against a cloud's API. */
export type OrdersApi = { post(i: number): Promise<string>; get(orderId: string): Promise<void> };

/** The orders API of a cloud's outputs (its URL and API key). */
export function api(outputs: StackOutputsFile): OrdersApi {
  const headers = { "content-type": "application/json", "x-api-key": outputs.apiKey };
  const run = randomUUID().slice(0, 8);
  return {
    async post(i) {
      const response = await fetch(`${outputs.apiUrl}/order`, {
        method: "POST",
        headers: { ...headers, "idempotency-key": `bench-${run}-${i}` },
        body: JSON.stringify({ customer_id: `bench-${run}-${i % 500}`, items: [{ product_id: "prod-widget", quantity: 1 + (i % 5) }] }),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`POST /order answered ${response.status}: ${text.slice(0, 200)}`);
      return (JSON.parse(text) as { order_id: string }).order_id;
    },
    async get(orderId) {
      const response = await fetch(`${outputs.apiUrl}/order/${orderId}`, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET /order/${orderId} answered ${response.status}`);
    },
  };
}

const FINAL = new Set(["FULFILLED", "FAILED", "REJECTED"]);

/** Polls the orders table until every order is final (or 180 s pass); returns each order's time to final from its POST's start. */
async function timeToFinal(outputs: StackOutputsFile, posted: { orderId: string; startedAt: number }[]): Promise<{ toFinal: number[]; notFinal: number }> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(outputs, "dynamodb")));
  const pending = new Map(posted.map((p) => [p.orderId, p.startedAt]));
  const toFinal: number[] = [];
  const deadline = Date.now() + 180_000;
  while (pending.size > 0 && Date.now() < deadline) {
    const statuses = await orderStatuses(outputs, documents, [...pending.keys()]);
    const now = performance.now();
    for (const [orderId, status] of statuses) {
      if (!FINAL.has(status)) continue;
      toFinal.push(now - pending.get(orderId)!);
      pending.delete(orderId);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  documents.destroy();
  return { toFinal, notFinal: pending.size };
}

async function rateStep(cloud: CloudProcess, orders: OrdersApi, rate: number, seconds: number): Promise<RateStep> {
  await cloud.status(true);
  const posted: { orderId: string; startedAt: number }[] = [];
  const load = await openLoop(rate, seconds, async (i) => {
    const startedAt = performance.now();
    const orderId = await orders.post(i);
    posted.push({ orderId, startedAt });
    return orderId;
  });
  const status = await cloud.status(true);
  const { toFinal, notFinal } = await timeToFinal(cloud.outputs, posted);
  return {
    rate,
    seconds,
    post: percentiles(load.latencies),
    errors: load.errors,
    errorSamples: load.errorSamples,
    toFinal: percentiles(toFinal),
    notFinal,
    eventLoopDelayMs: status.eventLoopDelayMs,
    concurrency: status.concurrency,
    clientLagP99: load.startLagP99,
  };
}

/** The command line of the benchmarks' cloud: a fixed fingerprint key, so runs compare. */
export const BENCH_CLOUD_ARGS = ["--config", "accountFingerprintKey=bench-fingerprint-key-0123456789abcdef0123"];

/** What {@link idleAndOneClient} measures. */
export interface IdleAndOneClientFigures {
  idle: LatencyFigures["idle"];
  oneClient: LatencyFigures["oneClient"];
  /** The orders the one-client POSTs placed (final by the time it returns). */
  orderIds: string[];
}

/**
 * The idle and one-client steps: `GetItem` and `StartExecution` one at a time against the idle
 * cloud (admin credentials, straight to the emulators), then `POST /order` and `GET /order/{id}` at
 * one client; waits until the POSTed orders are final, so the next step starts idle again.
 * @param warm - an order id that is already final (the executions started on it fail at once).
 * @param samples - requests per measurement (StartExecution: at most 30).
 */
export async function idleAndOneClient(cloud: CloudProcess, orders: OrdersApi, warm: string, samples: number, onStep: (line: string) => void = () => undefined): Promise<IdleAndOneClientFigures> {
  const { outputs } = cloud;
  onStep("idle: GetItem and StartExecution, one at a time");
  await cloud.status(true);
  const dynamodb = new DynamoDBClient(clientConfig(outputs, "dynamodb"));
  const sfn = new SFNClient(clientConfig(outputs, "stepfunctions"));
  const getItem = await oneClient(samples, () => dynamodb.send(new GetItemCommand({ TableName: outputs.ordersTable, Key: { order_id: { S: warm } } })));
  // Executions of an order that is already final: the workflow's first write fails its condition,
  // so the executions add little work to the idle cloud.
  const startExecution = await oneClient(Math.min(samples, 30), () =>
    sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.stateMachineArn, name: `bench-${randomUUID()}`, input: JSON.stringify({ order_id: warm }) })),
  );
  const idle = { getItem: percentiles(getItem), startExecution: percentiles(startExecution), eventLoopDelayMs: (await cloud.status(true)).eventLoopDelayMs };
  dynamodb.destroy();
  sfn.destroy();
  await new Promise((r) => setTimeout(r, 2000));

  onStep("one client: POST /order, GET /order/{id}");
  await cloud.status(true);
  const ids: string[] = [];
  const post = await oneClient(samples, async (i) => ids.push(await orders.post(1_000_000 + i)));
  const get = await oneClient(samples, (i) => orders.get(ids[i % ids.length]!));
  const single = { post: percentiles(post), get: percentiles(get), eventLoopDelayMs: (await cloud.status(true)).eventLoopDelayMs };
  await timeToFinal(outputs, ids.map((orderId) => ({ orderId, startedAt: 0 })));
  return { idle, oneClient: single, orderIds: ids };
}

/** Places one order and waits until it is final (every function warm), then lets the cloud go idle for a second; returns its id. */
export async function warmUp(cloud: CloudProcess, orders: OrdersApi): Promise<string> {
  const warm = await orders.post(3_000_000);
  await timeToFinal(cloud.outputs, [{ orderId: warm, startedAt: performance.now() }]);
  await new Promise((r) => setTimeout(r, 1000));
  return warm;
}

/** Runs every step against a fresh local cloud; `onStep` reports progress. */
export async function benchLatency(size: LatencySize = DEFAULT_LATENCY_SIZE, onStep: (line: string) => void = () => undefined): Promise<LatencyFigures> {
  const cloud = await startCloudProcess(BENCH_CLOUD_ARGS);
  try {
    const { outputs } = cloud;
    const orders = api(outputs);
    // Warm every function once (cold starts are `--functions`' business), then let the cloud go idle.
    const warm = await warmUp(cloud, orders);

    const { idle, oneClient: single, orderIds: ids } = await idleAndOneClient(cloud, orders, warm, size.samples, onStep);

    onStep(`target: POST /order at ${size.targetRate}/s for ${size.targetSeconds} s`);
    const target = await rateStep(cloud, orders, size.targetRate, size.targetSeconds);
    const ladder: RateStep[] = [];
    for (const rate of size.ladder) {
      onStep(`offered rate ${rate}/s for ${size.stepSeconds} s`);
      const step = await rateStep(cloud, orders, rate, size.stepSeconds);
      ladder.push(step);
      if (step.post.p99 >= 250) break;
    }
    const under = [target, ...ladder].filter((s) => s.post.p99 < 250 && s.errors === 0).map((s) => s.rate);

    onStep(`GET /order/{id} at ${size.targetRate}/s for ${size.stepSeconds} s`);
    const gets = await openLoop(size.targetRate, size.stepSeconds, (i) => orders.get(ids[i % ids.length]!));

    onStep(`bus: ${size.busCustomers * (1 + size.busPaymentsEach)} transactions, then the raw SQS emulator`);
    const bus = await busThroughput(outputs, size.busCustomers, size.busPaymentsEach);
    const raw = await rawQueueThroughput(outputs);

    const backlogTx = transactionsFor(size.backlogCustomers, size.backlogPaymentsEach);
    onStep(`backlog: ${backlogTx.transactions.length} transactions published, POST /order at ${size.backlogRate}/s for ${size.backlogSeconds} s meanwhile`);
    const backlogStarted = performance.now();
    await publishTransactions(outputs, backlogTx.transactions);
    await cloud.status(true);
    const underBacklog = await openLoop(size.backlogRate, size.backlogSeconds, (i) => orders.post(2_000_000 + i));
    const backlogLoop = (await cloud.status(true)).eventLoopDelayMs;
    await untilLedgersComplete(outputs, backlogTx.customers, size.backlogPaymentsEach, 900_000);
    const drainSeconds = (performance.now() - backlogStarted) / 1000;

    return {
      idle,
      oneClient: single,
      target,
      ladder,
      highestRateUnder250ms: under.length ? Math.max(...under) : null,
      get: { rate: size.targetRate, latency: percentiles(gets.latencies), errors: gets.errors },
      bus,
      raw,
      busToRaw: bus.perSecond / raw.perSecond,
      backlog: {
        transactions: backlogTx.transactions.length,
        post: percentiles(underBacklog.latencies),
        errors: underBacklog.errors,
        eventLoopDelayMs: backlogLoop,
        drain: { count: backlogTx.transactions.length, seconds: drainSeconds, perSecond: backlogTx.transactions.length / drainSeconds },
      },
    };
  } finally {
    await cloud.stop();
  }
}
