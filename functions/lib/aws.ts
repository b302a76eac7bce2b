/**
 * AWS SDK clients shared by every handler, created on first use and reused across invocations.
 *
 * No endpoint is configured here: the SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how
 * the local cloud points the unchanged handlers at its emulators. The SQS client sends to that
 * endpoint rather than to the host of the queue URL (`useQueueUrlAsEndpoint: false`), so a set
 * endpoint wins (the local cloud's fault proxy sits there); on AWS, with no endpoint set, both are
 * the regional SQS endpoint.
 *
 * Every client carries `tracingMiddleware` (telemetry/middleware.ts): each command is a child span
 * of the active one, and SNS publishes / SQS sends carry the trace context in a `traceparent`
 * attribute.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { TRACING_MIDDLEWARE_NAME, tracingMiddleware } from "./telemetry/middleware";

let sqs: SQSClient | undefined;
let sns: SNSClient | undefined;
let sfn: SFNClient | undefined;
let documents: DynamoDBDocumentClient | undefined;

/** Adds the tracing middleware to a client (once per client; the document client wraps a traced one). */
export function traced<C extends { middlewareStack: { add: (...args: never[]) => unknown } }>(client: C): C {
  const stack = client.middlewareStack as unknown as { add: (middleware: unknown, options: { step: string; name: string; override?: boolean }) => void };
  stack.add(tracingMiddleware(), { step: "initialize", name: TRACING_MIDDLEWARE_NAME, override: true });
  return client;
}

export const clients = {
  sqs: (): SQSClient => (sqs ??= traced(new SQSClient({ useQueueUrlAsEndpoint: false }))),
  sns: (): SNSClient => (sns ??= traced(new SNSClient({}))),
  sfn: (): SFNClient => (sfn ??= traced(new SFNClient({}))),
  /** DynamoDB with plain JS values; `undefined` attributes are dropped rather than rejected. */
  dynamo: (): DynamoDBDocumentClient =>
    (documents ??= DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), { marshallOptions: { removeUndefinedValues: true } })),
};

/**
 * Runs a conditional DynamoDB write: `true` when it was written, `false` when its condition did not
 * hold (the guarded change was already made, or is not allowed); any other error is thrown.
 */
export async function writeIfConditionHolds(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
