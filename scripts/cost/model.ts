/**
 * The cost model of `npm run cost`: what one transaction and one order cost on AWS, line by line,
 * from request counts derived from the handlers and the program (each line says where its count
 * comes from, and which figures are assumptions), the measured durations and a region's prices.
 *
 * Two kinds of cost: per unit (a transaction through the bus, an order through the API, workflow
 * and fulfillment), reported per million units; and per month whatever the volume (keys, alarms,
 * metrics, dashboards, the pollers' empty receives, KMS calls once per data-key period), which the
 * report spreads over the monthly volume it is given.
 */

/** One price of the table (`prices/<region>.json`). */
export interface Price {
  usd: number;
  per: number;
  unit: string;
  source: string;
}
export type PriceName =
  | "lambdaRequest"
  | "lambdaGbSecond"
  | "sqsStandardRequest"
  | "sqsFifoRequest"
  | "snsFifoPublish"
  | "snsFifoPublishGb"
  | "snsFifoDeliveryToSqs"
  | "snsFifoDeliveryGb"
  | "dynamodbWriteRequestUnit"
  | "dynamodbReadRequestUnit"
  | "stepFunctionsStandardTransition"
  | "stepFunctionsExpressRequest"
  | "stepFunctionsExpressGbSecond"
  | "apiGatewayRestRequest"
  | "kmsKeyMonth"
  | "kmsRequest"
  | "xrayTraceRecorded"
  | "cloudwatchLogsIngestedGb"
  | "cloudwatchMetricMonth"
  | "cloudwatchAlarmMonth"
  | "cloudwatchDashboardMonth";
export interface PriceTable {
  region: string;
  read: string;
  prices: Record<PriceName, Price>;
}

/** The functions, by the short name of their definition. */
export type FunctionName = "payment-processing" | "bank-account-setup" | "orders-api" | "orders-validate" | "orders-store" | "orders-fulfillment" | "orders-dlq";

/** What the program deploys, as the cost model needs it (counted by `npm run cost` from the program). */
export interface Deployed {
  /** STANDARD or EXPRESS (the stack's `workflowType`). */
  workflowType: "STANDARD" | "EXPRESS";
  /** State transitions of an accepted order's execution, and of a rejected one's (from the ASL). */
  transitionsAccepted: number;
  transitionsRejected: number;
  /** Messages per Lambda batch (the stack's `batchSize`). */
  batchSize: number;
  /** Receives before a message goes to its dead-letter queue (the stack's `maxReceiveCount`). */
  maxReceiveCount: number;
  /** Share of orders whose simulated fulfillment succeeds (the stack's `fulfillmentSuccessRate`). */
  fulfillmentSuccessRate: number;
  /** Memory of every function, MB (the stack's `functionMemoryMb`). */
  memoryMb: number;
  /** Customer managed KMS keys. */
  kmsKeys: number;
  /** Resources encrypted with those keys that are written or read while the system works. */
  kmsEncryptedInUse: number;
  /** SQS data-key reuse period, seconds (the queues' `kmsDataKeyReusePeriodSeconds`). */
  kmsReuseSeconds: number;
  /** Queues a Lambda event source mapping polls, FIFO and standard. */
  polledFifoQueues: number;
  polledStandardQueues: number;
  alarms: number;
  dashboards: number;
}

/** The measured figures: per function, the billed duration of a warm invocation and the init of a cold one. */
export interface Measured {
  /** Warm invocation of an empty event (the runtime's own overhead), ms, by function. */
  warmMs: Partial<Record<FunctionName, number>>;
  /** Module load (what Lambda bills as init duration), ms, by function. */
  initMs: Partial<Record<FunctionName, number>>;
}

/** The assumptions a user may change (`npm run cost -- --help` lists the flags). */
export interface Assumptions {
  /** Messages per invocation, on average (1 = a quiet queue; `batchSize` = a backlog). @default 1 */
  batchFill: number;
  /** Share of invocations that are cold starts. @default 0.01 */
  coldStartRate: number;
  /** Time of one DynamoDB/SQS/SFN call from a function in the same region, ms. @default 8 */
  awsCallMs: number;
  /** Share of transactions that are payments (the rest bank account setups). @default 5/6 (the soak's mix) */
  paymentShare: number;
  /** Payments per customer so far (the balance item keeps one `applied` entry per payment). @default 5 */
  paymentsPerCustomer: number;
  /** Lines per order. @default 2 */
  itemsPerOrder: number;
  /** `GET /order/{id}` calls per order. @default 1 */
  getsPerOrder: number;
  /** Share of `POST /order` with an `Idempotency-Key`. @default 1 */
  idempotencyShare: number;
  /** Share of orders a business rule rejects. @default 0 */
  rejectedShare: number;
  /** Long-polling connections per polled queue while it is idle. @default 5 */
  pollersPerQueue: number;
  /** Units a month, to spread the monthly costs over. @default 1,000,000 transactions and 1,000,000 orders */
  transactionsPerMonth: number;
  ordersPerMonth: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  batchFill: 1,
  coldStartRate: 0.01,
  awsCallMs: 8,
  paymentShare: 5 / 6,
  paymentsPerCustomer: 5,
  itemsPerOrder: 2,
  getsPerOrder: 1,
  idempotencyShare: 1,
  rejectedShare: 0,
  pollersPerQueue: 5,
  transactionsPerMonth: 1_000_000,
  ordersPerMonth: 1_000_000,
};

/** One line of the bill: `quantity` units of `price` per transaction, order or month. */
export interface Line {
  service: string;
  what: string;
  quantity: number;
  price: PriceName;
  /** Where the quantity comes from (a handler, the program) and what is assumed. */
  basis: string;
}

const SECONDS_PER_MONTH = 30.4375 * 24 * 3600;
/** Lambda's own log lines per invocation (START, END, REPORT, and the X-Ray line), bytes. */
const PLATFORM_LOG_BYTES = 420;
/** One structured log line of ours (Powertools JSON with the business keys), bytes. */
const LOG_LINE_BYTES = 650;
/** One EMF metric line, bytes. */
const EMF_LINE_BYTES = 420;
/** One Step Functions log event (level ALL, no execution data), bytes. */
const SFN_EVENT_BYTES = 350;
/** One API Gateway access log line (JSON format of the stage), bytes. */
const ACCESS_LOG_BYTES = 600;
const GB = 1e9;

/** Billable units of a DynamoDB item of `bytes`: 1 KB per write unit, 4 KB per strongly consistent read unit. */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
export const readUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));

/** Lambda lines for `invocationsPerUnit` invocations of `fn` doing `callsPerMessage` AWS calls for each of `messagesPerUnit` messages. */
function lambda(fn: FunctionName, invocations: number, messages: number, calls: number, d: Deployed, m: Measured, a: Assumptions, basis: string): Line[] {
  const gb = d.memoryMb / 1024;
  const warm = m.warmMs[fn] ?? 3;
  const init = m.initMs[fn] ?? 150;
  const seconds = (invocations * (warm + a.coldStartRate * init) + messages * calls * a.awsCallMs) / 1000;
  return [
    { service: "Lambda", what: `${fn} invocations`, quantity: invocations, price: "lambdaRequest", basis },
    {
      service: "Lambda",
      what: `${fn} duration (GB-s)`,
      quantity: gb * seconds,
      price: "lambdaGbSecond",
      basis: `${d.memoryMb} MB x (warm ${warm.toFixed(1)} ms + ${a.coldStartRate} x init ${init.toFixed(0)} ms per invocation + ${Number(calls.toFixed(2))} AWS calls x ${a.awsCallMs} ms per message)`,
    },
  ];
}

/** What one transaction costs: publish → SNS FIFO → SQS FIFO → its consumer → DynamoDB. */
export function transactionLines(d: Deployed, m: Measured, a: Assumptions): Line[] {
  const p = a.paymentShare;
  const perBatch = 1 / a.batchFill;
  const payloadGb = 600 / GB; // body (~350 B, README's examples) + attributes and envelope
  // The payment's balance item keeps one `applied` entry (~60 B) per payment of the customer.
  const balanceBytes = 150 + 60 * a.paymentsPerCustomer;
  const logBytes = perBatch * PLATFORM_LOG_BYTES + p * (LOG_LINE_BYTES + 2 * EMF_LINE_BYTES) + (1 - p) * (LOG_LINE_BYTES + 2 * EMF_LINE_BYTES);
  return [
    { service: "SNS", what: "FIFO publish", quantity: 1, price: "snsFifoPublish", basis: "functions/transactions/publisher.ts: one message per transaction (PublishBatch bills each entry)" },
    { service: "SNS", what: "FIFO publish payload (GB)", quantity: payloadGb, price: "snsFifoPublishGb", basis: "~600 B per message with its attributes (assumption)" },
    { service: "SNS", what: "delivery to SQS FIFO", quantity: 1, price: "snsFifoDeliveryToSqs", basis: "components/transactions/routes.ts: the filter policy routes each type to one queue" },
    { service: "SNS", what: "delivered payload (GB)", quantity: payloadGb, price: "snsFifoDeliveryGb", basis: "as published" },
    {
      service: "SQS",
      what: "FIFO requests: send (by SNS), receive, delete",
      quantity: 1 + 2 * perBatch,
      price: "sqsFifoRequest",
      basis: `one SendMessage; the event source mapping receives and deletes per batch (batch fill ${a.batchFill}, assumption)`,
    },
    ...lambda("payment-processing", p * perBatch, p, 5, d, m, a, "functions/lib/sqs-handler.ts: one invocation per batch"),
    ...lambda("bank-account-setup", (1 - p) * perBatch, 1 - p, 2, d, m, a, "functions/lib/sqs-handler.ts: one invocation per batch"),
    {
      service: "DynamoDB",
      what: "reads (RRU)",
      quantity: p * (1 + readUnits(balanceBytes)),
      price: "dynamodbReadRequestUnit",
      basis: `payment handler: GetItem of the active account, GetItem of the balance (~${balanceBytes} B), strongly consistent`,
    },
    {
      service: "DynamoDB",
      what: "writes (WRU)",
      quantity: p * (1 + writeUnits(balanceBytes) + 1) + (1 - p) * 2,
      price: "dynamodbWriteRequestUnit",
      basis: "payment: PutItem ledger, UpdateItem balance, UpdateItem ledger; bank-account-setup: PutItem history, UpdateItem active",
    },
    {
      service: "KMS",
      what: "Decrypt of the fingerprint key at a cold start",
      quantity: (1 - p) * perBatch * a.coldStartRate,
      price: "kmsRequest",
      basis: "functions/lib/parameters.ts: GetParameter WithDecryption once per execution environment",
    },
    { service: "X-Ray", what: "traces recorded", quantity: 1, price: "xrayTraceRecorded", basis: "one trace per transaction, every span exported (no sampler configured)" },
    { service: "CloudWatch", what: "logs ingested (GB)", quantity: logBytes / GB, price: "cloudwatchLogsIngestedGb", basis: "Lambda's lines per invocation, one log line and two EMF lines per message (sizes assumed)" },
  ];
}

/** What one order costs: `POST /order` (and its GETs), the workflow, the fulfillment queue, and the DLQ for the failed share. */
export function orderLines(d: Deployed, m: Measured, a: Assumptions): Line[] {
  const perBatch = 1 / a.batchFill;
  const accepted = 1 - a.rejectedShare;
  const failing = accepted * (1 - d.fulfillmentSuccessRate);
  const succeeding = accepted - failing;
  const orderBytes = 260 + 60 * a.itemsPerOrder;
  // A failing order is received maxReceiveCount times; the last attempt dead-letters it itself.
  const attempts = succeeding + failing * d.maxReceiveCount;
  const transitions = accepted * d.transitionsAccepted + a.rejectedShare * d.transitionsRejected;
  const workflow: Line[] =
    d.workflowType === "STANDARD"
      ? [{ service: "Step Functions", what: "STANDARD state transitions", quantity: transitions, price: "stepFunctionsStandardTransition", basis: `components/orders/workflow-definition.ts: ${d.transitionsAccepted} states on the accepted path, ${d.transitionsRejected} on the rejected one` }]
      : [
          { service: "Step Functions", what: "EXPRESS executions", quantity: 1, price: "stepFunctionsExpressRequest", basis: "one execution per order" },
          {
            service: "Step Functions",
            what: "EXPRESS duration (GB-s)",
            quantity: (64 / 1024) * Math.ceil((2 * ((m.warmMs["orders-store"] ?? 3) + a.awsCallMs) + transitions * 20) / 100) / 10,
            price: "stepFunctionsExpressGbSecond",
            basis: "64 MB, two Lambda tasks and ~20 ms per state (assumption), rounded up to 100 ms",
          },
        ];
  const invocations = 1 + a.getsPerOrder;
  return [
    { service: "API Gateway", what: "REST calls", quantity: invocations, price: "apiGatewayRestRequest", basis: `one POST and ${a.getsPerOrder} GET per order (assumption)` },
    ...lambda("orders-api", invocations, invocations, 1 + a.idempotencyShare / invocations, d, m, a, "one invocation per call"),
    ...workflow,
    ...lambda("orders-validate", 1, 0, 0, d, m, a, "the Validate task"),
    ...lambda("orders-store", 1, 1, 1, d, m, a, "StorePending or StoreRejected"),
    {
      service: "SQS",
      what: "standard requests: send (by the workflow), receive, delete, visibility, dead-letter",
      quantity: accepted + attempts * perBatch + accepted * perBatch + failing * (d.maxReceiveCount - 1) + failing * (1 + 2 * perBatch),
      price: "sqsStandardRequest",
      basis: "SendToFulfillment; a receive per attempt; a delete per message done; ChangeMessageVisibilityBatch per failed attempt (sqs-handler backoff); the failing order's SendMessage to the DLQ, its receive and delete there",
    },
    ...lambda("orders-fulfillment", attempts * perBatch, attempts, 1 + succeeding / Math.max(attempts, 1e-9), d, m, a, "one invocation per batch, each attempt of a failing order again"),
    ...lambda("orders-dlq", failing * perBatch, failing, 3, d, m, a, "the failed share, once"),
    {
      service: "DynamoDB",
      what: "reads (RRU)",
      quantity: a.getsPerOrder + attempts + failing,
      price: "dynamodbReadRequestUnit",
      basis: "GET: GetItem; fulfillment: GetItem per attempt; DLQ: GetItem (all strongly consistent, < 4 KB)",
    },
    {
      service: "DynamoDB",
      what: "writes (WRU)",
      quantity: a.idempotencyShare + writeUnits(orderBytes) + succeeding * writeUnits(orderBytes) + failing * (writeUnits(orderBytes) + 1),
      price: "dynamodbWriteRequestUnit",
      basis: `idempotency PutItem; store PutItem (~${orderBytes} B); fulfillment UpdateItem; DLQ UpdateItem and failed row`,
    },
    { service: "X-Ray", what: "traces recorded", quantity: 1 + a.getsPerOrder, price: "xrayTraceRecorded", basis: "one trace per API call (the POST's spans the whole workflow)" },
    {
      service: "CloudWatch",
      what: "logs ingested (GB)",
      quantity:
        (invocations * (ACCESS_LOG_BYTES + PLATFORM_LOG_BYTES + LOG_LINE_BYTES) +
          EMF_LINE_BYTES +
          2 * transitions * SFN_EVENT_BYTES +
          2 * (PLATFORM_LOG_BYTES + LOG_LINE_BYTES) +
          attempts * (perBatch * PLATFORM_LOG_BYTES + LOG_LINE_BYTES) +
          (succeeding + failing) * 2 * EMF_LINE_BYTES) /
        GB,
      price: "cloudwatchLogsIngestedGb",
      basis: "access log and Lambda lines per call; Step Functions level ALL (two events per state); the tasks', fulfillment's and DLQ's lines (sizes assumed)",
    },
  ];
}

/** What the deployment costs a month whatever the volume. */
export function monthlyLines(d: Deployed, a: Assumptions): Line[] {
  const emptyReceives = (queues: number) => (queues * a.pollersPerQueue * SECONDS_PER_MONTH) / 20;
  return [
    { service: "KMS", what: "customer managed keys", quantity: d.kmsKeys, price: "kmsKeyMonth", basis: "aws:kms/key:Key resources of the program" },
    {
      service: "KMS",
      what: "data-key requests (one per resource and principal per reuse period)",
      quantity: (2 * d.kmsEncryptedInUse * SECONDS_PER_MONTH) / d.kmsReuseSeconds,
      price: "kmsRequest",
      basis: `${d.kmsEncryptedInUse} encrypted queues, topics and tables in use, a writer and a reader each, ${d.kmsReuseSeconds} s reuse (SQS documents it; assumed alike for the others)`,
    },
    { service: "SQS", what: "empty receives of idle FIFO queues", quantity: emptyReceives(d.polledFifoQueues), price: "sqsFifoRequest", basis: `${d.polledFifoQueues} queues x ${a.pollersPerQueue} pollers (assumption) x one 20 s long poll` },
    { service: "SQS", what: "empty receives of idle standard queues", quantity: emptyReceives(d.polledStandardQueues), price: "sqsStandardRequest", basis: `${d.polledStandardQueues} queues, as above` },
    { service: "CloudWatch", what: "alarms", quantity: d.alarms, price: "cloudwatchAlarmMonth", basis: "aws:cloudwatch/metricAlarm:MetricAlarm resources" },
    { service: "CloudWatch", what: "dashboards", quantity: d.dashboards, price: "cloudwatchDashboardMonth", basis: "aws:cloudwatch/dashboard:Dashboard resources" },
    { service: "CloudWatch", what: "EMF custom metrics", quantity: 22, price: "cloudwatchMetricMonth", basis: "functions/lib/metrics.ts: the metric names by dimension values each function emits (about 22 series)" },
  ];
}

/** The cost of one line, USD. */
export const lineCost = (line: Line, prices: PriceTable) => (line.quantity * prices.prices[line.price].usd) / prices.prices[line.price].per;

/** Cost per million units of a set of lines, USD. */
export const perMillion = (lines: Line[], prices: PriceTable) => lines.reduce((sum, line) => sum + lineCost(line, prices), 0) * 1_000_000;
