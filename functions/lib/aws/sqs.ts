/**
 * The function's SQS client (see `traced.ts`). It sends to the configured endpoint rather than to
 * the host of the queue URL (`useQueueUrlAsEndpoint: false`), so a set endpoint wins (the local
 * cloud's fault proxy sits there); on AWS, with no endpoint set, both are the regional SQS endpoint.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { traced } from "./traced";

let client: SQSClient | undefined;

/** The SQS client, created on first use. */
export const sqsClient = (): SQSClient => (client ??= traced(new SQSClient({ useQueueUrlAsEndpoint: false })));
