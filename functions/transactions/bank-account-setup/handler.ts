/**
 * bank_account_setup consumer.
 *
 * Table `bank-accounts` (key `customer_id`, `record`):
 * - `ACTIVE`: the customer's active account;
 * - `SETUP#<transaction_id>`: one row per setup ever processed (the history).
 * Only the last four digits and an HMAC-SHA256 fingerprint (keyed by the stack secret) of the
 * account number are stored; the number itself is never written, logged or traced. The key is the
 * SSM SecureString the function is linked to (`fingerprintKey`), read once per execution environment
 * on its first invocation (`functions/lib/parameters.ts`); it is not in the function's configuration.
 *
 * Exactly once per transaction without a transaction API: the history row is a conditional put,
 * and the active row is replaced only by a setup that is not already active and not older than the
 * active one, so a redelivery, or a republish after the FIFO dedup window, changes nothing.
 */
import { createHmac } from "node:crypto";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient, writeIfConditionHolds } from "../../lib/aws/dynamodb";
import { parameterValue } from "../../lib/parameters";
import { sqsHandler } from "../../lib/sqs-handler";
import { bankAccountSetup } from "./definition";

/** Keyed fingerprint: the same account number always gives the same value, and cannot be reversed without the key. */
export function accountFingerprint(key: string, routingNumber: string, accountNumber: string): string {
  return createHmac("sha256", key).update(`${routingNumber}:${accountNumber}`).digest("hex");
}

export const handler = sqsHandler(bankAccountSetup, async (tx, { links, logger }) => {
  logger.appendKeys({ transaction_id: tx.transaction_id, customer_id: tx.customer_id });
  const fingerprintKey = await parameterValue(links.fingerprintKey);
  const { account_number, ...account } = tx.bank_account;
  const stored = {
    customer_id: tx.customer_id,
    transaction_id: tx.transaction_id,
    account_holder: account.account_holder,
    account_type: account.account_type,
    routing_number: account.routing_number,
    account_last4: account_number.slice(-4),
    account_fingerprint: accountFingerprint(fingerprintKey, account.routing_number, account_number),
    setup_timestamp: tx.timestamp,
  };
  const now = new Date().toISOString();
  const dynamo = documentClient();
  const table = links.bankAccounts.name;

  const firstTime = await writeIfConditionHolds(
    dynamo.send(
      new PutCommand({
        TableName: table,
        Item: { ...stored, record: `SETUP#${tx.transaction_id}`, processed_at: now },
        ConditionExpression: "attribute_not_exists(customer_id)",
      }),
    ),
  );
  const activated = await writeIfConditionHolds(
    dynamo.send(
      new UpdateCommand({
        TableName: table,
        Key: { customer_id: tx.customer_id, record: "ACTIVE" },
        UpdateExpression:
          "SET transaction_id = :tx, account_holder = :holder, account_type = :type, routing_number = :routing, " +
          "account_last4 = :last4, account_fingerprint = :fp, setup_timestamp = :ts, updated_at = :now, #status = :active",
        ConditionExpression: "attribute_not_exists(customer_id) OR (transaction_id <> :tx AND setup_timestamp <= :ts)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":tx": stored.transaction_id,
          ":holder": stored.account_holder,
          ":type": stored.account_type,
          ":routing": stored.routing_number,
          ":last4": stored.account_last4,
          ":fp": stored.account_fingerprint,
          ":ts": stored.setup_timestamp,
          ":now": now,
          ":active": "ACTIVE",
        },
      }),
    ),
  );
  logger.info(activated ? "Bank account is now active" : "Bank account setup already applied or superseded", {
    account_last4: stored.account_last4,
    first_delivery: firstTime,
  });
});
