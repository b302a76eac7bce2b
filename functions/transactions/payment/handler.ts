/**
 * payment consumer.
 *
 * Table `payments` (key `customer_id`, `entry`):
 * - `BALANCE`: the customer's balance in integer cents (payments credit it) and the last transaction applied;
 * - `TX#<transaction_id>`: the ledger row (`transaction_id`, `customer_id`, `amount`, `balance_after`,
 *   `status`, `processed_at`).
 *
 * Exactly once per transaction, in three conditional steps that are each safe to repeat:
 * 1. claim the ledger row (`APPLYING`); if it exists and is `COMPLETED`, the payment is a duplicate;
 * 2. add the amount to the balance unless this transaction was the last one applied (per-customer
 *    FIFO order means a crash between steps leaves it as the last one);
 * 3. complete the ledger row with the balance after.
 * A payment needs the customer's active bank account. Its setup travels on another queue and may be
 * processed later, so "no account yet" is a retryable failure (backoff, then the DLQ with that reason).
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { clients } from "../../lib/aws";
import { PermanentFailure, sqsHandler } from "../../lib/sqs-handler";
import { payment } from "./definition";

export const handler = sqsHandler(payment, async (tx, { links, settings, logger }) => {
  logger.appendKeys({ transaction_id: tx.transaction_id, customer_id: tx.customer_id });
  if (tx.amount > settings.paymentLimit) {
    throw new PermanentFailure(`amount ${tx.amount} exceeds the payment limit of ${settings.paymentLimit}`);
  }
  const dynamo = clients.dynamo();
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

  let balanceCents: number;
  try {
    const updated = await dynamo.send(
      new UpdateCommand({
        TableName: ledger,
        Key: { customer_id: tx.customer_id, entry: "BALANCE" },
        UpdateExpression: "SET balance_cents = if_not_exists(balance_cents, :zero) + :cents, last_transaction_id = :tx, updated_at = :now",
        ConditionExpression: "attribute_not_exists(last_transaction_id) OR last_transaction_id <> :tx",
        ExpressionAttributeValues: { ":zero": 0, ":cents": amountCents, ":tx": tx.transaction_id, ":now": new Date().toISOString() },
        ReturnValues: "ALL_NEW",
      }),
    );
    balanceCents = Number(updated.Attributes?.balance_cents);
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // Applied by an earlier attempt that stopped before completing the ledger row.
    const balance = await dynamo.send(
      new GetCommand({ TableName: ledger, Key: { customer_id: tx.customer_id, entry: "BALANCE" }, ConsistentRead: true }),
    );
    balanceCents = Number(balance.Item?.balance_cents);
  }

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
