/** The SNS client of a publisher (see `traced.ts`): publishes carry `traceparent`. */
import { SNSClient } from "@aws-sdk/client-sns";
import { traced } from "./traced";

let client: SNSClient | undefined;

/** The SNS client, created on first use. */
export const snsClient = (): SNSClient => (client ??= traced(new SNSClient({})));
