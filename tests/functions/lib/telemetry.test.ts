/**
 * Trace propagation at the library level, with an in-memory exporter: a published transaction
 * (SNS publish → raw delivery to SQS → the SQS consumer runtime → its SDK calls → the dead-letter
 * queue → a DLQ consumer) and an order (API invocation → Step Functions input → task) each yield
 * one connected trace; so does an order through the real DOFS handlers (orders API → StartExecution
 * input → the workflow definition run with aws-local-stepfunctions, its Tasks bound to the real
 * validate/store handlers → the sqs:sendMessage body → the fulfillment runtime), with the order
 * metrics. The transaction publisher propagates with any SNS client. Also: redaction of every log
 * line and span of such a run, EMF metrics under the namespace, trace ids in the logs, and what a
 * message span records (a failure's type and text, the transaction type).
 */
import { createHash } from "node:crypto";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { StateMachine } from "aws-local-stepfunctions";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { WORKFLOW_STATES, orderWorkflowDefinition } from "../../../components/orders/workflow-definition";
import { documentClient } from "../../../functions/lib/aws/dynamodb";
import { sfnClient } from "../../../functions/lib/aws/sfn";
import { snsClient } from "../../../functions/lib/aws/sns";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import { defineFunction } from "../../../functions/lib/define";
import { link } from "../../../functions/lib/links";
import { METRIC, recordMessageOutcome, recordOrderCompleted } from "../../../functions/lib/metrics";
import { createLogger, createMetrics, redactText } from "../../../functions/lib/observability";
import { TransactionPublisher, toPublishRequest } from "../../../functions/transactions/publisher";
import { PermanentFailure, sqsHandler } from "../../../functions/lib/sqs-handler";
import { ATTR } from "../../../functions/lib/telemetry/attributes";
import { MAX_MESSAGE_ATTRIBUTES } from "../../../functions/lib/telemetry/constants";
import { traceApiInvocation, traceTaskInvocation, withInvocationSpan } from "../../../functions/lib/telemetry/invocation";
import { hasTracingMiddleware } from "../../../functions/lib/telemetry/middleware";
import { extractFromMessageAttributes, extractFromPayload, injectIntoMessageAttributes, injectIntoPayload } from "../../../functions/lib/telemetry/propagation";
import { setupTelemetry } from "../../../functions/lib/telemetry/provider";
import { withSpan } from "../../../functions/lib/telemetry/spans";

const exporter = new InMemorySpanExporter();
const ACCOUNT = "000123456789";
const ROUTING = "021000021";
const API_KEY = "k3y-SuperSecretApiKeyValue-123";

/** Every command sent through the shared clients, answered locally (no network). */
const sent: { command: string; input: Record<string, unknown> }[] = [];
/** Extra output fields for a command (e.g. a DynamoDB `Item`), set by a test. */
let respond: (command: string, input: Record<string, unknown>) => Record<string, unknown> | undefined = () => undefined;
function addStub(client: { middlewareStack: unknown }): void {
  (client.middlewareStack as { add: (m: unknown, o: unknown) => void }).add(
    (_next: unknown, context: { commandName: string }) => async (args: { input: Record<string, unknown> }) => {
      sent.push({ command: context.commandName, input: args.input });
      const body = args.input.MessageBody;
      const md5 = typeof body === "string" ? createHash("md5").update(body).digest("hex") : undefined;
      const extra = respond(context.commandName, args.input) ?? {};
      return { output: { $metadata: { httpStatusCode: 200, requestId: `req-${sent.length}` }, MessageId: `msg-${sent.length}`, MD5OfMessageBody: md5, ...extra }, response: {} };
    },
    { step: "finalizeRequest", priority: "high", name: "testStub", override: true },
  );
}

function captureStdout(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split("\n").filter(Boolean));
    return true;
  };
  const spies = [vi.spyOn(process.stdout, "write").mockImplementation(capture), vi.spyOn(process.stderr, "write").mockImplementation(capture)];
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) };
}

const lambdaContext = (name: string, requestId = "req-1") =>
  ({ awsRequestId: requestId, functionName: name, invokedFunctionArn: `arn:aws:lambda:us-east-2:123456789012:function:${name}`, getRemainingTimeInMillis: () => 30_000 }) as unknown as Context;

/** What SQS hands the consumer for a message SNS delivered raw (attribute names/values kept). */
function sqsRecord(queue: string, body: string, attributes: Record<string, { DataType?: string; StringValue?: string }>, id = "m-1"): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: String(Date.now() - 25),
      SenderId: "AIDA",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: "CUST-1",
      MessageDeduplicationId: id,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [k, { dataType: v.DataType ?? "String", stringValue: v.StringValue, stringListValues: [], binaryListValues: [] }]),
    ),
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-2:123456789012:${queue}`,
    awsRegion: "us-east-2",
  };
}

const Setup = z.object({
  transaction_id: z.string(),
  customer_id: z.string(),
  transaction_type: z.literal("bank_account_setup"),
  bank_account: z.object({ account_number: z.string(), routing_number: z.string() }),
});
const consumer = defineFunction({
  name: "bank-account-setup",
  description: "test consumer",
  entry: __filename,
  trigger: { kind: "sqs", fifo: true, message: Setup },
  links: { accounts: link.table("readWrite") },
  settings: z.object({}),
});
const dlqConsumer = defineFunction({
  name: "dlq-handler",
  description: "test DLQ consumer",
  entry: __filename,
  trigger: { kind: "sqs", fifo: true, message: z.object({ transaction_id: z.string() }).loose() },
  links: {},
  settings: z.object({}),
});

const spans = () => exporter.getFinishedSpans();
const byName = (name: string) => spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = byName(name);
  expect(found, `spans named ${name}: ${spans().map((s) => s.name).join(", ")}`).toHaveLength(1);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: "us-east-2",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    LINK_SOURCE: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/123456789012/source.fifo", arn: "arn:aws:sqs:us-east-2:123456789012:source.fifo" }),
    LINK_DEAD_LETTER: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/123456789012/source-dlq.fifo", arn: "arn:aws:sqs:us-east-2:123456789012:source-dlq.fifo" }),
    LINK_ACCOUNTS: JSON.stringify({ name: "accounts", arn: "arn:aws:dynamodb:us-east-2:123456789012:table/accounts" }),
    FUNCTION_TRIGGER: JSON.stringify({ maxReceiveCount: 3 }),
    POWERTOOLS_METRICS_NAMESPACE: "Test/Namespace",
  });
  setupTelemetry({ exporter, simple: true, serviceName: "test" });
  addStub(snsClient());
  addStub(sqsClient());
  addStub(documentClient());
  addStub(sfnClient());
});
beforeEach(() => {
  exporter.reset();
  sent.length = 0;
});
afterAll(() => vi.restoreAllMocks());

describe("message attributes", () => {
  it("inject adds traceparent inside a span, keeps the input untouched, and respects the 10-attribute limit", async () => {
    const base: Record<string, { DataType: string; StringValue: string }> = { transaction_type: { DataType: "String", StringValue: "payment" } };
    expect(injectIntoMessageAttributes(base)).toEqual(base); // no active span: nothing to carry
    await withSpan("publisher", {}, (span) => {
      const withTrace = injectIntoMessageAttributes(base);
      expect(withTrace.traceparent?.StringValue).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
      expect(base).not.toHaveProperty("traceparent");
      const full = Object.fromEntries(Array.from({ length: MAX_MESSAGE_ATTRIBUTES }, (_, i) => [`a${i}`, { DataType: "String", StringValue: "x" }]));
      expect(injectIntoMessageAttributes(full)).toBe(full);
      const extracted = trace.getSpanContext(extractFromMessageAttributes(withTrace)!);
      expect(extracted).toMatchObject({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, isRemote: true });
    });
  });

  it("extract reads both the SDK shape and the Lambda event shape, and ignores garbage", () => {
    const tp = "00-6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01";
    const carried = { traceId: "6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa", spanId: "bbbbbbbbbbbbbbbb", traceFlags: 1, isRemote: true };
    expect(trace.getSpanContext(extractFromMessageAttributes({ traceparent: { DataType: "String", StringValue: tp } })!)).toMatchObject(carried);
    expect(trace.getSpanContext(extractFromMessageAttributes({ traceparent: { dataType: "String", stringValue: tp } })!)).toMatchObject(carried);
    expect(extractFromMessageAttributes({ traceparent: { dataType: "String", stringValue: "nonsense" } })).toBeUndefined();
    expect(extractFromMessageAttributes(undefined)).toBeUndefined();
  });
});

describe("one transaction, one trace: publish → SNS → SQS → consumer → DLQ → DLQ consumer", () => {
  it("connects every span, with messaging and FaaS conventions, business ids, and redacts everything", async () => {
    const out = captureStdout();
    const tx = {
      transaction_id: "759a0edb-461d-4a3c-a2d5-384b570d4121",
      customer_id: "CUST-1",
      transaction_type: "bank_account_setup" as const,
      bank_account: { account_number: ACCOUNT, routing_number: ROUTING },
    };
    let failed = false;
    try {
      // 1. The publisher: the shared SNS client's PRODUCER span injects traceparent.
      await snsClient().send(
        new PublishCommand({
          TopicArn: "arn:aws:sns:us-east-2:123456789012:bus.fifo",
          Message: JSON.stringify(tx),
          MessageGroupId: tx.customer_id,
          MessageDeduplicationId: tx.transaction_id,
          MessageAttributes: { transaction_type: { DataType: "String", StringValue: tx.transaction_type } },
        }),
      );
      const published = sent.find((s) => s.command === "PublishCommand")!;
      const attributes = published.input.MessageAttributes as Record<string, { DataType: string; StringValue: string }>;
      expect(attributes.traceparent).toBeDefined();

      // 2. SNS delivers it raw to the SQS FIFO queue; the consumer runtime processes it.
      const handler = sqsHandler(consumer, async (message, { links, logger }) => {
        logger.info("Setting up the account", { transaction: message, headers: { "x-api-key": API_KEY }, note: `apiKey=${API_KEY}` });
        await documentClient().send(new PutCommand({ TableName: links.accounts.name, Item: { customer_id: message.customer_id } }));
        if (failed) throw new PermanentFailure(`bank refused account_number=${ACCOUNT}`);
      });
      const event: SQSEvent = { Records: [sqsRecord("source.fifo", published.input.Message as string, attributes)] };
      expect(await handler(event, lambdaContext("bank-account-setup"))).toEqual({ batchItemFailures: [] });

      // 3. A second delivery fails for good: dead-lettered, with this span's context.
      failed = true;
      exporter.reset();
      sent.length = 0;
      await snsClient().send(new PublishCommand({ TopicArn: "arn:aws:sns:us-east-2:123456789012:bus.fifo", Message: JSON.stringify(tx), MessageAttributes: {} }));
      const republished = sent[0]!.input.MessageAttributes as Record<string, { StringValue: string }>;
      await handler({ Records: [sqsRecord("source.fifo", JSON.stringify(tx), republished, "m-2")] }, lambdaContext("bank-account-setup", "req-2"));
      const toDlq = sent.find((s) => s.command === "SendMessageCommand")!;
      const dlqAttributes = toDlq.input.MessageAttributes as Record<string, { StringValue: string }>;
      expect(Object.keys(dlqAttributes).length).toBeLessThanOrEqual(MAX_MESSAGE_ATTRIBUTES);
      expect(dlqAttributes.failure_kind?.StringValue).toBe("permanent");

      // 4. The DLQ consumer continues the same trace.
      const dlqHandler = sqsHandler(dlqConsumer, async () => {});
      await dlqHandler({ Records: [sqsRecord("source-dlq.fifo", toDlq.input.MessageBody as string, dlqAttributes, "m-3")] }, lambdaContext("dlq-handler", "req-3"));
    } finally {
      out.restore();
    }

    const publish = one("SNS.Publish");
    const invocations = byName("bank-account-setup");
    const process = one("process source.fifo");
    const put = one("DynamoDB.PutItem");
    const sendToDlq = one("SQS.SendMessage");
    const dlqInvocation = one("dlq-handler");
    const dlqProcess = one("process source-dlq.fifo");
    const traceId = publish.spanContext().traceId;
    for (const span of spans()) expect(span.spanContext().traceId, span.name).toBe(traceId);
    expect(invocations).toHaveLength(1);
    const invocation = invocations[0]!;

    // Parentage: publish → invocation → process → (DynamoDB.Put, SQS.SendMessage) → DLQ invocation → DLQ process.
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(invocation)).toBe(publish.spanContext().spanId);
    expect(parentOf(process)).toBe(invocation.spanContext().spanId);
    expect(parentOf(put)).toBe(process.spanContext().spanId);
    expect(parentOf(sendToDlq)).toBe(process.spanContext().spanId);
    expect(parentOf(dlqInvocation)).toBe(sendToDlq.spanContext().spanId);
    expect(parentOf(dlqProcess)).toBe(dlqInvocation.spanContext().spanId);
    expect(invocation.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);

    // Conventions and business ids.
    expect(invocation.kind).toBe(SpanKind.CONSUMER);
    expect(invocation.attributes).toMatchObject({
      [ATTR.faasTrigger]: "pubsub",
      [ATTR.faasInvocationId]: "req-2",
      [ATTR.cloudProvider]: "aws",
      [ATTR.cloudRegion]: "us-east-2",
      [ATTR.messagingSystem]: "aws_sqs",
    });
    expect(typeof invocation.attributes[ATTR.faasColdstart]).toBe("boolean");
    expect(process.attributes).toMatchObject({
      [ATTR.messagingSystem]: "aws_sqs",
      [ATTR.messagingDestination]: "source.fifo",
      [ATTR.messagingMessageId]: "m-2",
      [ATTR.transactionId]: tx.transaction_id,
      [ATTR.customerId]: "CUST-1",
      [ATTR.transactionType]: "bank_account_setup",
    });
    expect(publish.attributes[ATTR.transactionId]).toBe(tx.transaction_id);
    expect(process.status.code).toBe(SpanStatusCode.ERROR);
    expect(put.attributes).toMatchObject({ [ATTR.rpcSystem]: "aws-api", [ATTR.rpcService]: "DynamoDB", [ATTR.awsRequestId]: expect.any(String) });
    expect(sendToDlq.kind).toBe(SpanKind.PRODUCER);
    expect(dlqProcess.attributes[ATTR.transactionId]).toBe(tx.transaction_id);

    // Redaction: no raw sensitive value in any log line or span.
    const logLines = out.lines.filter((l) => l.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(3);
    const spanText = JSON.stringify(spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })));
    for (const secret of [ACCOUNT, ROUTING, API_KEY]) {
      for (const line of logLines) expect(line, `log line leaks ${secret}`).not.toContain(secret);
      expect(spanText).not.toContain(secret);
    }
    const setupLog = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).findLast((l) => l.message === "Setting up the account")!;
    expect(setupLog).toMatchObject({
      transaction_id: tx.transaction_id,
      customer_id: "CUST-1",
      cold_start: expect.any(Boolean),
      trace_id: traceId,
      message: "Setting up the account",
    });
    expect(JSON.stringify(setupLog)).toContain("[REDACTED]");

    // Metrics of the run: EMF under the configured namespace, per transaction type.
    const emf = out.lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const processed = emf.find((m) => METRIC.transactionsProcessed in m)!;
    expect(processed).toMatchObject({ transaction_type: "bank_account_setup", service: "bank-account-setup" });
    expect((processed._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace).toBe("Test/Namespace");
    const latency = emf.find((m) => METRIC.transactionLatency in m)!;
    expect(latency[METRIC.transactionLatency]).toBeGreaterThanOrEqual(0);
    expect(latency.transaction_type).toBe("bank_account_setup");
    expect(emf.some((m) => m[METRIC.transactionsDeadLettered] === 1)).toBe(true);
  });

  it("makes the invocation a root linked to each record when a batch spans several traces", async () => {
    const handler = sqsHandler(dlqConsumer, async () => {});
    const attrs: Record<string, Record<string, { StringValue: string }>> = {};
    for (const id of ["a", "b"]) {
      await withSpan(`publisher-${id}`, {}, () => {
        attrs[id] = injectIntoMessageAttributes({}) as Record<string, { StringValue: string }>;
      });
    }
    const out = captureStdout();
    try {
      await handler(
        { Records: [sqsRecord("q.fifo", '{"transaction_id":"a"}', attrs.a!, "a"), sqsRecord("q.fifo", '{"transaction_id":"b"}', attrs.b!, "b")] },
        lambdaContext("dlq-handler"),
      );
    } finally {
      out.restore();
    }
    const invocation = one("dlq-handler");
    expect(invocation.parentSpanContext).toBeUndefined();
    expect(invocation.links).toHaveLength(2);
    for (const id of ["a", "b"]) {
      const publisher = one(`publisher-${id}`);
      const processing = spans().find((s) => s.name === "process q.fifo" && s.attributes[ATTR.messagingMessageId] === id)!;
      expect(processing.spanContext().traceId).toBe(publisher.spanContext().traceId);
      expect(parentOf(processing)).toBe(publisher.spanContext().spanId);
      expect(processing.links[0]!.context.spanId).toBe(invocation.spanContext().spanId);
    }
  });
});

describe("the message span", () => {
  /** Runs `handler` on `records` with its log lines kept out of the test's output. */
  const quietly = async (handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>, records: SQSRecord[]) => {
    const out = captureStdout();
    try {
      return await handler({ Records: records }, lambdaContext("span-test"));
    } finally {
      out.restore();
    }
  };
  const exceptionOf = (span: ReadableSpan) => span.events.filter((e) => e.name === "exception").map((e) => [e.attributes?.["exception.type"], e.attributes?.["exception.message"]]);

  it("records a PermanentFailure under its own type", async () => {
    const handler = sqsHandler(dlqConsumer, async () => {
      throw new PermanentFailure("bank refused for good");
    });
    expect(await quietly(handler, [sqsRecord("q.fifo", '{"transaction_id":"t-1"}', {}, "p")])).toEqual({ batchItemFailures: [] });
    const span = one("process q.fifo");
    expect(exceptionOf(span)).toEqual([["PermanentFailure", "bank refused for good"]]);
    expect(span.attributes[ATTR.errorType]).toBe("PermanentFailure");
  });

  it("names each issue of an invalid message, a nested field by its dotted path, on the span and in the dead-letter reason", async () => {
    const handler = sqsHandler(consumer, async () => {});
    const body = { transaction_id: "t-2", customer_id: "CUST-2", transaction_type: "bank_account_setup", bank_account: { account_number: "000000001", routing_number: 21000021 } };
    expect(await quietly(handler, [sqsRecord("source.fifo", JSON.stringify(body), {}, "v")])).toEqual({ batchItemFailures: [] });
    const reason = "bank_account.routing_number: Invalid input: expected string, received number";
    expect(exceptionOf(one("process source.fifo"))).toEqual([["Error", `invalid message: ${reason}`]]);
    const dead = sent.find((s) => s.command === "SendMessageCommand")!.input.MessageAttributes as Record<string, { StringValue: string }>;
    expect(dead.failure_reason!.StringValue).toBe(reason);
  });

  it("carries the body's transaction type, else the record's transaction_type attribute", async () => {
    const handler = sqsHandler(dlqConsumer, async () => {});
    await quietly(handler, [
      sqsRecord("q.fifo", '{"transaction_id":"t-3"}', { transaction_type: { StringValue: "payment" } }, "from-attribute"),
      sqsRecord("q.fifo", '{"transaction_id":"t-4","transaction_type":"bank_account_setup"}', { transaction_type: { StringValue: "payment" } }, "from-body"),
    ]);
    const typeOf = (id: string) => spans().find((s) => s.name === "process q.fifo" && s.attributes[ATTR.messagingMessageId] === id)?.attributes[ATTR.transactionType];
    expect(typeOf("from-attribute")).toBe("payment");
    expect(typeOf("from-body")).toBe("bank_account_setup");
  });
});

describe("the transaction publisher propagates the trace whichever SNS client it is given", () => {
  const topic = "arn:aws:sns:us-east-2:123456789012:bus.fifo";
  const payment = { transaction_id: "c05e6e0c-6feb-4891-8940-46f2f85e0df1", customer_id: "CUST-1", transaction_type: "payment", timestamp: "2025-08-29T17:30:01.000Z", amount: 250.75, currency: "USD" };
  const traceparentOf = (index = 0) => (sent.filter((s) => s.command.startsWith("Publish"))[index]!.input.MessageAttributes as Record<string, { StringValue: string }>).traceparent?.StringValue;

  it("a client of its own (the tx CLI's): the PRODUCER publish span's context is injected by toPublishRequest", async () => {
    const own = new SNSClient({ region: "us-east-2", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    addStub(own);
    expect(hasTracingMiddleware(own)).toBe(false);
    const published = await new TransactionPublisher(topic, own).publish(payment);
    expect(published.transactionId).toBe(payment.transaction_id);
    const span = one("publish bus.fifo");
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.attributes).toMatchObject({ [ATTR.messagingSystem]: "aws_sns", [ATTR.transactionId]: payment.transaction_id, [ATTR.customerId]: "CUST-1" });
    expect(traceparentOf()).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(byName("SNS.Publish")).toEqual([]); // the client has no tracing middleware

    await new TransactionPublisher(topic, own).publishAll([payment, { ...payment, transaction_id: "759a0edb-461d-4a3c-a2d5-384b570d4121" }]);
    const entries = sent.find((s) => s.command === "PublishBatchCommand")!.input.PublishBatchRequestEntries as { MessageAttributes: Record<string, { StringValue: string }> }[];
    const batchSpan = byName("publish bus.fifo")[1]!;
    for (const entry of entries) expect(entry.MessageAttributes.traceparent?.StringValue).toContain(batchSpan.spanContext().spanId);
  });

  it("the shared client: its own SNS.Publish span injects (child of the publish span); the publisher adds nothing", async () => {
    expect(hasTracingMiddleware(snsClient())).toBe(true);
    await new TransactionPublisher(topic).publish(payment);
    const outer = one("publish bus.fifo");
    const publish = one("SNS.Publish");
    expect(outer.kind).toBe(SpanKind.INTERNAL);
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(publish)).toBe(outer.spanContext().spanId);
    expect(traceparentOf()).toBe(`00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`);
  });

  it("toPublishRequest injects only when asked and inside a span, keeping the routing attributes", async () => {
    expect(toPublishRequest(payment).MessageAttributes).not.toHaveProperty("traceparent");
    expect(toPublishRequest(payment, { injectTraceContext: true }).MessageAttributes).not.toHaveProperty("traceparent"); // no active span
    await withSpan("caller", {}, (span) => {
      const attributes = toPublishRequest(payment, { injectTraceContext: true }).MessageAttributes;
      expect(Object.keys(attributes)).toEqual(["transaction_type", "customer_id", "message_group_id", "traceparent"]);
      expect(attributes.traceparent?.StringValue).toContain(span.spanContext().spanId);
      expect(toPublishRequest(payment).MessageAttributes).not.toHaveProperty("traceparent");
    });
  });
});

describe("one order, one trace: API → Step Functions input (_trace) → task", () => {
  it("carries the context in the JSON payload", async () => {
    let input = "";
    await withInvocationSpan(
      { name: "POST /order", trigger: "http", context: lambdaContext("api"), attributes: { [ATTR.httpMethod]: "POST", [ATTR.httpRoute]: "/order" } },
      async () => {
        input = JSON.stringify(injectIntoPayload({ order_id: "ord-1", customer_id: "CUST-1" }));
      },
    );
    const payload = JSON.parse(input) as Record<string, unknown>;
    expect(payload._trace).toMatchObject({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });
    await withInvocationSpan({ name: "validate-order", trigger: "other", context: lambdaContext("validate"), parent: extractFromPayload(payload), attributes: { [ATTR.orderId]: "ord-1" } }, async () => {
      await withSpan("validate", {}, () => undefined);
    });
    const api = one("POST /order");
    const task = one("validate-order");
    expect(api.kind).toBe(SpanKind.SERVER);
    expect(api.attributes[ATTR.faasTrigger]).toBe("http");
    expect(parentOf(task)).toBe(api.spanContext().spanId);
    expect(task.spanContext().traceId).toBe(api.spanContext().traceId);
    expect(parentOf(one("validate"))).toBe(task.spanContext().spanId);
    expect(extractFromPayload({ order_id: "x" })).toBeUndefined();
  });

  it("traces API and task invocations in one call each: headers → API span → _trace → task span", async () => {
    let input: Record<string, unknown> = {};
    const caller = await withSpan("client", { kind: SpanKind.CLIENT }, (span) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    const answer = await traceApiInvocation(
      { httpMethod: "POST", resource: "/order", path: "/order", headers: { TraceParent: caller } },
      lambdaContext("api"),
      async () => {
        input = injectIntoPayload({ order_id: "ord-2", customer_id: "CUST-2" });
        return { statusCode: 202, body: "{}" };
      },
    );
    expect(answer.statusCode).toBe(202);
    await traceTaskInvocation("store-order", input, lambdaContext("store"), async () => "stored");
    await traceApiInvocation({ httpMethod: "GET", resource: "/order/{id}", headers: null }, lambdaContext("api"), async () => ({ statusCode: 503 }));
    const api = one("POST /order");
    const task = one("store-order");
    expect(api.parentSpanContext?.spanId).toBe(caller.split("-")[2]);
    expect(api.attributes).toMatchObject({ [ATTR.httpMethod]: "POST", [ATTR.httpRoute]: "/order", [ATTR.httpStatus]: 202, [ATTR.faasTrigger]: "http" });
    expect(parentOf(task)).toBe(api.spanContext().spanId);
    expect(task.attributes).toMatchObject({ [ATTR.orderId]: "ord-2", [ATTR.customerId]: "CUST-2", [ATTR.faasTrigger]: "other" });
    const failed = one("GET /order/{id}");
    expect(failed.parentSpanContext).toBeUndefined();
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("records a thrown error on the invocation span and rethrows it", async () => {
    await expect(withInvocationSpan({ name: "boom", trigger: "other", context: lambdaContext("boom") }, () => Promise.reject(new Error("kaput")))).rejects.toThrow("kaput");
    const span = one("boom");
    expect(span.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "kaput" });
    expect(span.events[0]!.name).toBe("exception");
  });

  it("gives trace ids the X-Ray layout (epoch seconds first)", async () => {
    await withSpan("id", {}, () => undefined);
    const seconds = parseInt(one("id").spanContext().traceId.slice(0, 8), 16);
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe("one order, one trace through the DOFS runtimes: API → StartExecution → workflow Tasks → sqs:sendMessage → fulfillment", () => {
  const ENV = {
    LINK_ORDERS: JSON.stringify({ name: "orders", arn: "arn:aws:dynamodb:us-east-2:123456789012:table/orders" }),
    LINK_IDEMPOTENCY: JSON.stringify({ name: "idempotency", arn: "arn:aws:dynamodb:us-east-2:123456789012:table/idempotency" }),
    LINK_FAILED_ORDERS: JSON.stringify({ name: "failed-orders", arn: "arn:aws:dynamodb:us-east-2:123456789012:table/failed-orders" }),
    LINK_WORKFLOW: JSON.stringify({ arn: "arn:aws:states:us-east-2:123456789012:stateMachine:dofs-test-order-workflow" }),
    FUNCTION_SETTINGS: JSON.stringify({ fulfillmentSuccessRate: 1, corsAllowOrigins: [] }),
  };
  const saved: Record<string, string | undefined> = {};
  type Handler<E, R> = (event: E, context: Context) => Promise<R>;
  let api: Handler<APIGatewayProxyEvent, APIGatewayProxyResult>;
  let validate: Handler<unknown, unknown>;
  let store: Handler<unknown, unknown>;
  let fulfillment: Handler<SQSEvent, SQSBatchResponse>;

  beforeAll(async () => {
    for (const [key, value] of Object.entries(ENV)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
    // The real handler modules (they resolve their links when loaded).
    api = (await import("../../../functions/orders/api/handler")).handler;
    validate = (await import("../../../functions/orders/validate/handler")).handler;
    store = (await import("../../../functions/orders/store/handler")).handler;
    fulfillment = (await import("../../../functions/orders/fulfillment/handler")).handler;
  });
  afterAll(() => {
    respond = () => undefined;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it("connects every span of the order, and counts it placed and completed", async () => {
    // The orders table, as far as the handlers use it: the store step's put (marshalled by the time
    // the stub sees it), the fulfillment's get (answered as the document client returns it).
    const orders = new Map<string, Record<string, string>>();
    respond = (command, input) => {
      if (input.TableName !== "orders") return undefined;
      const item = input.Item as Record<string, { S?: string }> | undefined;
      if (command === "PutItemCommand" && item) orders.set(item.order_id!.S!, Object.fromEntries(Object.entries(item).flatMap(([k, v]) => (v.S ? [[k, v.S]] : []))));
      if (command === "GetItemCommand") return { Item: orders.get((input.Key as Record<string, { S: string }>).order_id!.S) };
      return undefined;
    };
    const out = captureStdout();
    let answer: APIGatewayProxyResult;
    let message = "";
    try {
      // 1. POST /order: the API span; the execution input carries its context in `_trace`.
      answer = await api(
        {
          httpMethod: "POST",
          resource: "/order",
          path: "/order",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ customer_id: "CUST-9", items: [{ product_id: "prod-widget", quantity: 2 }] }),
          requestContext: { requestId: "api-req-1" },
        } as unknown as APIGatewayProxyEvent,
        lambdaContext("orders-api", "api-1"),
      );
      expect(answer.statusCode).toBe(200);
      const start = sent.find((s) => s.command === "StartExecutionCommand")!;
      const input = JSON.parse(start.input.input as string) as Record<string, unknown> & { _trace: { traceparent: string } };
      expect(input._trace.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

      // 2. The workflow definition, run with its Lambda Tasks bound to the real task handlers in
      //    this process and the sqs:sendMessage Task capturing the message it would send.
      const S = WORKFLOW_STATES;
      const definition = orderWorkflowDefinition({
        validateFunctionArn: "arn:aws:lambda:us-east-2:123456789012:function:orders-validate",
        storeFunctionArn: "arn:aws:lambda:us-east-2:123456789012:function:orders-store",
        fulfillmentQueueUrl: "https://sqs.us-east-2.amazonaws.com/123456789012/dofs-test-fulfillment",
      });
      const lambda = (handler: Handler<unknown, unknown>, name: string) => async (task: unknown) =>
        ({ Payload: await handler((task as { Payload: unknown }).Payload, lambdaContext(name, `${name}-1`)) }) as never;
      const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
      const execution = machine.run(input as never, {
        overrides: {
          taskResourceLocalHandlers: {
            [S.validate]: lambda(validate, "orders-validate"),
            [S.storePending]: lambda(store, "orders-store"),
            [S.send]: async (task: unknown) => {
              message = JSON.stringify((task as { MessageBody: unknown }).MessageBody);
              return { MessageId: "fulfil-1" };
            },
          },
        },
      });
      await execution.result;

      // 3. The fulfillment queue delivers the message; the fulfillment runtime processes it.
      const record = sqsRecord("dofs-test-fulfillment", message, {}, "fulfil-1");
      expect(await fulfillment({ Records: [record] }, lambdaContext("orders-fulfillment", "ful-1"))).toEqual({ batchItemFailures: [] });
    } finally {
      out.restore();
    }

    const apiSpan = one("POST /order");
    const startSpan = one("SFN.StartExecution");
    const validateSpan = one("orders-validate");
    const storeSpan = one("orders-store");
    const putSpan = byName("DynamoDB.PutItem").find((s) => parentOf(s) === storeSpan.spanContext().spanId);
    const fulfillmentSpan = one("orders-fulfillment");
    const processSpan = one("process dofs-test-fulfillment");
    const traceId = apiSpan.spanContext().traceId;
    for (const span of spans()) expect(span.spanContext().traceId, span.name).toBe(traceId);

    // Parentage: API → (StartExecution, validate, store → PutItem, fulfillment → process → UpdateItem).
    expect(parentOf(startSpan)).toBe(apiSpan.spanContext().spanId);
    expect(parentOf(validateSpan)).toBe(apiSpan.spanContext().spanId);
    expect(parentOf(storeSpan)).toBe(apiSpan.spanContext().spanId);
    expect(putSpan).toBeDefined();
    expect(parentOf(fulfillmentSpan)).toBe(apiSpan.spanContext().spanId);
    expect(parentOf(processSpan)).toBe(fulfillmentSpan.spanContext().spanId);
    expect(parentOf(one("DynamoDB.UpdateItem"))).toBe(processSpan.spanContext().spanId);

    // Business ids on every invocation, FaaS triggers, the message body's `_trace`.
    const orderId = (JSON.parse(answer!.body) as { order_id: string }).order_id;
    for (const span of [apiSpan, validateSpan, storeSpan, processSpan]) expect(span.attributes, span.name).toMatchObject({ [ATTR.orderId]: orderId, [ATTR.customerId]: "CUST-9" });
    expect(apiSpan.attributes).toMatchObject({ [ATTR.faasTrigger]: "http", [ATTR.httpStatus]: 200 });
    expect(validateSpan.attributes[ATTR.faasTrigger]).toBe("other");
    expect(fulfillmentSpan.attributes[ATTR.faasTrigger]).toBe("pubsub");
    expect(JSON.parse(message)).toMatchObject({ order_id: orderId, customer_id: "CUST-9", _trace: { traceparent: expect.stringContaining(apiSpan.spanContext().spanId) } });
    expect(orders.get(orderId)).toMatchObject({ status: "PENDING", customer_id: "CUST-9" });

    // Metrics: placed by the API, completed (FULFILLED, with its latency) by the fulfillment.
    const emf = out.lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.filter((m) => METRIC.ordersPlaced in m)).toEqual([expect.objectContaining({ [METRIC.ordersPlaced]: 1, service: "orders-api" })]);
    expect(emf.filter((m) => METRIC.ordersCompleted in m)).toEqual([expect.objectContaining({ [METRIC.ordersCompleted]: 1, status: "FULFILLED", service: "orders-fulfillment" })]);
    expect(emf.find((m) => METRIC.orderLatency in m)?.[METRIC.orderLatency]).toBeGreaterThanOrEqual(0);
  });
});

describe("logs", () => {
  it("redacts account numbers, routing numbers and API keys at any depth, in any key spelling, and inside text", () => {
    const out = captureStdout();
    try {
      const logger = createLogger("redaction");
      logger.info("nested", {
        customer: { bank_account: { account_number: ACCOUNT, routing_number: ROUTING, accountNumber: ACCOUNT }, list: [{ RoutingNumber: ROUTING }] },
        apiKey: API_KEY,
        API_KEY: API_KEY,
        headers: { "X-Api-Key": API_KEY },
        raw: JSON.stringify({ account_number: ACCOUNT, routing_number: ROUTING }),
      });
      logger.error("failed", new Error(`could not verify routing_number: ${ROUTING}`));
    } finally {
      out.restore();
    }
    expect(out.lines).toHaveLength(2);
    for (const line of out.lines) for (const secret of [ACCOUNT, ROUTING, API_KEY]) expect(line).not.toContain(secret);
    const entry = JSON.parse(out.lines[0]!) as { customer: { bank_account: Record<string, string> } };
    expect(entry.customer.bank_account.account_number).toBe("[REDACTED]");
    expect(redactText(`{"account_number":"${ACCOUNT}","amount":5}`)).toBe('{"account_number":"[REDACTED]","amount":5}');
    expect(redactText("payment of 250.75 USD")).toBe("payment of 250.75 USD");
    expect(redactText("bank_account.routing_number: fails the ABA routing number checksum")).toBe("bank_account.routing_number: fails the ABA routing number checksum");
    expect(redactText(`x-api-key=${API_KEY}&a=1`)).toBe("x-api-key=[REDACTED]&a=1");
  });
});

describe("metrics", () => {
  it("emit EMF under the namespace from POWERTOOLS_METRICS_NAMESPACE, with the seed's namespace by default", () => {
    const out = captureStdout();
    const saved = process.env.POWERTOOLS_METRICS_NAMESPACE;
    try {
      recordMessageOutcome(createMetrics("payment-processing"), "failed", { transactionType: "payment" });
      recordOrderCompleted(createMetrics("fulfillment"), "FULFILLED", 1200);
      delete process.env.POWERTOOLS_METRICS_NAMESPACE;
      recordMessageOutcome(createMetrics("other"), "processed", { latencyMs: 10 });
    } finally {
      process.env.POWERTOOLS_METRICS_NAMESPACE = saved;
      out.restore();
    }
    const emf = out.lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } });
    expect(emf).toHaveLength(5);
    expect(emf[0]).toMatchObject({ TransactionsFailed: 1, transaction_type: "payment", service: "payment-processing" });
    expect(emf[0]!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: "Test/Namespace", Dimensions: [["service", "transaction_type"]] });
    expect(emf[1]).toMatchObject({ OrdersCompleted: 1, status: "FULFILLED" });
    expect(emf[2]).toMatchObject({ OrderProcessingLatency: 1200, status: "FULFILLED" });
    expect(emf[3]).toMatchObject({ MessagesProcessed: 1 });
    expect(emf[4]).toMatchObject({ MessageProcessingLatency: 10 });
    expect(emf[3]!._aws.CloudWatchMetrics[0]!.Namespace).toBe("OTEL/UtilityCustomer/Enhanced");
  });
});

