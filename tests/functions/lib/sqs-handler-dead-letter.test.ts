/**
 * What the SQS runtime sends to the dead-letter queue, for each of the three ways a message ends
 * there (`validation`, `permanent`, `exhausted`): the body unchanged, the reason redacted (account
 * and routing numbers, API keys) and cut to 1000 characters, the failure attributes, which original
 * attributes travel with it, and the FIFO group and deduplication id. A retryable failure before
 * the last receive is not dead-lettered. The reason's redaction is checked for every kind, and so is
 * every log line the runtime wrote. SQS is a local stub on the shared client (no network), as in
 * sqs-handler-backoff.test.ts.
 */
import type { Context, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import { defineFunction } from "../../../functions/lib/define";
import { isSensitiveKey, redactText } from "../../../functions/lib/observability";
import { PermanentFailure, sqsHandler } from "../../../functions/lib/sqs-handler";
import { DEAD_LETTER_QUEUE, setSqsFunctionEnvironment, sqsRecord, stubSqs } from "../../support/sqs-stub";

const DLQ_URL = DEAD_LETTER_QUEUE.url;
const MAX_RECEIVE = 3;

/** Secrets as an exception message or a schema error might quote them. */
const SECRETS = "account_number=000123456789, routing_number: 021000021, x-api-key: AbCdEf0123456789xyz";
const REDACTED_SECRETS = "account_number=[REDACTED], routing_number: [REDACTED], x-api-key: [REDACTED]";

const sent: { command: string; input: Record<string, unknown> }[] = [];
const output: string[] = [];

const Message = z.object({
  id: z.string(),
  outcome: z.enum(["ok", "retry", "permanent", "long"]),
  // A schema whose error quotes the value it refused, as a careless refinement would.
  reference: z.string().regex(/^REF-\d+$/, { error: (issue) => `not a reference: ${String(issue.input)}` }).optional(),
});
const definition = (fifo: boolean) =>
  defineFunction({ name: "dead-letter-test", description: "", entry: __filename, trigger: { kind: "sqs", fifo, message: Message }, links: {}, settings: z.object({}) });
const processMessage = async (message: z.output<typeof Message>) => {
  if (message.outcome === "retry") throw new Error(`bank refused ${SECRETS}`);
  if (message.outcome === "permanent") throw new PermanentFailure(`bank refused for good ${SECRETS}`);
  if (message.outcome === "long") throw new PermanentFailure("x".repeat(1500));
};

const record = sqsRecord;
const stringAttribute = (value: string) => ({ dataType: "String", stringValue: value, stringListValues: [], binaryListValues: [] });

const lambdaContext = { awsRequestId: "req-1", functionName: "dead-letter-test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** The messages sent to the DLQ: body, attributes (name → string value), group and dedup id. */
const deadLetters = () =>
  sent
    .filter((c) => c.command === "SendMessageCommand")
    .map((c) => ({
      queue: c.input.QueueUrl,
      body: c.input.MessageBody,
      attributes: Object.fromEntries(Object.entries(c.input.MessageAttributes as Record<string, { DataType: string; StringValue: string }>).map(([k, v]) => [k, `${v.DataType}:${v.StringValue}`])),
      group: c.input.MessageGroupId,
      dedup: c.input.MessageDeduplicationId,
    }));

beforeAll(() => {
  setSqsFunctionEnvironment(MAX_RECEIVE);
  stubSqs(sqsClient(), sent);
  // The runtime's log lines (JSON, and EMF metrics) are kept to check that no secret reaches them.
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (output.push(String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (output.push(String(chunk)), true));
});
beforeEach(() => {
  sent.length = 0;
  output.length = 0;
});
afterAll(() => vi.restoreAllMocks());

describe("every dead-letter reason is redacted", () => {
  it.each([
    ["validation", record("v", { id: "v", outcome: "ok", reference: SECRETS }), `reference: not a reference: ${REDACTED_SECRETS}`],
    ["permanent", record("p", { id: "p", outcome: "permanent" }), `bank refused for good ${REDACTED_SECRETS}`],
    ["exhausted", record("e", { id: "e", outcome: "retry" }, { receiveCount: MAX_RECEIVE }), `bank refused ${REDACTED_SECRETS}`],
  ])("%s", async (kind, message, reason) => {
    const response = await sqsHandler(definition(false), processMessage)({ Records: [message] }, lambdaContext);
    expect(response.batchItemFailures).toEqual([]);
    const [dead, ...more] = deadLetters();
    expect(more).toEqual([]);
    expect(dead!.attributes.failure_kind).toBe(`String:${kind}`);
    expect(dead!.attributes.failure_reason).toBe(`String:${reason}`);
    // The body itself travels unchanged (a redrive must replay it as it was).
    expect(dead!.body).toBe(message.body);
    for (const line of output) {
      expect(line).not.toContain("000123456789");
      expect(line).not.toContain("021000021");
      expect(line).not.toContain("AbCdEf0123456789xyz");
    }
    expect(output.some((line) => line.includes("Message sent to the dead-letter queue") && line.includes(reason))).toBe(true);
  });

  it("a retryable failure before the last receive is retried, not dead-lettered, and its log line is redacted too", async () => {
    const message = record("r", { id: "r", outcome: "retry" }, { receiveCount: MAX_RECEIVE - 1 });
    const response = await sqsHandler(definition(false), processMessage)({ Records: [message] }, lambdaContext);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "r" }]);
    expect(deadLetters()).toEqual([]);
    const retried = output.find((line) => line.includes("it will be retried"));
    expect(JSON.parse(retried!)).toMatchObject({ error: `bank refused ${REDACTED_SECRETS}`, retry_in_seconds: 2 });
  });
});

describe("the dead-letter message", () => {
  it("carries the failure attributes and the original String attributes, without the trace context", async () => {
    const before = Date.now();
    await sqsHandler(definition(false), processMessage)(
      {
        Records: [
          record("a", { id: "a", outcome: "permanent" }, {
            receiveCount: 2,
            attributes: {
              transaction_type: stringAttribute("payment"),
              traceparent: stringAttribute("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
              tracestate: stringAttribute("k=v"),
              amount: { dataType: "Number", stringValue: "5", stringListValues: [], binaryListValues: [] },
              blob: { dataType: "Binary", binaryValue: "AQID", stringListValues: [], binaryListValues: [] },
            },
          }),
        ],
      },
      lambdaContext,
    );
    const [dead] = deadLetters();
    const { failed_at: failedAt, traceparent, ...attributes } = dead!.attributes;
    // The trace context is not copied: the SQS client injects this span's own (same trace, new span).
    expect(traceparent).toMatch(/^String:00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-01$/);
    expect(attributes).toEqual({
      tracestate: "String:k=v",
      transaction_type: "String:payment",
      failure_kind: "String:permanent",
      failure_reason: `String:bank refused for good ${REDACTED_SECRETS}`,
      failed_function: "String:dead-letter-test",
      receive_count: "String:2",
    });
    const at = Date.parse(failedAt!.replace(/^String:/, ""));
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(Date.now() + 1);
    expect(dead!.queue).toBe(DLQ_URL);
    // Standard queue: no group, no deduplication id.
    expect(dead!.group).toBeUndefined();
    expect(dead!.dedup).toBeUndefined();
  });

  it("keeps at most 4 original attributes: 5 failure attributes and traceparent fill SQS's 10", async () => {
    const attributes = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`attr${i}`, stringAttribute(`v${i}`)]));
    await sqsHandler(definition(false), processMessage)({ Records: [record("m", { id: "m", outcome: "permanent" }, { attributes })] }, lambdaContext);
    const names = Object.keys(deadLetters()[0]!.attributes);
    expect(names).toEqual(["attr0", "attr1", "attr2", "attr3", "failure_kind", "failure_reason", "failed_function", "receive_count", "failed_at", "traceparent"]);
  });

  it("cuts the reason to 1000 characters", async () => {
    await sqsHandler(definition(false), processMessage)({ Records: [record("l", { id: "l", outcome: "long" })] }, lambdaContext);
    expect(deadLetters()[0]!.attributes.failure_reason).toBe(`String:${"x".repeat(1000)}`);
  });

  it("FIFO: sent in the message's group, deduplicated by the message id", async () => {
    await sqsHandler(definition(true), processMessage)({ Records: [record("f", { id: "f", outcome: "permanent" }, { group: "CUST-1" })] }, lambdaContext);
    expect(deadLetters()[0]).toMatchObject({ group: "CUST-1", dedup: "f" });
  });

  it("FIFO: a record without a group goes to the group \"unknown\"", async () => {
    await sqsHandler(definition(true), processMessage)({ Records: [record("u", { id: "u", outcome: "permanent" })] }, lambdaContext);
    expect(deadLetters()[0]).toMatchObject({ group: "unknown", dedup: "u" });
  });

  it("a body that is not JSON, or not of the schema, is dead-lettered at once with the exact reason", async () => {
    await sqsHandler(definition(false), processMessage)(
      { Records: [record("j", "{not json"), record("s", { id: 7, outcome: "maybe" }), record("n", "null")] },
      lambdaContext,
    );
    expect(deadLetters().map((d) => [d.body, d.attributes.failure_kind, d.attributes.failure_reason])).toEqual([
      ["{not json", "String:validation", "String:body is not JSON"],
      ['{"id":7,"outcome":"maybe"}', "String:validation", 'String:id: Invalid input: expected string, received number; outcome: Invalid option: expected one of "ok"|"retry"|"permanent"|"long"'],
      ["null", "String:validation", "String:(body): Invalid input: expected object, received null"],
    ]);
  });
});

describe("what counts as sensitive (observability.ts, used for every reason and log line)", () => {
  it("every sensitive key, whatever its case, `_` or `-`", () => {
    const keys = ["account_number", "routingNumber", "bank-account-number", "API_KEY", "x-api-key", "apiKeyValue", "Authorization", "password", "secret", "accountFingerprintKey"];
    expect(keys.filter((key) => !isSensitiveKey(key))).toEqual([]);
    expect(["account_last4", "customer_id", "", "key"].filter((key) => isSensitiveKey(key))).toEqual([]);
  });
  it("a key pair with spaces around its separator", () => {
    expect(redactText("api_key  : abcdefgh1234 and account_number = 1234-5678")).toBe("api_key  : [REDACTED] and account_number = [REDACTED]");
  });
});

describe("the runtime's edges", () => {
  const handler = () => sqsHandler(definition(false), processMessage);

  it("copies String attributes only, and not the original trace context, to the dead letter", async () => {
    const attributes = {
      transaction_type: stringAttribute("payment"),
      traceparent: stringAttribute("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
      tracestate: stringAttribute("vendor=1"),
      count: { dataType: "Number", stringValue: "5", stringListValues: [], binaryListValues: [] },
    } as SQSMessageAttributes;
    await handler()({ Records: [record("a", "not json", { attributes })] }, lambdaContext);
    const [dead] = deadLetters();
    expect(dead!.attributes.transaction_type).toBe("String:payment");
    expect(dead!.attributes.count).toBeUndefined();
    // The SQS client injects this invocation's context instead (same trace, another span).
    expect(dead!.attributes.traceparent).not.toBe("String:00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  });

  it("does not copy a tracestate that came without a traceparent to the dead letter", async () => {
    await handler()({ Records: [record("s", { id: "s", outcome: "permanent" }, { attributes: { tracestate: stringAttribute("vendor=1"), channel: stringAttribute("web") } })] }, lambdaContext);
    const { failed_at: _failedAt, failure_reason: _reason, traceparent, ...attributes } = deadLetters()[0]!.attributes;
    // No parent to continue: the SQS client injects the message span's context, a trace of its own.
    expect(traceparent).toMatch(/^String:00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(attributes).toEqual({ channel: "String:web", failure_kind: "String:permanent", failed_function: "String:dead-letter-test", receive_count: "String:1" });
  });

  it("a retried transaction: its log line carries the body's ids, its failure counts under the body's transaction type", async () => {
    const response = await handler()({ Records: [record("t", { id: "t", outcome: "retry", transaction_id: "tx-9", transaction_type: "payment" })] }, lambdaContext);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "t" }]);
    const lines = output.flatMap((l) => l.split("\n")).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.message === "Message failed; it will be retried")).toMatchObject({ message_id: "t", transaction_id: "tx-9", transaction_type: "payment" });
    const emf = lines.filter((l) => "_aws" in l);
    expect(emf.map(({ _aws: _, ...metric }) => metric)).toEqual([{ service: "dead-letter-test", transaction_type: "payment", TransactionsFailed: 1 }]);
  });

  it("measures a processed message's latency from its SentTimestamp", async () => {
    const sentAt = Date.now();
    const message = record("p", { id: "p", outcome: "ok" });
    message.attributes.SentTimestamp = String(sentAt);
    await handler()({ Records: [message] }, lambdaContext);
    const after = Date.now();
    const latency = output.flatMap((l) => l.split("\n")).filter((l) => l.includes('"MessageProcessingLatency"')).map((l) => (JSON.parse(l) as { MessageProcessingLatency: number }).MessageProcessingLatency);
    expect(latency).toHaveLength(1);
    expect(latency[0]).toBeGreaterThanOrEqual(0);
    expect(latency[0]).toBeLessThanOrEqual(after - sentAt);
  });

  it("dead-letters a body of JSON null as invalid, and counts it under the attribute's transaction type", async () => {
    const response = await handler()({ Records: [record("n", "null", { attributes: { transaction_type: stringAttribute("payment") } })] }, lambdaContext);
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters().map((d) => [d.attributes.failure_kind, d.attributes.failure_reason])).toEqual([["String:validation", "String:(body): Invalid input: expected object, received null"]]);
    // A message with a transaction type counts as a transaction, under its type.
    const emf = output.flatMap((l) => l.split("\n")).filter((l) => l.includes('"TransactionsDeadLettered"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    expect(emf[0]!.transaction_type).toBe("payment");
    await handler()({ Records: [record("m", "null")] }, lambdaContext);
    expect(deadLetters().map((d) => d.attributes.failure_kind)).toEqual(["String:validation", "String:validation"]);
  });

  it("a record without a receive count is its first receive", async () => {
    const bare = record("b", "not json");
    delete (bare.attributes as Partial<SQSRecord["attributes"]>).ApproximateReceiveCount;
    await handler()({ Records: [bare] }, lambdaContext);
    expect(deadLetters()[0]!.attributes.receive_count).toBe("String:1");
    const retried = record("r", { id: "r", outcome: "retry" });
    delete (retried.attributes as Partial<SQSRecord["attributes"]>).ApproximateReceiveCount;
    sent.length = 0;
    expect((await handler()({ Records: [retried] }, lambdaContext)).batchItemFailures).toEqual([{ itemIdentifier: "r" }]);
    expect(sent.map((c) => [c.command, (c.input.Entries as { VisibilityTimeout: number }[]).map((e) => e.VisibilityTimeout)])).toEqual([["ChangeMessageVisibilityBatchCommand", [1]]]);
  });

  it("shortens the visibility of 10 failed messages in one call, and of none when none failed", async () => {
    const records = Array.from({ length: 10 }, (_, i) => record(`f${i}`, { id: `f${i}`, outcome: "retry" }));
    expect((await handler()({ Records: records }, lambdaContext)).batchItemFailures).toHaveLength(10);
    expect(sent.map((c) => c.command)).toEqual(["ChangeMessageVisibilityBatchCommand"]);
    sent.length = 0;
    await handler()({ Records: [record("ok", { id: "ok", outcome: "ok" })] }, lambdaContext);
    expect(sent).toEqual([]);
  });

  it("still answers the failures when the visibility cannot be shortened", async () => {
    const client = sqsClient();
    const spy = vi.spyOn(client, "send").mockRejectedValueOnce(new Error("sqs down") as never);
    try {
      expect((await handler()({ Records: [record("x", { id: "x", outcome: "retry" })] }, lambdaContext)).batchItemFailures).toEqual([{ itemIdentifier: "x" }]);
    } finally {
      spy.mockRestore();
    }
    const warned = output.map((l) => l.trim()).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === "Could not shorten the visibility of failed messages");
    expect(warned?.error).toBe("Error: sqs down");
  });

  it("refuses to run without its trigger settings, naming what it got", async () => {
    const saved = process.env.FUNCTION_TRIGGER;
    delete process.env.FUNCTION_TRIGGER;
    try {
      await expect(handler()({ Records: [record("t", { id: "t", outcome: "ok" })] }, lambdaContext)).rejects.toThrow('Function "dead-letter-test": FUNCTION_TRIGGER must hold {"maxReceiveCount": n}, got nothing');
      process.env.FUNCTION_TRIGGER = '{"maxReceiveCount": 0}';
      await expect(handler()({ Records: [record("t", { id: "t", outcome: "ok" })] }, lambdaContext)).rejects.toThrow('FUNCTION_TRIGGER must hold {"maxReceiveCount": n}, got {"maxReceiveCount": 0}');
    } finally {
      process.env.FUNCTION_TRIGGER = saved;
    }
  });
});

describe("log lines outside an invocation", () => {
  it("redacts an account number written without a separator in its name", () => {
    expect(redactText("accountnumber: 000123456789, routingnumber=021000021")).toBe("accountnumber: [REDACTED], routingnumber=[REDACTED]");
  });

  it("say cold_start true until the first invocation has finished, then false", async () => {
    vi.resetModules();
    const fresh = await import("../../../functions/lib/observability");
    const logger = fresh.createLogger("cold-test");
    const coldStarts = () => output.map((l) => l.trim()).filter((l) => l.includes('"service":"cold-test"')).map((l) => (JSON.parse(l) as { cold_start: boolean }).cold_start);
    logger.info("before");
    fresh.markInvoked();
    logger.info("after");
    expect(coldStarts()).toEqual([true, false]);
  });
});
