/** The DynamoDB document client (see `traced.ts`) and the conditional-write helper. */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { traced } from "./traced";

let documents: DynamoDBDocumentClient | undefined;

/** DynamoDB with plain JS values, created on first use; `undefined` attributes are dropped rather than rejected. */
export const documentClient = (): DynamoDBDocumentClient =>
  (documents ??= DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), { marshallOptions: { removeUndefinedValues: true } }));

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
