/**
 * Answers every command of the functions' shared SQS client in process (no emulator) and records
 * it: the handler tests run the runtime's sends, deletes and visibility changes against this.
 */
import { createHash } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSMessageAttributes, SQSRecord } from "aws-lambda";

/** A command the client sent: its name and input. */
export interface SentCommand {
  command: string;
  input: Record<string, unknown>;
}

/**
 * Stubs `client`: each command is pushed to `sent` and answered 200 with an empty batch result.
 * Named `testStub` with `override: true`, so several test files sharing the one client replace it.
 * @param sent - Receives every command, in order; its length numbers the message ids.
 */
export function stubSqs(client: SQSClient, sent: SentCommand[]): void {
  (client.middlewareStack as { add: (m: unknown, o: unknown) => void }).add(
    (_next: unknown, context: { commandName: string }) => async (args: { input: Record<string, unknown> }) => {
      sent.push({ command: context.commandName, input: args.input });
      const body = args.input.MessageBody;
      // The SDK checks a sent body's MD5 against the answer's.
      const md5 = typeof body === "string" ? createHash("md5").update(body).digest("hex") : undefined;
      return { output: { $metadata: { httpStatusCode: 200 }, MessageId: `msg-${sent.length}`, MD5OfMessageBody: md5, Successful: [], Failed: [] }, response: {} };
    },
    { step: "finalizeRequest", priority: "high", name: "testStub", override: true },
  );
}

/** The source queue and dead-letter queue the SQS runtime's tests link their function to. */
export const SOURCE_QUEUE = { url: "https://sqs.us-east-2.amazonaws.com/123456789012/source.fifo", arn: "arn:aws:sqs:us-east-2:123456789012:source.fifo" };
export const DEAD_LETTER_QUEUE = { url: "https://sqs.us-east-2.amazonaws.com/123456789012/source-dlq.fifo", arn: "arn:aws:sqs:us-east-2:123456789012:source-dlq.fifo" };

/**
 * Sets what an SQS-triggered function reads from its environment, as the infrastructure sets it:
 * region and credentials, its `source` and `deadLetter` links ({@link SOURCE_QUEUE},
 * {@link DEAD_LETTER_QUEUE}), no settings, and the trigger's `maxReceiveCount`.
 * @param maxReceiveCount - Receives before a retryable failure is dead-lettered as exhausted.
 */
export function setSqsFunctionEnvironment(maxReceiveCount: number): void {
  Object.assign(process.env, {
    AWS_REGION: "us-east-2",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    LINK_SOURCE: JSON.stringify(SOURCE_QUEUE),
    LINK_DEAD_LETTER: JSON.stringify(DEAD_LETTER_QUEUE),
    FUNCTION_SETTINGS: "{}",
    FUNCTION_TRIGGER: JSON.stringify({ maxReceiveCount }),
  });
}

/**
 * One record of an SQS event from {@link SOURCE_QUEUE}, as Lambda hands it to the function.
 * @param id - The message id (its receipt handle is `rh-<id>`).
 * @param body - The body; anything but a string is sent as JSON.
 * @param options.receiveCount - `ApproximateReceiveCount`. @default 1
 * @param options.group - A FIFO message group; its deduplication id is `dedup-<id>`, not the message id,
 *   so a test can tell which one the runtime used. @default none (a standard queue's record)
 * @param options.attributes - Message attributes. @default none
 */
export function sqsRecord(id: string, body: unknown, options: { receiveCount?: number; group?: string; attributes?: SQSMessageAttributes } = {}): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: typeof body === "string" ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: "AIDA",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      ...(options.group ? { MessageGroupId: options.group, MessageDeduplicationId: `dedup-${id}` } : {}),
    },
    messageAttributes: options.attributes ?? {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: SOURCE_QUEUE.arn,
    awsRegion: "us-east-2",
  };
}
