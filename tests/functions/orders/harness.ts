// The DOFS unit on one machine for tests, built from the program itself: the Pulumi program runs
// under the mock runtime with the local cloud's provisioners (tests/support/local-program.ts), so
// the tables, queues, state machine and the five order functions (their real bundles, each in its
// own Lambda-like Node process) are what the program declares: keys and indexes, redrive policies
// and visibility timeouts, each function's environment (links, settings, trigger settings) and its
// event source mapping (batch size, maximum concurrency), all pointing at the emulators. Tests call
// the functions directly and count what the mappings' pollers handle.
import { DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { bundleFunction } from "../../../components/lib/bundle";
import type { OrderWorkflowArgs } from "../../../components/orders/workflow-definition";
import { ordersApi } from "../../../functions/orders/api/definition";
import { handleFailedFulfillment } from "../../../functions/orders/dlq/definition";
import { fulfillOrder } from "../../../functions/orders/fulfillment/definition";
import type { FailedOrderRecord, OrderRecord } from "../../../functions/orders/schemas";
import { storeOrder } from "../../../functions/orders/store/definition";
import { validateOrder } from "../../../functions/orders/validate/definition";
import { TaskFailedError } from "../../../local/services/stepfunctions";
import type { Emulators } from "../../../local/emulators";
import type { ProgramRun } from "../../../runner/run-program";
import { FunctionError } from "../../../local/runtime/function-host";
import type { FunctionHost } from "../../../local/runtime/function-host";
import type { BatchOutcome } from "../../../local/runtime/sqs-poller";
import { deployProgram } from "../../support/local-program";
import type { DeployedFunction } from "../../support/local-program";

/**
 * Config the harness runs the program with unless a test overrides it: three receives before the
 * DLQ (a failing order is FAILED after 1 s + 2 s of backoff, not 15 s) and four concurrent
 * invocations per queue.
 */
export const HARNESS_CONFIG: Record<string, string> = { maxReceiveCount: "3", maxConcurrency: "4" };

export interface HarnessOptions {
  /**
   * Stack config overrides of the program run, like `pulumi config set` (e.g.
   * `{ fulfillmentSuccessRate: "0.7", maxReceiveCount: "3", maxConcurrency: "6" }`), on top of
   * `HARNESS_CONFIG` and the dev stack's own config.
   * @default {}
   */
  config?: Record<string, string>;
  /**
   * The fulfillment function's outcome overrides by customer id: its test hook, added to the
   * settings the program passes it (the deployed stack never sets it).
   * @default none
   */
  fulfillmentOverrides?: Record<string, "FULFILLED" | "FAILED">;
  /** Start the fulfillment and DLQ event source mappings. @default true */
  pollers?: boolean;
}

export interface Harness {
  emulators: Emulators;
  /** The program run: settings, resources as declared, outputs (with local addresses). */
  run: ProgramRun;
  names: { orders: string; failedOrders: string };
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
  /**
   * Runs a Lambda Task on the hosts, the function's errorType as the States error (the workflow
   * tests bind Tasks with it; executions on the emulator use the local cloud's own bindings).
   */
  invokeTask(functionArn: string, payload: unknown): Promise<{ Payload: unknown; StatusCode: number }>;
  /** Sends as the `sqs:sendMessage` integration does. */
  sendMessage(input: { QueueUrl: string; MessageBody: unknown }): Promise<{ MessageId: string; MD5OfMessageBody: string }>;
  workflowArgs: OrderWorkflowArgs;
  stop(): Promise<void>;
}

/** Starts everything; call `stop()` in `afterAll`. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const program = await deployProgram({
    config: { ...HARNESS_CONFIG, ...options.config },
    functionSettings: options.fulfillmentOverrides ? [{ definition: fulfillOrder, add: { fulfillmentOverrides: options.fulfillmentOverrides } }] : [],
    logLevel: process.env.ORDERS_TEST_LOG_LEVEL ?? "ERROR",
    // Output that is not a Powertools JSON line (a crash, a Node warning) is always shown.
    log: (line) => {
      if (process.env.ORDERS_TEST_LOG_LEVEL || !/^\[[^\]]+\] \{/.test(line)) console.log(line);
    },
  });
  const { emulators, run, clients } = program;
  const { sqs, sfn } = clients;
  const documents = DynamoDBDocumentClient.from(clients.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const outputs = run.outputs as { ordersTable: string; failedOrdersTable: string; stateMachineArn: string; fulfillmentQueueUrl: string; fulfillmentDlqUrl: string };

  const names = { orders: outputs.ordersTable, failedOrders: outputs.failedOrdersTable };
  // The DLQ handler's own dead letters go where the DLQ's redrive policy says.
  const dlqDeclared = run.resources.find((r) => r.type === "aws:sqs/queue:Queue" && r.state.url === outputs.fulfillmentDlqUrl);
  const dlqRedrive = JSON.parse(String(dlqDeclared?.inputs.redrivePolicy)) as { deadLetterTargetArn: string };
  const queues = { fulfillment: outputs.fulfillmentQueueUrl, dlq: outputs.fulfillmentDlqUrl, dlqFailures: program.queue(dlqRedrive.deadLetterTargetArn).url };

  const definitions = { api: ordersApi, validate: validateOrder, store: storeOrder, fulfillment: fulfillOrder, dlq: handleFailedFulfillment };
  const functions = Object.fromEntries(Object.entries(definitions).map(([key, d]) => [key, program.functionOf(d)])) as Record<keyof typeof definitions, DeployedFunction>;
  const hosts = Object.fromEntries(Object.entries(functions).map(([key, fn]) => [key, fn.host])) as Harness["hosts"];
  const bundleBytes = Object.fromEntries(Object.values(definitions).map((d) => [d.name, bundleFunction(d.name, d.entry).bytes]));
  const functionArns = { validate: functions.validate.arn, store: functions.store.arn };
  const workflowArgs: OrderWorkflowArgs = { validateFunctionArn: functionArns.validate, storeFunctionArn: functionArns.store, fulfillmentQueueUrl: queues.fulfillment };

  /** Runs a Lambda Task as the workflow-definition tests bind it (the function's errorType becomes the States error). */
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

  const handled: Harness["handled"] = { fulfillment: { received: 0, deleted: 0, failed: 0 }, dlq: { received: 0, deleted: 0, failed: 0 } };
  if (options.pollers ?? true) {
    for (const key of ["fulfillment", "dlq"] as const) {
      const counts = handled[key];
      program.startMapping(functions[key], (outcome: BatchOutcome) => {
        counts.received += outcome.received;
        counts.deleted += outcome.deleted;
        counts.failed += outcome.failed;
      });
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
    const [f, d, x] = await Promise.all([count(queues.fulfillment), count(queues.dlq), count(queues.dlqFailures)]);
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
    run,
    names,
    queues,
    stateMachineArn: outputs.stateMachineArn,
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
    stop: () => program.stop(),
  };
}

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
