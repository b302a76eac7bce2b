/**
 * payment consumer.
 *
 * Table `payments` (key `customer_id`, `entry`):
 * - `BALANCE`: the customer's balance in integer cents (payments credit it), its `version`, and
 *   `applied`: transaction id → balance after it, for every payment applied;
 * - `TX#<transaction_id>`: the ledger row (`transaction_id`, `customer_id`, `amount`, `balance_after`,
 *   `status`, `processed_at`).
 *
 * Exactly once per transaction, in three conditional steps that are each safe to repeat:
 * 1. claim the ledger row (`APPLYING`); if it exists and is `COMPLETED`, the payment is a duplicate;
 * 2. apply the amount to `BALANCE` with an optimistic lock on its `version`, recording the balance
 *    after it under `applied.<transaction_id>` in the same write; a transaction already in `applied`
 *    is never added again, whatever happened since (a later payment, a redrive from the DLQ, a
 *    republish after SNS's dedup window), and its recorded balance completes the ledger row;
 * 3. complete the ledger row with the balance after.
 * (DynamoDB transactions would make steps 1-3 one call; the local emulator has none. `applied` holds
 * about 50 bytes per payment, so a customer's BALANCE item stays far below DynamoDB's 400 KB item
 * limit for thousands of payments.)
 * A payment needs the customer's active bank account. Its setup travels on another queue and may be
 * processed later, so "no account yet" is a retryable failure (backoff, then the DLQ with that reason).
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient } from "../../lib/aws/dynamodb";
import { PermanentFailure, sqsHandler } from "../../lib/sqs-handler";
import { payment } from "./definition";

/** Attempts of the optimistic balance update; more than one only under concurrent writers. */
const BALANCE_ATTEMPTS = 5;

/**
 * Adds `amountCents` to the customer's balance once per transaction and returns the balance right
 * after this transaction, in cents (the recorded one if it was applied before).
 */
export async function applyToBalance(table: string, customerId: string, transactionId: string, amountCents: number): Promise<number> {
  const dynamo = documentClient();
  const key = { customer_id: customerId, entry: "BALANCE" };
  for (let attempt = 1; attempt <= BALANCE_ATTEMPTS; attempt++) {
    const current = (await dynamo.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
    const recorded = (current?.applied as Record<string, number> | undefined)?.[transactionId];
    if (recorded !== undefined) return recorded;
    const after = Number(current?.balance_cents ?? 0) + amountCents;
    const now = new Date().toISOString();
    try {
      if (!current) {
        await dynamo.send(
          new PutCommand({
            TableName: table,
            Item: { ...key, balance_cents: after, version: 1, last_transaction_id: transactionId, updated_at: now, applied: { [transactionId]: after } },
            ConditionExpression: "attribute_not_exists(customer_id)",
          }),
        );
      } else {
        await dynamo.send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: "SET balance_cents = :after, version = :next, last_transaction_id = :tx, updated_at = :now, applied.#tx = :after",
            ConditionExpression: "version = :version",
            ExpressionAttributeNames: { "#tx": transactionId },
            ExpressionAttributeValues: { ":after": after, ":next": Number(current.version) + 1, ":version": current.version, ":tx": transactionId, ":now": now },
          }),
        );
      }
      return after;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Another writer changed the balance between the read and the write: read again.
    }
  }
  throw new Error(`balance of customer ${customerId} kept changing during ${BALANCE_ATTEMPTS} attempts`);
}

export const handler = sqsHandler(payment, async (tx, { links, settings, logger }) => {
  logger.appendKeys({ transaction_id: tx.transaction_id, customer_id: tx.customer_id });
  if (tx.amount > settings.paymentLimit) {
    throw new PermanentFailure(`amount ${tx.amount} exceeds the payment limit of ${settings.paymentLimit}`);
  }
  const dynamo = documentClient();
  const ledger = links.payments.name;
  const ledgerKey = { customer_id: tx.customer_id, entry: `TX#${tx.transaction_id}` };

  const account = await dynamo.send(
    new GetCommand({ TableName: links.bankAccounts.name, Key: { customer_id: tx.customer_id, record: "ACTIVE" }, ConsistentRead: true }),
  );
  if (!account.Item) throw new Error(`customer ${tx.customer_id} has no active bank account yet`);

  const amountCents = Math.round(tx.amount * 100);
  try {
    await dynamo.send(
      new PutCommand({
        TableName: ledger,
        Item: {
          ...ledgerKey,
          transaction_id: tx.transaction_id,
          amount: tx.amount,
          amount_cents: amountCents,
          currency: tx.currency,
          account_last4: account.Item.account_last4,
          status: "APPLYING",
          requested_at: tx.timestamp,
        },
        ConditionExpression: "attribute_not_exists(customer_id)",
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await dynamo.send(new GetCommand({ TableName: ledger, Key: ledgerKey, ConsistentRead: true }));
    if (existing.Item?.status === "COMPLETED") {
      logger.info("Payment already applied; duplicate ignored", { balance_after: existing.Item.balance_after });
      return;
    }
  }

  const balanceCents = await applyToBalance(ledger, tx.customer_id, tx.transaction_id, amountCents);
  const balanceAfter = balanceCents / 100;
  await dynamo.send(
    new UpdateCommand({
      TableName: ledger,
      Key: ledgerKey,
      UpdateExpression: "SET #status = :completed, balance_after = :balance, processed_at = :now",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: { ":completed": "COMPLETED", ":balance": balanceAfter, ":now": new Date().toISOString() },
    }),
  );
  logger.info("Payment applied", { amount: tx.amount, balance_after: balanceAfter });
});

