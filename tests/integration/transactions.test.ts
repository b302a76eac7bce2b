/**
 * The FifoTransactionBus end to end, through the stack's outputs only: publish to the topic, read
 * the tables and queues. Runs against a local cloud, or a deployed stack with OUTPUTS_FILE.
 */
import { randomUUID } from "node:crypto";
import { PublishCommand } from "@aws-sdk/client-sns";
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Message } from "@aws-sdk/client-sqs";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { TransactionPublisher, newTransaction, toPublishRequest } from "../../functions/transactions/publisher";
import { inspectDeadLetterQueue } from "../../scripts/redrive/inspect";
import { redrive } from "../../scripts/redrive/move";
import { resolveTarget } from "../../scripts/redrive/targets";
import type { Target } from "./target";
import { eventually, openTarget } from "./target";

let target: Target;
let publisher: TransactionPublisher;

beforeAll(async () => {
  target = await openTarget();
  publisher = new TransactionPublisher(target.outputs.transactionTopicArn, target.sns);
});
afterAll(async () => {
  await target?.stop();
});

function printLogsOnFailure(): void {
  onTestFailed(() => console.log(`Local cloud logs (last lines):\n${target.recentLogs().join("\n")}`));
}

const bankSetup = (customer: string) =>
  newTransaction({
    customer_id: customer,
    transaction_type: "bank_account_setup",
    bank_account: { account_holder: "Jane Doe", routing_number: "021000021", account_number: "000123456789", account_type: "checking" },
  });
const payment = (customer: string, amount: number) => newTransaction({ customer_id: customer, transaction_type: "payment", amount, currency: "USD" });

/** The payment's ledger row in any status (`APPLYING` is a claimed, unfinished one). */
async function ledgerEntry(customer: string, transactionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await target.dynamo.send(
    new GetCommand({ TableName: target.outputs.paymentsTable, Key: { customer_id: customer, entry: `TX#${transactionId}` }, ConsistentRead: true }),
  );
  return Item;
}

/** The payment's completed ledger row. */
async function ledgerRow(customer: string, transactionId: string): Promise<Record<string, unknown> | undefined> {
  const item = await ledgerEntry(customer, transactionId);
  return item?.status === "COMPLETED" ? item : undefined;
}

async function rowsOf(table: string, customer: string): Promise<Record<string, unknown>[]> {
  const { Items } = await target.dynamo.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer }, ConsistentRead: true }),
  );
  return Items ?? [];
}

async function messagesIn(queueUrl: string): Promise<number> {
  const { Attributes } = await target.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Messages received by a consumer and not yet deleted or visible again (approximate on AWS). */
async function inFlight(queueUrl: string): Promise<number> {
  const { Attributes } = await target.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessagesNotVisible"] }));
  return Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe("FifoTransactionBus", () => {
  it("seed CUST-WORKFLOW-001: a bank account setup then a $250.75 payment gives one ledger row and a balance of 250.75, queues and DLQs empty", async () => {
    printLogsOnFailure();
    const customer = `CUST-WORKFLOW-001-${target.runId}`;
    const setup = bankSetup(customer);
    await publisher.publish(setup);
    await eventually("the active bank account", async () => {
      const { Item } = await target.dynamo.send(new GetCommand({ TableName: target.outputs.bankAccountsTable, Key: { customer_id: customer, record: "ACTIVE" }, ConsistentRead: true }));
      return Item;
    });
    const pay = payment(customer, 250.75);
    await publisher.publish(pay);

    const row = await eventually("the ledger row", () => ledgerRow(customer, pay.transaction_id));
    expect(row).toMatchObject({ customer_id: customer, transaction_id: pay.transaction_id, amount: 250.75, balance_after: 250.75, status: "COMPLETED" });
    const rows = await rowsOf(target.outputs.paymentsTable, customer);
    expect(rows.filter((r) => String(r.entry).startsWith("TX#"))).toHaveLength(1);
    expect(rows.find((r) => r.entry === "BALANCE")).toMatchObject({ balance_cents: 25075 });

    const queues = [...Object.values(target.outputs.transactionQueueUrls), ...Object.values(target.outputs.transactionDlqUrls)];
    await eventually("empty queues and DLQs", async () => ((await Promise.all(queues.map(messagesIn))).every((n) => n === 0) ? true : undefined), 30_000);
  });

  it("keeps FIFO order per customer across many interleaved customers (20 customers x 5 payments)", async () => {
    printLogsOnFailure();
    const customers = Array.from({ length: 20 }, (_, i) => `CUST-FIFO-${target.runId}-${String(i).padStart(2, "0")}`);
    await publisher.publishAll(customers.map(bankSetup));
    await eventually(
      "every bank account",
      async () => {
        const found = await Promise.all(
          customers.map(async (c) => (await target.dynamo.send(new GetCommand({ TableName: target.outputs.bankAccountsTable, Key: { customer_id: c, record: "ACTIVE" } }))).Item),
        );
        return found.every(Boolean) ? true : undefined;
      },
      60_000,
      500,
    );
    // Round-robin: customer 0's 1st, customer 1's 1st, ..., customer 0's 2nd, ... Amounts 1..5 make
    // each customer's running balance 1, 3, 6, 10, 15 only if applied in publish order.
    const published: { customer: string; transactionId: string }[] = [];
    const payments = [];
    for (let k = 1; k <= 5; k += 1) {
      for (const customer of customers) {
        const tx = payment(customer, k);
        payments.push(tx);
        published.push({ customer, transactionId: tx.transaction_id });
      }
    }
    await publisher.publishAll(payments);

    await eventually(
      "all 100 ledger rows",
      async () => {
        const rows = await Promise.all(customers.map((c) => rowsOf(target.outputs.paymentsTable, c)));
        return rows.every((r) => r.filter((row) => String(row.entry).startsWith("TX#") && row.status === "COMPLETED").length === 5) ? true : undefined;
      },
      90_000,
      1000,
    );
    for (const customer of customers) {
      const rows = await rowsOf(target.outputs.paymentsTable, customer);
      const balanceOf = new Map(rows.map((r) => [r.transaction_id, r.balance_after]));
      const sequence = published.filter((p) => p.customer === customer).map((p) => balanceOf.get(p.transactionId));
      expect(sequence, customer).toEqual([1, 3, 6, 10, 15]);
    }
  }, 180_000);

  it("applies a payment that arrives before its bank account setup once the setup is processed", async () => {
    printLogsOnFailure();
    const customer = `CUST-EARLY-${target.runId}`;
    const pay = payment(customer, 42.5);
    const paymentQueue = target.outputs.transactionQueueUrls.payment!;
    // The previous tests' messages are gone, so a message in flight below is this payment.
    await eventually("an idle payment queue", async () => ((await messagesIn(paymentQueue)) === 0 ? true : undefined), 30_000);
    await publisher.publish(pay);
    // Wait until the consumer has received the payment: in flight while it is tried, then while it
    // waits out its retry backoff (1 s, 2 s, 4 s, ...) for want of an account.
    await eventually("the payment to be received by its consumer", async () => ((await inFlight(paymentQueue)) >= 1 ? true : undefined), 30_000, 100);
    // Its first try, without an account, writes nothing, not even a claimed APPLYING row. A receipt
    // does not say when the try ends (a consumer that wrongly applies it writes a few ms later), so
    // the ledger is watched for the first retry backoff (1 s) after the receipt, not read once.
    const receivedAt = Date.now();
    do {
      expect(await ledgerEntry(customer, pay.transaction_id)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() - receivedAt < 1000);
    await publisher.publish(bankSetup(customer));
    const row = await eventually("the late payment's ledger row", () => ledgerRow(customer, pay.transaction_id), 60_000, 500);
    expect(row).toMatchObject({ amount: 42.5, balance_after: 42.5 });
  }, 90_000);

  it("dead-letters an invalid transaction with its failure reason and stores nothing", async () => {
    printLogsOnFailure();
    const customer = `CUST-INVALID-${target.runId}`;
    const transactionId = randomUUID();
    // Published raw (the typed publisher refuses it), as a faulty producer would.
    await target.sns.send(
      new PublishCommand({
        TopicArn: target.outputs.transactionTopicArn,
        Message: JSON.stringify({ transaction_id: transactionId, customer_id: customer, transaction_type: "payment", timestamp: new Date().toISOString(), amount: -5, currency: "USD" }),
        MessageGroupId: customer,
        MessageDeduplicationId: transactionId,
        MessageAttributes: {
          transaction_type: { DataType: "String", StringValue: "payment" },
          customer_id: { DataType: "String", StringValue: customer },
          message_group_id: { DataType: "String", StringValue: customer },
        },
      }),
    );
    const dlqUrl = target.outputs.transactionDlqUrls.payment!;
    const message = await eventually<Message>(
      "the invalid transaction in the payment DLQ",
      async () => {
        const { Messages } = await target.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], VisibilityTimeout: 5 }));
        return Messages?.find((m) => m.Body?.includes(transactionId));
      },
      60_000,
      0,
    );
    await target.sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
    expect(message.MessageAttributes?.failure_kind?.StringValue).toBe("validation");
    expect(message.MessageAttributes?.failure_reason?.StringValue).toMatch(/amount/);
    expect(await rowsOf(target.outputs.paymentsTable, customer)).toEqual([]);
  }, 90_000);

  it("redrives payments dead-lettered while their customer had no bank account: after the setup each is applied once, in order, and the balance is right", async () => {
    printLogsOnFailure();
    const paymentQueue = target.outputs.transactionQueueUrls.payment!;
    const dlqUrl = target.outputs.transactionDlqUrls.payment!;
    const customers = { A: `CUST-REDRIVE-A-${target.runId}`, B: `CUST-REDRIVE-B-${target.runId}` };
    const payments = [payment(customers.A, 10), payment(customers.B, 7.25), payment(customers.A, 20.5), payment(customers.B, 1.75)];
    await publisher.publishAll(payments);

    // No bank account: each payment is retried (1, 2, 4, 8 s) and dead-lettered on its 5th receive, a
    // customer's payments one after the other (FIFO).
    await eventually(
      "the four payments dead-lettered",
      async () => ((await messagesIn(paymentQueue)) === 0 && (await messagesIn(dlqUrl)) >= payments.length ? true : undefined),
      120_000,
      1000,
    );
    for (const p of payments) expect(await ledgerEntry(p.customer_id as string, p.transaction_id as string)).toBeUndefined();

    const payments_ = resolveTarget(target.outputs, "payment");
    const report = await inspectDeadLetterQueue(target.sqs, payments_);
    // The DLQ holds these four payments and nothing else (the validation test above deletes its own).
    expect(report.count).toBe(payments.length);
    // A FIFO DLQ shows each customer's first message: here each customer's first payment.
    expect(report.byKey).toEqual(expect.arrayContaining([{ value: `customer ${customers.A}`, count: 1 }, { value: `customer ${customers.B}`, count: 1 }]));
    expect(report.byFailure.map((f) => f.value)).toContain(`exhausted — customer ${customers.A} has no active bank account yet`);

    // The same payment dead-lettered twice (as a crash between the dead-letter send and the delete
    // would leave it): the redrive hands both copies to the consumer, and the ledger applies it once.
    const first = toPublishRequest(payments[0]!);
    await target.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: first.Message!,
        MessageAttributes: Object.fromEntries(Object.entries(first.MessageAttributes ?? {}).map(([k, v]) => [k, { DataType: v.DataType!, StringValue: v.StringValue }])),
        MessageGroupId: customers.A,
        MessageDeduplicationId: `copy-${String(payments[0]!.transaction_id)}`,
      }),
    );

    await publisher.publishAll([bankSetup(customers.A), bankSetup(customers.B)]);
    for (const customer of Object.values(customers)) {
      await eventually(`${customer}'s active bank account`, async () => {
        const { Item } = await target.dynamo.send(new GetCommand({ TableName: target.outputs.bankAccountsTable, Key: { customer_id: customer, record: "ACTIVE" }, ConsistentRead: true }));
        return Item;
      });
    }

    const result = await redrive(target.sqs, payments_, { pollMs: 250 });
    expect(result).toMatchObject({ via: "move-task", status: "COMPLETED" });
    // The four payments and the copy.
    expect(result.moved).toBe(payments.length + 1);

    const rows = await eventually(
      "the four ledger rows",
      async () => {
        const all = (await Promise.all(Object.values(customers).map((c) => rowsOf(target.outputs.paymentsTable, c)))).flat();
        const completed = all.filter((r) => String(r.entry).startsWith("TX#") && r.status === "COMPLETED");
        return completed.length === payments.length ? all : undefined;
      },
      90_000,
      500,
    );
    const balance = (customer: string) => rows.find((r) => r.customer_id === customer && r.entry === "BALANCE")?.balance_cents;
    expect(balance(customers.A)).toBe(3050);
    expect(balance(customers.B)).toBe(900);
    // Each customer's payments in the order they were published (FIFO through the DLQ and back).
    const after = (p: (typeof payments)[number]) => rows.find((r) => r.entry === `TX#${String(p.transaction_id)}`)?.balance_after;
    expect(payments.map(after)).toEqual([10, 7.25, 30.5, 9]);
    // The copy of the first payment came last and changed nothing (still 30.50 above), and the DLQ holds none of ours.
    await eventually("no payment of ours left in the DLQ", async () => ((await messagesIn(paymentQueue)) === 0 ? true : undefined), 30_000);
    const left = await inspectDeadLetterQueue(target.sqs, payments_);
    expect(left.byKey.filter((k) => Object.values(customers).some((c) => k.value.includes(c)))).toEqual([]);
  }, 240_000);
});

// Last in the file: every call the suite made the program make was allowed by the real grants.
describe("IAM", () => {
  it("enforced IAM on every call and refused none", () => {
    expect(target.iamEnforced).toBe(true);
    expect(target.deniedCalls()).toEqual([]);
  });
});
