/**
 * Bus throughput through the local cloud, and the raw emulator's on the same run for the ratio:
 * - `busThroughput`: bank setups then payments for many customers, published in batches of ten,
 *   timed from the first publish until every ledger row is COMPLETED (SNS FIFO → SQS FIFO → the
 *   functions → DynamoDB, through the fault proxy with no faults set);
 * - `rawQueueThroughput`: the same SQS emulator with no function behind it: messages sent to a
 *   FIFO queue in message groups, received and deleted by two loops, as the event source mapping does.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { TransactionPublisher, newTransaction } from "../functions/transactions/publisher";
import { clientConfig } from "../local/outputs";
import type { StackOutputsFile } from "../local/outputs";

export interface Throughput {
  count: number;
  seconds: number;
  perSecond: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `customers` bank setups and `paymentsEach` payments per customer, as publishable transactions. */
export function transactionsFor(customers: number, paymentsEach: number): { customers: string[]; transactions: unknown[] } {
  const run = randomUUID().slice(0, 8);
  const ids = Array.from({ length: customers }, (_, i) => `BENCH-${run}-${i}`);
  const transactions = [
    ...ids.map((customer_id) =>
      newTransaction({
        customer_id,
        transaction_type: "bank_account_setup" as const,
        bank_account: { account_holder: "Bench", routing_number: "021000021", account_number: "000123456789", account_type: "checking" as const },
      }),
    ),
    ...Array.from({ length: paymentsEach }, (_, n) => ids.map((customer_id) => newTransaction({ customer_id, transaction_type: "payment" as const, amount: n + 1, currency: "USD" }))).flat(),
  ];
  return { customers: ids, transactions };
}

/** Publishes the transactions (batches of ten); resolves once they are all published. */
export async function publishTransactions(outputs: StackOutputsFile, transactions: unknown[]): Promise<void> {
  const publisher = new TransactionPublisher(outputs.transactionTopicArn, new SNSClient(clientConfig(outputs, "sns")));
  await publisher.publishAll(transactions);
}

/** Resolves when every customer has `paymentsEach` COMPLETED ledger rows; throws after `timeoutMs`. */
export async function untilLedgersComplete(outputs: StackOutputsFile, customers: string[], paymentsEach: number, timeoutMs: number): Promise<void> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(outputs, "dynamodb")));
  const pending = new Set(customers);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    for (const customer_id of [...pending]) {
      const ledger = await documents.send(
        new QueryCommand({
          TableName: outputs.paymentsTable,
          KeyConditionExpression: "customer_id = :c AND begins_with(entry, :tx)",
          FilterExpression: "#s = :done",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":c": customer_id, ":tx": "TX#", ":done": "COMPLETED" },
          Select: "COUNT",
        }),
      );
      if ((ledger.Count ?? 0) >= paymentsEach) pending.delete(customer_id);
      else break; // customers progress together: look again later rather than query them all
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`${pending.size} of ${customers.length} customers' payments were not all COMPLETED within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
  documents.destroy();
}

/** Transactions per second through the whole bus, first publish to last ledger row. */
export async function busThroughput(outputs: StackOutputsFile, customers: number, paymentsEach: number): Promise<Throughput> {
  const { customers: ids, transactions } = transactionsFor(customers, paymentsEach);
  const started = performance.now();
  await publishTransactions(outputs, transactions);
  await untilLedgersComplete(outputs, ids, paymentsEach, 600_000);
  const seconds = (performance.now() - started) / 1000;
  return { count: transactions.length, seconds, perSecond: transactions.length / seconds };
}

/**
 * Messages per second through the bare SQS emulator of the same cloud: `messages` sent in `groups`
 * message groups (batches of ten), received ten at a time by `loops` loops and deleted.
 */
export async function rawQueueThroughput(outputs: StackOutputsFile, messages = 2000, groups = 20, loops = 2): Promise<Throughput> {
  const sqs = new SQSClient(clientConfig(outputs, "sqs"));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-raw-${randomUUID().slice(0, 8)}.fifo`, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" } }));
  try {
    const started = performance.now();
    let received = 0;
    const send = (async () => {
      for (let i = 0; i < messages; i += 10) {
        const entries = Array.from({ length: Math.min(10, messages - i) }, (_, j) => ({ Id: String(j), MessageBody: `{"n":${i + j}}`, MessageGroupId: `g${(i + j) % groups}` }));
        await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
      }
    })();
    const receiveLoop = async () => {
      while (received < messages) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
        if (Messages.length === 0) continue;
        received += Messages.length;
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    };
    await Promise.all([send, ...Array.from({ length: loops }, receiveLoop)]);
    const seconds = (performance.now() - started) / 1000;
    return { count: messages, seconds, perSecond: messages / seconds };
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
    sqs.destroy();
  }
}

/** Final statuses of orders, read 100 at a time from the orders table: order id → status (absent when not found). */
export async function orderStatuses(outputs: StackOutputsFile, documents: DynamoDBDocumentClient, orderIds: string[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (let i = 0; i < orderIds.length; i += 100) {
    const keys = orderIds.slice(i, i + 100).map((order_id) => ({ order_id }));
    let request: Record<string, { Keys: Record<string, unknown>[]; ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> }> | undefined = {
      [outputs.ordersTable]: { Keys: keys, ProjectionExpression: "order_id, #s", ExpressionAttributeNames: { "#s": "status" } },
    };
    while (request && Object.keys(request).length > 0) {
      const answer = await documents.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of answer.Responses?.[outputs.ordersTable] ?? []) statuses.set(item.order_id as string, item.status as string);
      request = answer.UnprocessedKeys as typeof request;
    }
  }
  return statuses;
}
