/**
 * After the drive: waits until the stack has settled (source queues empty, every accepted order
 * final), takes this run's messages out of the dead-letter queues, reads the tables, and checks the
 * invariants the project promises. Each check is a row of the report: what was expected, what was
 * found, and whether it holds.
 */
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { BatchGetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { BatchGetCommandOutput, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { StackOutputsFile } from "../../local/outputs";
import { messagesIn } from "../redrive/inspect";
import type { PlacedOrder } from "./drive";
import type { PlannedPayment, Workload } from "./workload";

export interface Check {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
}

export interface Clients {
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
}

/** A message of this run found in a dead-letter queue. */
interface DeadLetter {
  body: string;
  kind: string | undefined;
  reason: string | undefined;
}

const FINAL = new Set(["FULFILLED", "FAILED", "REJECTED"]);
const byOrderId = (ids: string[]) => ids.map((order_id) => ({ order_id }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over `items`, `concurrency` at a time. */
async function mapLimit<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  }));
  return results;
}

/** Items of `table` by their keys, 100 per call; the found items are indexed by the attribute `by`. */
async function batchGet(dynamo: DynamoDBDocumentClient, table: string, by: string, keys: Record<string, string>[]): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  const chunks = Array.from({ length: Math.ceil(keys.length / 100) }, (_, i) => keys.slice(i * 100, i * 100 + 100));
  await mapLimit(chunks, 4, async (chunk) => {
    let pending: Record<string, unknown>[] | undefined = chunk;
    while (pending?.length) {
      const result: BatchGetCommandOutput = await dynamo.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of result.Responses?.[table] ?? []) found.set(String(item[by]), item);
      pending = result.UnprocessedKeys?.[table]?.Keys;
      if (pending?.length) await sleep(100);
    }
  });
  return found;
}

/**
 * Waits until every source queue is empty (waiting and in flight) and every accepted order is final,
 * twice in a row; gives up after `timeoutMs`.
 * @returns seconds waited, or undefined when it did not settle.
 */
export async function settle(outputs: StackOutputsFile, clients: Clients, orderIds: string[], timeoutMs: number, progress: (line: string) => void): Promise<number | undefined> {
  const started = Date.now();
  const queues = [...Object.values(outputs.transactionQueueUrls), outputs.fulfillmentQueueUrl, outputs.fulfillmentDlqUrl];
  let calm = 0;
  let lastLine = 0;
  // A final status never changes: only the orders still open are read again.
  let openIds = orderIds;
  while (Date.now() - started < timeoutMs) {
    const depths = await Promise.all(queues.map((q) => messagesIn(clients.sqs, q)));
    const orders = await batchGet(clients.dynamo, outputs.ordersTable, "order_id", byOrderId(openIds));
    openIds = openIds.filter((id) => !FINAL.has(String(orders.get(id)?.status)));
    const open = openIds.length;
    const waiting = depths.reduce((a, b) => a + b, 0);
    calm = waiting === 0 && open === 0 ? calm + 1 : 0;
    if (calm >= 2) return (Date.now() - started) / 1000;
    if (Date.now() - lastLine > 10_000) {
      progress(`  settling: ${waiting} messages in the source queues, ${open} orders not final (${Math.round((Date.now() - started) / 1000)} s)`);
      lastLine = Date.now();
    }
    await sleep(2000);
  }
  return undefined;
}

/** Takes this run's messages out of a DLQ (received and deleted); others are put back at once. */
async function drainOwn(sqs: SQSClient, queueUrl: string, runPrefix: string): Promise<DeadLetter[]> {
  const own: DeadLetter[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["MessageGroupId"] }),
    );
    if (!Messages.length) {
      empty++;
      continue;
    }
    empty = 0;
    for (const message of Messages) {
      if (message.Attributes?.MessageGroupId?.startsWith(runPrefix)) {
        own.push({ body: message.Body ?? "", kind: message.MessageAttributes?.failure_kind?.StringValue, reason: message.MessageAttributes?.failure_reason?.StringValue });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      } else {
        await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
      }
    }
  }
  return own;
}

const row = (name: string, expected: number | string, actual: number | string, ok: boolean): Check => ({ name, expected: String(expected), actual: String(actual), ok });
const zero = (name: string, actual: number, detail: string[] = []): Check => row(name + (actual && detail.length ? ` (e.g. ${detail.slice(0, 2).join("; ")})` : ""), 0, actual, actual === 0);

/** The bus's invariants: every payment applied once or dead-lettered with its reason, balances, order, malformed messages, DLQs. */
export async function checkBus(outputs: StackOutputsFile, clients: Clients, workload: Workload): Promise<Check[]> {
  const runPrefix = `SOAK-${workload.runId}`;
  const deadLetters = (await Promise.all(Object.values(outputs.transactionDlqUrls).map((q) => drainOwn(clients.sqs, q, runPrefix)))).flat();
  const deadById = new Map<string, DeadLetter[]>();
  const unmatched: DeadLetter[] = [];
  const malformedFound = new Map<string, DeadLetter>();
  for (const dead of deadLetters) {
    const marker = workload.malformed.find((m) => dead.body.includes(m));
    if (marker) {
      malformedFound.set(marker, dead);
      continue;
    }
    let id: string | undefined;
    try {
      id = (JSON.parse(dead.body) as { transaction_id?: string }).transaction_id;
    } catch {
      id = undefined;
    }
    if (id) deadById.set(id, [...(deadById.get(id) ?? []), dead]);
    else unmatched.push(dead);
  }

  const ledgers = new Map<string, Record<string, unknown>[]>();
  await mapLimit(workload.customers, 16, async (customer) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await clients.dynamo.send(new QueryCommand({ TableName: outputs.paymentsTable, KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer }, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    ledgers.set(customer, items);
  });
  const accounts = await batchGet(clients.dynamo, outputs.bankAccountsTable, "customer_id", workload.customers.map((customer_id) => ({ customer_id, record: "ACTIVE" })));

  const planned = new Set(workload.payments.map((p) => p.transactionId));
  const paymentsOf = new Map<string, PlannedPayment[]>(workload.customers.map((c) => [c, []]));
  for (const payment of workload.payments) paymentsOf.get(payment.customer)!.push(payment);
  let applied = 0;
  let deadLettered = 0;
  const lost: string[] = [];
  const both: string[] = [];
  const deadWithoutReason: string[] = [];
  for (const payment of workload.payments) {
    const row = ledgers.get(payment.customer)!.find((r) => r.entry === `TX#${payment.transactionId}`);
    const done = row?.status === "COMPLETED";
    const dead = deadById.get(payment.transactionId);
    if (done) applied++;
    if (dead) {
      deadLettered++;
      if (!dead.every((d) => d.kind && d.reason)) deadWithoutReason.push(payment.transactionId);
    }
    if (done && dead) both.push(payment.transactionId);
    if (!done && !dead) lost.push(`${payment.transactionId} (ledger ${String(row?.status ?? "none")})`);
  }
  const strayRows: string[] = [];
  const balanceMismatch: string[] = [];
  const orderBroken: string[] = [];
  for (const customer of workload.customers) {
    const rows = ledgers.get(customer)!;
    const txRows = rows.filter((r) => String(r.entry).startsWith("TX#"));
    for (const r of txRows) if (!planned.has(String(r.entry).slice(3))) strayRows.push(`${customer} ${String(r.entry)}`);
    const completed = txRows.filter((r) => r.status === "COMPLETED");
    const ledgerCents = completed.reduce((sum, r) => sum + Math.round(Number(r.amount) * 100), 0);
    const balance = Number(rows.find((r) => r.entry === "BALANCE")?.balance_cents ?? 0);
    if (balance !== ledgerCents) balanceMismatch.push(`${customer}: balance ${balance} ¢, ledger ${ledgerCents} ¢`);
    // In publish order, each applied payment's balance_after is the running sum of those applied.
    let running = 0;
    for (const payment of paymentsOf.get(customer)!.sort((a, b) => a.position - b.position)) {
      const r = completed.find((c) => c.entry === `TX#${payment.transactionId}`);
      if (!r) continue;
      running += payment.cents;
      if (Math.round(Number(r.balance_after) * 100) !== running) {
        orderBroken.push(`${customer}: payment ${payment.position} has balance_after ${String(r.balance_after)}, expected ${running / 100}`);
        break;
      }
    }
  }
  const setupsLost = workload.customers.filter((c) => !accounts.has(c) && !deadById.has(workload.setups.get(c)!));
  const malformedMissing = workload.malformed.filter((m) => malformedFound.get(m)?.kind !== "validation");
  const queuesLeft = (await Promise.all(Object.values(outputs.transactionQueueUrls).map((q) => messagesIn(clients.sqs, q)))).reduce((a, b) => a + b, 0);

  return [
    row("valid payments published (republished: applied once)", workload.payments.length, `${workload.payments.length} (+${workload.republished} republished, ${workload.paymentFirst} before their setup)`, true),
    row("payments applied (ledger row COMPLETED)", "each once", applied, true),
    row("payments dead-lettered with their reason", "the rest", deadLettered - deadWithoutReason.length, deadWithoutReason.length === 0),
    zero("payments lost (neither applied nor dead-lettered)", lost.length, lost),
    // A copy dead-lettered while another copy (a republish) or a later receive applied it: redriving
    // it is a no-op (the ledger row is keyed by transaction id). Counted, not a violation.
    row("dead-lettered copies of applied payments (a redrive is a no-op)", "any", both.length, true),
    zero("ledger rows for no planned payment (applied twice)", strayRows.length, strayRows),
    zero("customers whose balance is not the sum of their ledger", balanceMismatch.length, balanceMismatch),
    zero("customers whose balance_after breaks publish order", orderBroken.length, orderBroken),
    zero("bank account setups lost", setupsLost.length, setupsLost),
    row("malformed messages dead-lettered as validation", workload.malformed.length, workload.malformed.length - malformedMissing.length, malformedMissing.length === 0),
    zero("DLQ messages of this run not accounted for", unmatched.length, unmatched.map((u) => u.body.slice(0, 60))),
    zero("messages left in the transaction queues", queuesLeft),
  ];
}

/** The order system's invariants: final statuses, one failed row per FAILED order, no duplicates, the fulfilled share. */
export async function checkOrders(outputs: StackOutputsFile, clients: Clients, placed: PlacedOrder[], successRate: number): Promise<Check[]> {
  const accepted = placed.filter((p) => p.status === 200);
  const refused = placed.filter((p) => p.status !== 200);
  const conflicting = accepted.filter((p) => new Set(p.orderIds).size !== 1);
  const orderIds = accepted.map((p) => p.orderIds[0]!);
  const orders = await batchGet(clients.dynamo, outputs.ordersTable, "order_id", byOrderId(orderIds));
  const failedRows = await batchGet(clients.dynamo, outputs.failedOrdersTable, "order_id", byOrderId(orderIds));
  const byStatus = (status: string) => orderIds.filter((id) => orders.get(id)?.status === status);
  const fulfilled = byStatus("FULFILLED").length;
  const failed = byStatus("FAILED");
  const notFinal = orderIds.filter((id) => !FINAL.has(String(orders.get(id)?.status)));
  const rejectedWrongly = accepted.filter((p) => (orders.get(p.orderIds[0]!)?.status === "REJECTED") !== p.planned.rejected);
  const failedWithoutRow = failed.filter((id) => !failedRows.has(id));
  const rowsForOthers = orderIds.filter((id) => failedRows.has(id) && orders.get(id)?.status !== "FAILED");

  // One order per Idempotency-Key: the customer's orders in the table are exactly those accepted for it.
  const perCustomer = new Map<string, number>();
  for (const p of accepted) perCustomer.set(p.planned.customerId, (perCustomer.get(p.planned.customerId) ?? 0) + 1);
  const duplicates = (
    await mapLimit([...perCustomer], 16, async ([customer, expected]) => {
      let count = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await clients.dynamo.send(new QueryCommand({ TableName: outputs.ordersTable, IndexName: "customer_id-created_at", KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer }, Select: "COUNT", ExclusiveStartKey: start }));
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
      return count > expected ? `${customer}: ${count} orders for ${expected} keys` : undefined;
    })
  ).filter((d): d is string => !!d);

  const decided = fulfilled + failed.length;
  const sd = Math.sqrt(decided * successRate * (1 - successRate));
  const low = Math.max(0, Math.floor(decided * successRate - 4.5 * sd));
  const high = Math.ceil(decided * successRate + 4.5 * sd);
  return [
    row("orders placed (200, retried with the same key)", placed.length, accepted.length, refused.length === 0),
    zero("orders refused (a valid order answered non-200 after all retries)", refused.length, refused.map((r) => `${r.status} ${r.refusal ?? ""}`.slice(0, 80))),
    zero("keys answered with two different order ids", conflicting.length),
    zero("customers with more orders than accepted keys", duplicates.length, duplicates),
    zero("accepted orders not final", notFinal.length, notFinal),
    row("orders FULFILLED / FAILED / REJECTED", "", `${fulfilled} / ${failed.length} / ${byStatus("REJECTED").length}`, true),
    zero("orders REJECTED unless they held a test product", rejectedWrongly.length),
    zero("FAILED orders without their failed row", failedWithoutRow.length, failedWithoutRow),
    zero("failed rows of orders not FAILED", rowsForOthers.length, rowsForOthers),
    row(`fulfilled share within 4.5σ of fulfillmentSuccessRate ${successRate}`, `${low}..${high} of ${decided}`, fulfilled, fulfilled >= low && fulfilled <= high),
    zero("messages left in the fulfillment queue and its DLQ", (await messagesIn(clients.sqs, outputs.fulfillmentQueueUrl)) + (await messagesIn(clients.sqs, outputs.fulfillmentDlqUrl))),
  ];
}
