// The DOFS unit on one machine for tests: dynalite, fauxqs and the Step Functions emulator on
// 127.0.0.1, the five order functions' real bundles each in its own Lambda-like Node process with
// its own environment, the workflow definition from components/orders/workflow-definition.ts, and the event
// source mappings of the fulfillment queue and its DLQ.
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetCommand, DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { bundleFunction } from "../../../components/lib/bundle";
import { orderWorkflowDefinition } from "../../../components/orders/workflow-definition";
import type { OrderWorkflowArgs } from "../../../components/orders/workflow-definition";
import { ordersApi } from "../../../functions/orders/api/definition";
import { handleFailedFulfillment } from "../../../functions/orders/dlq/definition";
import { fulfillOrder } from "../../../functions/orders/fulfillment/definition";
import type { FailedOrderRecord, OrderRecord } from "../../../functions/orders/schemas";
import { storeOrder } from "../../../functions/orders/store/definition";
import { validateOrder } from "../../../functions/orders/validate/definition";
import { awsClientConfig, startEmulators } from "../../../local/emulators";
import type { Emulators } from "../../../local/emulators";
import { FunctionError, FunctionHost } from "../../../local/runtime/function-host";
import { startSqsPoller } from "../../../local/runtime/sqs-poller";
import type { BatchOutcome, SqsPoller } from "../../../local/runtime/sqs-poller";
import { TaskFailedError } from "../../../local/services/stepfunctions";

export const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const PREFIX = "dofs-test";

export interface HarnessOptions {
  /** Fulfillment settings of the fulfillment function. @default { fulfillmentSuccessRate: 0.7 } */
  fulfillmentSettings?: { fulfillmentSuccessRate: number; fulfillmentOverrides?: Record<string, "FULFILLED" | "FAILED"> };
  /** The queues' maxReceiveCount (and the SQS runtime's). @default 3 */
  maxReceiveCount?: number;
  /** Start the fulfillment and DLQ pollers. @default true */
  pollers?: boolean;
  /** Concurrent environments per function. @default 4 */
  concurrency?: number;
}

export interface Harness {
  emulators: Emulators;
  names: { orders: string; failedOrders: string; idempotency: string };
  queues: { fulfillment: string; dlq: string; dlqFailures: string };
  stateMachineArn: string;
  /** Function ARNs the workflow invokes. */
  functionArns: { validate: string; store: string };
  hosts: Record<"api" | "validate" | "store" | "fulfillment" | "dlq", FunctionHost>;
  /** Bundle size of each function, in bytes. */
  bundleBytes: Record<string, number>;
  documents: DynamoDBDocumentClient;
  sqs: SQSClient;
  sfn: SFNClient;
  /** Calls the API function as API Gateway's proxy integration would. */
  request(method: "GET" | "POST", path: string, options?: { body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }>;
  getOrder(orderId: string): Promise<OrderRecord | undefined>;
  failedRows(): Promise<FailedOrderRecord[]>;
  /**
   * Messages each poller has finished with (`onBatch`): `deleted` were handled (or forwarded by the
   * handler) and deleted, `failed` went back to the queue. Zero without pollers.
   */
  handled: Record<"fulfillment" | "dlq", { received: number; deleted: number; failed: number }>;
  /**
   * The queues' counts (GetQueueAttributes): visible, in flight (received, not yet deleted or back)
   * and delayed messages.
   */
  queueCounts(): Promise<Record<"fulfillment" | "dlq" | "dlqFailures", { visible: number; inFlight: number; delayed: number }>>;
  /**
   * Waits until the fulfillment queue and its DLQ hold no message, visible, in flight or delayed
   * (every message was handled and deleted, or moved on to the DLQ-failures queue), and, when given,
   * `until` holds too; throws after `timeoutMs`.
   */
  waitForQueuesDrained(what: string, until?: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
  /** Waits until `predicate` holds, polling every 100 ms; throws with `what` after `timeoutMs`. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  /** Runs a Lambda Task as Step Functions' `lambda:invoke` does (tests of the workflow bind Tasks with it). */
  invokeTask(functionArn: string, payload: unknown): Promise<{ Payload: unknown; StatusCode: number }>;
  /** Sends as the `sqs:sendMessage` integration does. */
  sendMessage(input: { QueueUrl: string; MessageBody: unknown }): Promise<{ MessageId: string; MD5OfMessageBody: string }>;
  workflowArgs: OrderWorkflowArgs;
  stop(): Promise<void>;
}

/** Starts everything; call `stop()` in `afterAll`. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const emulators = await startEmulators({ region: REGION, timing: { retryIntervalMs: 0 } });
  const { endpoints } = emulators;
  const dynamo = new DynamoDBClient(awsClientConfig(endpoints.dynamodb, REGION));
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient(awsClientConfig(endpoints.sqs, REGION));
  const sfn = new SFNClient(awsClientConfig(endpoints.stepfunctions, REGION));

  const names = { orders: `${PREFIX}-orders`, failedOrders: `${PREFIX}-failed-orders`, idempotency: `${PREFIX}-idempotency` };
  await dynamo.send(new CreateTableCommand({
    TableName: names.orders,
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [{ AttributeName: "order_id", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "order_id", AttributeType: "S" }, { AttributeName: "customer_id", AttributeType: "S" }, { AttributeName: "created_at", AttributeType: "S" }],
    GlobalSecondaryIndexes: [{
      IndexName: "customer_id-created_at",
      KeySchema: [{ AttributeName: "customer_id", KeyType: "HASH" }, { AttributeName: "created_at", KeyType: "RANGE" }],
      Projection: { ProjectionType: "ALL" },
    }],
  }));
  for (const [table, key] of [[names.failedOrders, "order_id"], [names.idempotency, "idempotency_key"]] as const) {
    await dynamo.send(new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: key, KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: key, AttributeType: "S" }],
    }));
  }

  const createQueue = async (name: string, redriveTo?: string) => {
    const url = (await sqs.send(new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: "30",
        ...(redriveTo ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, redriveTo), maxReceiveCount }) } : {}),
      },
    }))).QueueUrl!;
    return url;
  };
  const dlqFailures = await createQueue(`${PREFIX}-fulfillment-dlq-failures`);
  const dlq = await createQueue(`${PREFIX}-fulfillment-dlq`, dlqFailures);
  const fulfillment = await createQueue(`${PREFIX}-fulfillment`, dlq);
  const queues = { fulfillment, dlq, dlqFailures };

  const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${PREFIX}-${name}`;
  const functionArns = { validate: fnArn(validateOrder.name), store: fnArn(storeOrder.name) };
  const workflowArgs: OrderWorkflowArgs = { validateFunctionArn: functionArns.validate, storeFunctionArn: functionArns.store, fulfillmentQueueUrl: fulfillment };
  const stateMachineArn = (await sfn.send(new CreateStateMachineCommand({
    name: `${PREFIX}-order-workflow`,
    definition: JSON.stringify(orderWorkflowDefinition(workflowArgs)),
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${PREFIX}-order-workflow`,
  }))).stateMachineArn!;

  const tableLink = (name: string) => JSON.stringify({ name, arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}` });
  const queueLink = async (url: string) => JSON.stringify({ url, arn: await queueArn(sqs, url) });
  const base = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SFN: endpoints.stepfunctions,
    POWERTOOLS_LOG_LEVEL: process.env.ORDERS_TEST_LOG_LEVEL ?? "ERROR",
    POWERTOOLS_METRICS_DISABLED: "true",
    NODE_OPTIONS: "--enable-source-maps",
  };
  const trigger = JSON.stringify({ maxReceiveCount });
  const environments = {
    api: { LINK_ORDERS: tableLink(names.orders), LINK_IDEMPOTENCY: tableLink(names.idempotency), LINK_WORKFLOW: JSON.stringify({ arn: stateMachineArn }), FUNCTION_SETTINGS: "{}" },
    validate: { FUNCTION_SETTINGS: "{}" },
    store: { LINK_ORDERS: tableLink(names.orders), LINK_FAILED_ORDERS: tableLink(names.failedOrders), FUNCTION_SETTINGS: "{}" },
    fulfillment: {
      LINK_ORDERS: tableLink(names.orders),
      LINK_SOURCE: await queueLink(fulfillment),
      LINK_DEAD_LETTER: await queueLink(dlq),
      FUNCTION_SETTINGS: JSON.stringify(options.fulfillmentSettings ?? { fulfillmentSuccessRate: 0.7 }),
      FUNCTION_TRIGGER: trigger,
    },
    dlq: {
      LINK_ORDERS: tableLink(names.orders),
      LINK_FAILED_ORDERS: tableLink(names.failedOrders),
      LINK_SOURCE: await queueLink(dlq),
      LINK_DEAD_LETTER: await queueLink(dlqFailures),
      FUNCTION_SETTINGS: "{}",
      FUNCTION_TRIGGER: trigger,
    },
  };
  const definitions = { api: ordersApi, validate: validateOrder, store: storeOrder, fulfillment: fulfillOrder, dlq: handleFailedFulfillment };
  const bundleBytes: Record<string, number> = {};
  const quiet = (line: string, stream: "stdout" | "stderr") => {
    if (stream === "stderr" || process.env.ORDERS_TEST_LOG_LEVEL) console.log(line);
  };
  const hosts = Object.fromEntries(
    (Object.keys(definitions) as (keyof typeof definitions)[]).map((key) => {
      const definition = definitions[key];
      const bundle = bundleFunction(definition.name, definition.entry);
      bundleBytes[definition.name] = bundle.bytes;
      return [key, new FunctionHost({
        name: `${PREFIX}-${definition.name}`,
        bundleDir: bundle.dir,
        environment: { ...base, ...environments[key] },
        concurrency: options.concurrency ?? 4,
        arn: fnArn(definition.name),
        onLog: quiet,
      })];
    }),
  ) as Harness["hosts"];

  const invokeTask = async (functionArn: string, payload: unknown) => {
    const host = functionArn === functionArns.validate ? hosts.validate : functionArn === functionArns.store ? hosts.store : undefined;
    if (!host) throw new TaskFailedError("Lambda.ResourceNotFoundException", `Function not found: ${functionArn}`);
    try {
      return { Payload: await host.invoke(payload), StatusCode: 200 };
    } catch (error) {
      // lambda:invoke reports a function error under the function's own error type.
      if (error instanceof FunctionError) throw new TaskFailedError(error.errorType, error.message);
      throw error;
    }
  };
  const sendMessage = async (input: { QueueUrl: string; MessageBody: unknown }) => {
    const body = typeof input.MessageBody === "string" ? input.MessageBody : JSON.stringify(input.MessageBody);
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: input.QueueUrl, MessageBody: body }));
    return { MessageId: sent.MessageId!, MD5OfMessageBody: sent.MD5OfMessageBody! };
  };
  emulators.stepFunctions.registerTaskHandler("arn:aws:states:::lambda:invoke", (input) => {
    const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
    return invokeTask(FunctionName, Payload);
  });
  emulators.stepFunctions.registerTaskHandler("arn:aws:states:::sqs:sendMessage", (input) => sendMessage(input as { QueueUrl: string; MessageBody: unknown }));

  const pollers: SqsPoller[] = [];
  const handled: Harness["handled"] = { fulfillment: { received: 0, deleted: 0, failed: 0 }, dlq: { received: 0, deleted: 0, failed: 0 } };
  if (options.pollers ?? true) {
    for (const [key, url, host] of [["fulfillment", fulfillment, hosts.fulfillment], ["dlq", dlq, hosts.dlq]] as const) {
      const counts = handled[key];
      const onBatch = (outcome: BatchOutcome) => {
        counts.received += outcome.received;
        counts.deleted += outcome.deleted;
        counts.failed += outcome.failed;
      };
      pollers.push(startSqsPoller({ queueUrl: url, eventSourceArn: await queueArn(sqs, url), sqsClient: sqs, host, region: REGION, batchSize: 10, maximumConcurrency: 4, onBatch, onError: () => undefined }));
    }
  }
  const queueCounts: Harness["queueCounts"] = async () => {
    const count = async (url: string) => {
      const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
      }));
      return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible), delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0) };
    };
    const [f, d, x] = await Promise.all([count(fulfillment), count(dlq), count(dlqFailures)]);
    return { fulfillment: f, dlq: d, dlqFailures: x };
  };
  const waitFor: Harness["waitFor"] = async (what, probe, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waitForQueuesDrained: Harness["waitForQueuesDrained"] = async (what, until, timeoutMs = 30_000) => {
    let last: Awaited<ReturnType<typeof queueCounts>> | undefined;
    try {
      await waitFor(what, async () => {
        last = await queueCounts();
        const empty = [last.fulfillment, last.dlq].every((q) => q.visible === 0 && q.inFlight === 0 && q.delayed === 0);
        return empty && (!until || (await until())) ? true : undefined;
      }, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; last queue counts ${JSON.stringify(last)}, handled ${JSON.stringify(handled)}`, { cause: error });
    }
  };

  const request: Harness["request"] = async (method, path, opts = {}) => {
    const orderPath = /^\/order\/([^/]*)$/.exec(path);
    const event = {
      httpMethod: method,
      resource: orderPath ? "/order/{id}" : path,
      path,
      pathParameters: orderPath ? { id: decodeURIComponent(orderPath[1]!) } : null,
      queryStringParameters: null,
      headers: { "Content-Type": "application/json", ...opts.headers },
      body: opts.rawBody ?? (opts.body === undefined ? null : JSON.stringify(opts.body)),
      isBase64Encoded: false,
      requestContext: { requestId: `req-${Math.random().toString(16).slice(2)}` },
    } as unknown as APIGatewayProxyEvent;
    const result = (await hosts.api.invoke(event)) as APIGatewayProxyResult;
    return { status: result.statusCode, body: JSON.parse(result.body) as Record<string, unknown>, headers: (result.headers ?? {}) as Record<string, string> };
  };

  return {
    emulators,
    names,
    queues,
    stateMachineArn,
    functionArns,
    hosts,
    bundleBytes,
    documents,
    sqs,
    sfn,
    request,
    workflowArgs,
    invokeTask,
    sendMessage,
    getOrder: async (orderId) => (await documents.send(new GetCommand({ TableName: names.orders, Key: { order_id: orderId }, ConsistentRead: true }))).Item as OrderRecord | undefined,
    failedRows: async () => ((await documents.send(new ScanCommand({ TableName: names.failedOrders, ConsistentRead: true }))).Items ?? []) as FailedOrderRecord[],
    handled,
    queueCounts,
    waitForQueuesDrained,
    waitFor,
    stop: async () => {
      await Promise.allSettled(pollers.map((p) => p.stop()));
      await Promise.allSettled(Object.values(hosts).map((h) => h.stop()));
      for (const client of [dynamo, sqs, sfn]) client.destroy();
      await emulators.stop();
    },
  };
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return attributes.Attributes!.QueueArn!;
}

/** The execution's status (the workflow of order `orderId`). */
/**
 * The final status of the order's execution, once it has one. The order's own status is written by
 * a state inside the execution, so the execution may still be RUNNING (leaving that state) when a
 * test has seen the order's final status: wait for it to end instead of reading it once.
 */
export async function executionStatus(harness: Harness, orderId: string): Promise<string | undefined> {
  const arn = `${harness.stateMachineArn.replace(":stateMachine:", ":execution:")}:${orderId}`;
  return harness.waitFor(`the execution of order ${orderId} to end`, async () => {
    const { status } = await harness.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    return status === "RUNNING" ? undefined : status;
  });
}
