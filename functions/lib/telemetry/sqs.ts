/**
 * SQS spans: `withSqsInvocationSpan` wraps one SQS invocation (the batch), `withMessageSpan` one
 * SQS record (messaging semantic conventions); its parent is the context the producer injected into
 * the record (see "Parent or link" below).
 *
 * Parent or link. The messaging conventions allow either. A transaction or an order is one business
 * operation and must read as one trace, so a message's processing span is a *child* of the context
 * its producer injected. The invocation span is a child of that context too when every traced
 * record of the batch belongs to one trace (the usual FIFO case), and a root otherwise; it always
 * carries a *link* to each record's context, as the conventions recommend for batches.
 */
import { SpanKind, trace } from "@opentelemetry/api";
import type { Context, Span } from "@opentelemetry/api";
import { ATTR, dropUndefined } from "./attributes";
import { TRACE_FIELD } from "./constants";
import { withInvocationSpan } from "./invocation";
import type { InvocationContext } from "./invocation";
import { extractFromMessageAttributes, extractFromPayload } from "./propagation";
import type { EventMessageAttribute } from "./propagation";
import { withSpan } from "./spans";

/** The fields of a Lambda SQS record the message span reads. */
export interface TracedRecord {
  messageId: string;
  body: string;
  eventSourceARN?: string;
  attributes: { MessageGroupId?: string; ApproximateReceiveCount?: string };
  messageAttributes?: Record<string, EventMessageAttribute>;
}

/**
 * The producer's context for a record: its `traceparent` message attribute, else a `_trace` field
 * in its JSON body (what a Step Functions `sqs:sendMessage` task forwards from its input).
 */
export function extractFromRecord(record: TracedRecord): Context | undefined {
  const fromAttributes = extractFromMessageAttributes(record.messageAttributes);
  if (fromAttributes) return fromAttributes;
  if (!record.body.includes(TRACE_FIELD)) return undefined;
  try {
    return extractFromPayload(JSON.parse(record.body));
  } catch {
    return undefined;
  }
}

/** `arn:aws:sqs:us-east-2:123:name.fifo` → `name.fifo`. */
export function queueNameFromArn(arn: string | undefined): string | undefined {
  return arn?.split(":").pop();
}

/**
 * Runs one SQS invocation: the invocation span (child of the batch's trace when all its traced
 * records share one, a root otherwise; linked to every record's context), with `work` inside it.
 */
export function withSqsInvocationSpan<T>(
  name: string,
  records: TracedRecord[],
  lambdaContext: InvocationContext,
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const contexts = records.map(extractFromRecord).filter((c): c is Context => c !== undefined);
  const traceIds = new Set(contexts.map((c) => trace.getSpanContext(c)!.traceId));
  return withInvocationSpan(
    {
      name,
      trigger: "pubsub",
      context: lambdaContext,
      kind: SpanKind.CONSUMER,
      parent: traceIds.size === 1 ? contexts[0] : undefined,
      links: contexts.map((c) => ({ context: trace.getSpanContext(c)! })),
      attributes: dropUndefined({
        [ATTR.messagingSystem]: "aws_sqs",
        [ATTR.messagingOperationType]: "process",
        [ATTR.messagingDestination]: queueNameFromArn(records[0]?.eventSourceARN),
        [ATTR.messagingBatchCount]: records.length,
      }),
    },
    work,
  );
}

/**
 * Runs the processing of one SQS record in a `process <queue>` span. Parent: the invocation span
 * when the record's producer context is in the same trace (or there is none); otherwise the
 * producer's context, with a link to the invocation span.
 */
export function withMessageSpan<T>(record: TracedRecord, work: (span: Span) => Promise<T> | T): Promise<T> {
  const invocation = trace.getActiveSpan();
  const producer = extractFromRecord(record);
  const producerTrace = producer ? trace.getSpanContext(producer)?.traceId : undefined;
  const sameTrace = !producer || producerTrace === invocation?.spanContext().traceId;
  const queue = queueNameFromArn(record.eventSourceARN);
  return withSpan(
    `process ${queue ?? "message"}`,
    {
      kind: SpanKind.CONSUMER,
      parent: sameTrace ? undefined : producer,
      links: !sameTrace && invocation ? [{ context: invocation.spanContext() }] : undefined,
      attributes: dropUndefined({
        [ATTR.messagingSystem]: "aws_sqs",
        [ATTR.messagingOperationType]: "process",
        [ATTR.messagingOperationName]: "process",
        [ATTR.messagingDestination]: queue,
        [ATTR.messagingMessageId]: record.messageId,
        [ATTR.messagingGroup]: record.attributes.MessageGroupId,
        "messaging.aws.sqs.receive_count": record.attributes.ApproximateReceiveCount ? Number(record.attributes.ApproximateReceiveCount) : undefined,
      }),
    },
    work,
  );
}
