/**
 * AWS SDK clients shared by every handler, created on first use and reused across invocations.
 *
 * No endpoint is configured here: the SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how
 * the local cloud points the unchanged handlers at its emulators.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";

let sqs: SQSClient | undefined;
let sns: SNSClient | undefined;
let sfn: SFNClient | undefined;
let documents: DynamoDBDocumentClient | undefined;

export const clients = {
  sqs: (): SQSClient => (sqs ??= new SQSClient({})),
  sns: (): SNSClient => (sns ??= new SNSClient({})),
  sfn: (): SFNClient => (sfn ??= new SFNClient({})),
  /** DynamoDB with plain JS values; `undefined` attributes are dropped rather than rejected. */
  dynamo: (): DynamoDBDocumentClient =>
    (documents ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } })),
};
