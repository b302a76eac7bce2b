/**
 * The local event source mapping: polls an SQS queue the way Lambda's pollers do and invokes the
 * function with SQS events.
 *
 * - batches of up to `batchSize` messages, with all system and message attributes;
 * - partial batch responses (`ReportBatchItemFailures`): only the messages not reported as failed
 *   are deleted; a thrown error, or a response naming an unknown message, fails the whole batch;
 *   failed messages come back when their visibility expires (the handler may shorten it);
 * - `maximumConcurrency` concurrent batches;
 * - FIFO order per message group: the queue never hands out a group's next message while an
 *   earlier one is in flight, and within a batch records keep the queue's order.
 * `stop()` ends polling and waits for in-flight batches to finish.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

/** Anything that can be invoked with an event (a `FunctionHost`). */
export interface Invocable {
  /** `source: "event-source"`: the invocation waits for a free environment rather than being throttled. */
  invoke(event: unknown, options?: { source?: "event-source" }): Promise<unknown>;
}

export interface SqsPollerOptions {
  /** The queue to poll. */
  queueUrl: string;
  /** The queue's ARN (`eventSourceARN` of each record). */
  eventSourceArn: string;
  /** Client pointed at the queue's endpoint. */
  sqsClient: SQSClient;
  /** The function to invoke. */
  host: Invocable;
  /** Region reported in records. @default "us-east-1" */
  region?: string;
  /** Messages per batch (1..10). @default 10 */
  batchSize?: number;
  /** Concurrent batches in flight. @default 2 */
  maximumConcurrency?: number;
  /** Long-poll wait per receive, in seconds; short so that stop() is prompt. @default 1 */
  waitTimeSeconds?: number;
  /** Called after each batch (tests and logs). */
  onBatch?: (outcome: BatchOutcome) => void;
  /** Called when polling or an invocation fails. @default logs to stderr */
  onError?: (error: unknown) => void;
  /**
   * Whether a batch could be invoked now (the account has a slot for an event source), after
   * waiting a little for one. The poller receives only then: a batch received while the account is
   * full would wait for a slot while its visibility timeout ran, come back, and count a receive per
   * return towards `maxReceiveCount`, reaching the DLQ without ever being handled. Lambda's pollers
   * likewise scale down to the concurrency the function can get.
   * @default always: no account bound
   */
  hasRoom?: () => Promise<boolean>;
}

export interface BatchOutcome {
  received: number;
  deleted: number;
  failed: number;
  /** Set when the invocation itself failed (every message of the batch returns to the queue). */
  error?: string;
}

export interface SqsPoller {
  /** Stops polling and waits for in-flight batches to finish. */
  stop(): Promise<void>;
}

/** Starts polling; returns at once. */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const abort = new AbortController();
  let stopping = false;
  const concurrency = Math.max(1, options.maximumConcurrency ?? 2);
  const onError = options.onError ?? ((error: unknown) => console.error(`[poller ${options.queueUrl}]`, error instanceof Error ? error.message : error));

  const loop = async () => {
    while (!stopping) {
      if (options.hasRoom && !(await options.hasRoom())) continue;
      let messages: Message[];
      try {
        const received = await options.sqsClient.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 1,
            MessageSystemAttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (stopping) return;
        onError(error);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) continue;
      // A batch that was received is always finished, even while stopping: Lambda does the same.
      await processBatch(options, messages, onError);
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    async stop() {
      stopping = true;
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

async function processBatch(options: SqsPollerOptions, messages: Message[], onError: (error: unknown) => void): Promise<void> {
  const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options)) };
  let failedIds: Set<string>;
  let invocationError: string | undefined;
  try {
    const response = (await options.host.invoke(event, { source: "event-source" })) as SQSBatchResponse | null | undefined;
    failedIds = failuresOf(response, event.Records);
  } catch (error) {
    invocationError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    onError(error);
    failedIds = new Set(event.Records.map((r) => r.messageId));
  }
  const done = messages.filter((m) => !failedIds.has(m.MessageId!));
  for (let i = 0; i < done.length; i += 10) {
    const chunk = done.slice(i, i + 10);
    try {
      const result = await options.sqsClient.send(
        new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }),
      );
      if (result.Failed?.length) onError(new Error(`could not delete ${result.Failed.length} processed message(s): ${result.Failed.map((f) => f.Message).join("; ")}`));
    } catch (error) {
      onError(error);
    }
  }
  options.onBatch?.({ received: messages.length, deleted: done.length, failed: failedIds.size, error: invocationError });
}

/**
 * The messages a response reports as failed. Like Lambda, a response that names a message not in
 * the batch, or has an empty identifier, fails the whole batch.
 */
export function failuresOf(response: SQSBatchResponse | null | undefined, records: SQSRecord[]): Set<string> {
  const ids = new Set(records.map((r) => r.messageId));
  const failures = response?.batchItemFailures ?? [];
  if (failures.some((f) => !f.itemIdentifier || !ids.has(f.itemIdentifier))) return ids;
  return new Set(failures.map((f) => f.itemIdentifier));
}

/** An SQS message as Lambda's SQS event record. */
export function toRecord(message: Message, options: Pick<SqsPollerOptions, "eventSourceArn" | "region">): SQSRecord {
  const system = message.Attributes ?? {};
  const attributes: Record<string, string> = {
    ApproximateReceiveCount: system.ApproximateReceiveCount ?? "1",
    SentTimestamp: system.SentTimestamp ?? String(Date.now()),
    SenderId: system.SenderId ?? "LOCAL",
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const key of ["MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "AWSTraceHeader"] as const) {
    if (system[key] !== undefined) attributes[key] = system[key];
  }
  const messageAttributes: SQSRecord["messageAttributes"] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? "String",
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString("base64") } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: attributes as unknown as SQSRecord["attributes"],
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.eventSourceArn,
    awsRegion: options.region ?? "us-east-1",
  };
}
