/**
 * The runtime of SQS-triggered typed functions.
 *
 * Every message ends one of three ways, never silently dropped:
 * - processed: acknowledged (Lambda deletes it);
 * - failed, retryable: reported in `batchItemFailures`, its visibility set to a short, growing
 *   backoff (1 s, 2 s, 4 s, ... capped at 60 s) instead of the queue's full visibility timeout;
 * - failed for good: sent to the dead-letter queue with the reason as message attributes, then
 *   acknowledged. That is the fate of a body that does not match the schema (retrying cannot fix
 *   it), of a `PermanentFailure`, and of a retryable failure on its `maxReceiveCount`-th receive.
 *   The queue's own redrive policy (same count) stays as the backstop for a crash or timeout.
 *
 * Telemetry: each invocation is a CONSUMER span (`withSqsInvocationSpan`), each message a
 * `process <queue>` span whose parent is the producer's context (`traceparent` attribute or `_trace`
 * body field), carrying the business ids (`transaction.id`, `order.id`, `customer.id`); every outcome
 * is counted in EMF (`recordMessageOutcome`), and the spans are flushed before the handler returns.
 *
 * FIFO queues: the batch's message groups are processed side by side, each in its order, by
 * Powertools' `SqsFifoPartialProcessorAsync`: the first failure of a group fails the rest of that
 * group in the batch (their effects would run out of order), while other groups go on. One after
 * another, a batch of ten customers' payments took ten times one payment's calls. Standard queues
 * use Powertools' `BatchProcessor`, which runs the records side by side. Each record logs through a
 * child logger of its own, so records running side by side never share their keys.
 */
import {
  BatchProcessor,
  EventType,
  SqsFifoPartialProcessorAsync,
  processPartialResponse,
} from "@aws-lambda-powertools/batch";
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Span } from "@opentelemetry/api";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as z from "./zod-mini";
import { sqsClient } from "./aws/sqs";
import { TRIGGER_ENV, readSettings } from "./define";
import type { FunctionDefinition, SqsTrigger, SqsTriggerLinks } from "./define";
import type { LinkMap, ResolvedLinks } from "./links";
import { resolveLinks } from "./links";
import { recordMessageOutcome } from "./metrics";
import { createLogger, createMetrics, redactText } from "./observability";
import { setBusinessAttributes } from "./telemetry/attributes";
import { TRACEPARENT, TRACESTATE } from "./telemetry/constants";
import { markError } from "./telemetry/spans";
import { withMessageSpan, withSqsInvocationSpan } from "./telemetry/sqs";
import { describeIssues } from "./validation-issues";

/** A failure retrying cannot fix: the message goes to the dead-letter queue at once. */
export class PermanentFailure extends Error {
  override name = "PermanentFailure";
}

/** What the message processor receives besides the parsed message. */
export interface MessageContext<L extends LinkMap, S> {
  links: ResolvedLinks<L & SqsTriggerLinks>;
  settings: S;
  logger: Logger;
  record: SQSRecord;
  /** How many times this message has been received, this time included. */
  receiveCount: number;
}

/** Settings of the trigger itself, set by the infrastructure from the queue's redrive policy. */
const TriggerSettings = z.object({ maxReceiveCount: z.number().check(z.int(), z.gte(1)) });

/** Visibility (seconds) after the n-th failed receive: 1, 2, 4, 8, ... at most 60. */
export function retryBackoffSeconds(receiveCount: number): number {
  return Math.min(60, 2 ** Math.max(0, receiveCount - 1));
}

/** SQS allows at most 10 message attributes and 256 KB; reasons are cut to stay well inside. */
const MAX_ATTRIBUTES = 10;
const MAX_REASON = 1000;

/**
 * Implements an SQS-triggered definition.
 *
 * @param definition - the function's definition (its trigger must be `sqs`).
 * @param processMessage - handles one parsed message; throw to retry, throw `PermanentFailure` to dead-letter.
 * @returns the Lambda handler, answering with partial batch failures.
 */
export function sqsHandler<M extends z.$ZodType, L extends LinkMap, S extends z.$ZodType>(
  definition: FunctionDefinition<SqsTrigger<M>, L, S>,
  processMessage: (message: z.output<M>, context: MessageContext<L, z.output<S>>) => Promise<void>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const invocationLogger = createLogger(definition.name);
  const metrics = createMetrics(definition.name);
  const links = resolveLinks(definition.name, definition.links) as ResolvedLinks<L & SqsTriggerLinks>;
  let settings: z.output<S> | undefined;
  let trigger: z.output<typeof TriggerSettings> | undefined;

  const deadLetter = async (record: SQSRecord, kind: "validation" | "permanent" | "exhausted", reason: string, logger: Logger) => {
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
      // The DLQ message carries this span's context instead (the SQS client injects it).
      if (name === TRACEPARENT || name === TRACESTATE) continue;
      if (value.dataType === "String" && value.stringValue !== undefined) attributes[name] = { DataType: "String", StringValue: value.stringValue };
    }
    const failure: Record<string, string> = {
      failure_kind: kind,
      failure_reason: redactText(reason).slice(0, MAX_REASON),
      failed_function: definition.name,
      receive_count: String(record.attributes.ApproximateReceiveCount ?? "1"),
      failed_at: new Date().toISOString(),
    };
    // Failure details win over original attributes if the 10-attribute limit is reached; one
    // attribute is kept free for `traceparent`.
    const kept = Object.entries(attributes).slice(0, MAX_ATTRIBUTES - Object.keys(failure).length - 1);
    const messageAttributes = Object.fromEntries([
      ...kept,
      ...Object.entries(failure).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
    ]);
    const groupId = record.attributes.MessageGroupId;
    await sqsClient().send(
      new SendMessageCommand({
        QueueUrl: links.deadLetter.url,
        MessageBody: record.body,
        MessageAttributes: messageAttributes,
        ...(definition.trigger.fifo ? { MessageGroupId: groupId ?? "unknown", MessageDeduplicationId: record.messageId } : {}),
      }),
    );
    logger.warn("Message sent to the dead-letter queue", { failure_kind: kind, failure_reason: failure.failure_reason });
    recordMessageOutcome(metrics, "dead_lettered", { transactionType: transactionTypeOf(record) });
  };

  const handleRecord = (record: SQSRecord): Promise<void> => withMessageSpan(record, (span) => processRecord(record, span));

  const processRecord = async (record: SQSRecord, span: Span): Promise<void> => {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
    const logger = invocationLogger.createChild();
    logger.appendKeys({ message_id: record.messageId, message_group_id: record.attributes.MessageGroupId, receive_count: receiveCount });

    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      markError(span, new Error("body is not JSON"));
      return deadLetter(record, "validation", "body is not JSON", logger);
    }
    const ids = businessIds(body);
    setBusinessAttributes({ ...ids, transaction_type: ids.transaction_type ?? transactionTypeOf(record) }, span);
    logger.appendKeys(ids);
    const parsed = z.safeParse(definition.trigger.message, body);
    if (!parsed.success) {
      const reason = describeIssues(parsed.error);
      markError(span, new Error(`invalid message: ${reason}`));
      return deadLetter(record, "validation", reason, logger);
    }
    try {
      await processMessage(parsed.data, { links, settings: settings as z.output<S>, logger, record, receiveCount });
    } catch (error) {
      markError(span, error);
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof PermanentFailure) return deadLetter(record, "permanent", reason, logger);
      if (receiveCount >= (trigger?.maxReceiveCount ?? 1)) return deadLetter(record, "exhausted", reason, logger);
      logger.warn("Message failed; it will be retried", { error: reason, retry_in_seconds: retryBackoffSeconds(receiveCount) });
      recordMessageOutcome(metrics, "failed", { transactionType: transactionTypeOf(record, body) });
      throw error;
    }
    const sent = Number(record.attributes.SentTimestamp);
    recordMessageOutcome(metrics, "processed", { transactionType: transactionTypeOf(record, body), latencyMs: sent ? Date.now() - sent : undefined });
  };

  const processBatch = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    settings ??= readSettings(definition);
    trigger ??= readTrigger(definition.name);
    invocationLogger.addContext(context);
    const options = { context, throwOnFullBatchFailure: false } as never;
    let response: SQSBatchResponse;
    if (definition.trigger.fifo) {
      const answers = await Promise.all(
        byMessageGroup(event.Records).map((records) => processPartialResponse({ Records: records }, handleRecord, new SqsFifoPartialProcessorAsync(), options)),
      );
      response = { batchItemFailures: answers.flatMap((answer) => answer.batchItemFailures) };
    } else {
      response = await processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), options);
    }
    await shortenVisibility(event.Records, response, links.source.url, invocationLogger);
    return response;
  };

  return (event, context) => withSqsInvocationSpan(definition.name, event.Records, context, () => processBatch(event, context));
}

/** A FIFO batch's records by message group, each group's in the batch's order. */
export function byMessageGroup(records: SQSRecord[]): SQSRecord[][] {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    // A record without a group (not from a FIFO queue) is a group of its own.
    const group = record.attributes.MessageGroupId ?? `record:${record.messageId}`;
    const members = groups.get(group);
    if (members) members.push(record);
    else groups.set(group, [record]);
  }
  return [...groups.values()];
}

/**
 * Failed messages come back after a backoff instead of the queue's visibility timeout. In a FIFO
 * group every failed message of the batch gets the same backoff: the group stays blocked while any
 * of them is in flight, so the longest one decides when it resumes.
 */
async function shortenVisibility(records: SQSRecord[], response: SQSBatchResponse, queueUrl: string, logger: Logger) {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  if (failed.size === 0) return;
  const groupBackoff = new Map<string, number>();
  const failedRecords = records.filter((r) => failed.has(r.messageId));
  for (const record of failedRecords) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    const backoff = retryBackoffSeconds(Number(record.attributes.ApproximateReceiveCount ?? "1"));
    groupBackoff.set(group, Math.max(groupBackoff.get(group) ?? 0, backoff));
  }
  for (let i = 0; i < failedRecords.length; i += 10) {
    const chunk = failedRecords.slice(i, i + 10);
    try {
      await sqsClient().send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((r, j) => ({
            Id: String(j),
            ReceiptHandle: r.receiptHandle,
            VisibilityTimeout: groupBackoff.get(r.attributes.MessageGroupId ?? r.messageId) ?? 1,
          })),
        }),
      );
    } catch (error) {
      // Not fatal: the messages still come back, only after the queue's full visibility timeout.
      logger.warn("Could not shorten the visibility of failed messages", { error: String(error) });
    }
  }
}

/** The business ids of a message body, for logs and spans (whichever it has). */
function businessIds(body: unknown): { transaction_id?: string; transaction_type?: string; order_id?: string; customer_id?: string } {
  if (!body || typeof body !== "object") return {};
  const b = body as Record<string, unknown>;
  const ids: Record<string, string> = {};
  for (const key of ["transaction_id", "transaction_type", "order_id", "customer_id"]) {
    if (typeof b[key] === "string") ids[key] = b[key];
  }
  return ids;
}

/** The transaction type of a record: its `transaction_type` attribute (set by publishers), else its body's. */
function transactionTypeOf(record: SQSRecord, body: unknown = parseOrUndefined(record.body)): string | undefined {
  const attribute = record.messageAttributes?.transaction_type?.stringValue;
  if (attribute) return attribute;
  const fromBody = body && typeof body === "object" ? (body as Record<string, unknown>).transaction_type : undefined;
  return typeof fromBody === "string" ? fromBody : undefined;
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readTrigger(functionName: string): z.output<typeof TriggerSettings> {
  const raw = process.env[TRIGGER_ENV];
  const parsed = z.safeParse(TriggerSettings, raw ? JSON.parse(raw) : undefined);
  if (!parsed.success) throw new Error(`Function "${functionName}": ${TRIGGER_ENV} must hold {"maxReceiveCount": n}, got ${raw ?? "nothing"}`);
  return parsed.data;
}
