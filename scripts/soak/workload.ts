/**
 * The soak's workload, planned up front from a seed so a failing run can be replayed: the bus
 * messages in publish lanes (each customer's messages in order within one lane) and the orders,
 * with what each one must end as.
 *
 * Bus: every customer sets up a bank account and makes payments; interleaved across customers; for
 * some customers a payment is published before the setup; some payments are republished with a
 * fresh deduplication id (as after SNS's 5-minute window); malformed and schema-violating messages
 * are mixed in. Orders: valid ones (some with a test product, which the workflow rejects), each
 * with its own `Idempotency-Key`.
 */
import { randomUUID } from "node:crypto";
import type { MessageAttributeValue } from "@aws-sdk/client-sns";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { toPublishRequest } from "../../functions/transactions/publisher";

export interface SoakSize {
  /** Valid transactions (bank account setups and payments). @default 10000 */
  transactions: number;
  /** Customers they are spread over (each has one setup). @default 1000 */
  customers: number;
  /** Orders. @default 5000 */
  orders: number;
  /** Seed of the plan. */
  seed: number;
}

/** One entry of an SNS `PublishBatch`. */
export interface BusMessage {
  Message: string;
  MessageGroupId: string;
  MessageDeduplicationId: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
}

export interface PlannedPayment {
  transactionId: string;
  customer: string;
  cents: number;
  /** Position among the customer's payments in publish order (0, 1, ...). */
  position: number;
}

export interface PlannedOrder {
  idempotencyKey: string;
  customerId: string;
  body: { customer_id: string; items: { product_id: string; quantity: number }[] };
  /** The final status the workflow gives it: `REJECTED` for a test product, else fulfilled or failed. */
  rejected: boolean;
}

export interface Workload {
  runId: string;
  /** Publish lanes: each is published in order, the lanes in parallel. */
  lanes: BusMessage[][];
  customers: string[];
  /** Customer → the setup's transaction id. */
  setups: Map<string, string>;
  /** Every valid payment, once (a republished one is listed once). */
  payments: PlannedPayment[];
  republished: number;
  /** Customers whose first payment is published before their setup. */
  paymentFirst: number;
  /** Markers of malformed messages (transaction id, or the text in a non-JSON body): each must be dead-lettered as `validation`. */
  malformed: string[];
  orders: PlannedOrder[];
}

const LANES = 8;
const REPUBLISH_RATE = 0.03;
const PAYMENT_FIRST_RATE = 0.05;
const MALFORMED_RATE = 0.02;
const REJECTED_ORDER_RATE = 0.05;

/** Plans a run. Ids are random (unique per run); everything else follows from the seed. */
export function planWorkload(size: SoakSize, runId: string = randomUUID().slice(0, 8)): Workload {
  const rng = xoroshiro128plus(size.seed);
  const random = () => uniformFloat64(rng);
  const pick = (n: number) => Math.floor(random() * n);
  const customers = Array.from({ length: size.customers }, (_, i) => `SOAK-${runId}-${String(i).padStart(5, "0")}`);
  const sequences = new Map<string, BusMessage[]>(customers.map((c) => [c, []]));
  const setups = new Map<string, string>();
  const payments: PlannedPayment[] = [];
  const malformed: string[] = [];
  let republished = 0;
  let paymentFirst = 0;

  const paymentCounts = new Map<string, number>(customers.map((c) => [c, 0]));
  for (let i = 0; i < size.transactions - size.customers; i++) {
    const customer = customers[pick(customers.length)]!;
    paymentCounts.set(customer, paymentCounts.get(customer)! + 1);
  }
  for (const customer of customers) {
    const sequence = sequences.get(customer)!;
    const setup = toPublishRequest({
      transaction_id: randomUUID(),
      customer_id: customer,
      transaction_type: "bank_account_setup",
      timestamp: new Date().toISOString(),
      bank_account: { account_holder: "Soak Tester", routing_number: "021000021", account_number: "000123456789", account_type: "checking" },
    });
    setups.set(customer, setup.MessageDeduplicationId);
    const own: BusMessage[] = [];
    for (let position = 0; position < paymentCounts.get(customer)!; position++) {
      const cents = 1 + pick(50_000);
      const request = toPublishRequest({ transaction_id: randomUUID(), customer_id: customer, transaction_type: "payment", timestamp: new Date().toISOString(), amount: cents / 100, currency: "USD" });
      payments.push({ transactionId: request.MessageDeduplicationId, customer, cents, position });
      own.push(request);
      if (random() < REPUBLISH_RATE) {
        own.push({ ...request, MessageDeduplicationId: randomUUID() });
        republished++;
      }
    }
    if (own.length && random() < PAYMENT_FIRST_RATE) {
      sequence.push(own[0]!, setup, ...own.slice(1));
      paymentFirst++;
    } else sequence.push(setup, ...own);
  }
  for (let i = 0; i < Math.round(size.transactions * MALFORMED_RATE); i++) {
    const customer = customers[pick(customers.length)]!;
    const sequence = sequences.get(customer)!;
    const message = i % 2 === 0 ? notJson(customer, runId, i) : schemaViolation(customer);
    malformed.push(message.marker);
    sequence.splice(pick(sequence.length + 1), 0, message.entry);
  }

  const lanes: BusMessage[][] = Array.from({ length: LANES }, () => []);
  customers.forEach((customer, i) => interleave(lanes[i % LANES]!, sequences.get(customer)!, pick));

  const orders: PlannedOrder[] = Array.from({ length: size.orders }, (_, i) => {
    const rejected = random() < REJECTED_ORDER_RATE;
    const customerId = `soak-${runId}-${String(i % Math.max(1, Math.ceil(size.orders / 5))).padStart(5, "0")}`;
    const items = [{ product_id: rejected ? "prod-soak-test" : `prod-${1 + pick(20)}`, quantity: 1 + pick(5) }];
    return { idempotencyKey: `soak-${runId}-${i}`, customerId, body: { customer_id: customerId, items }, rejected };
  });
  return { runId, lanes, customers, setups, payments, republished, paymentFirst, malformed, orders };
}

/** Merges `sequence` into `lane` at random places, keeping both orders. */
function interleave(lane: BusMessage[], sequence: BusMessage[], pick: (n: number) => number): void {
  let at = 0;
  for (const message of sequence) {
    at += pick(lane.length - at + 1);
    lane.splice(at, 0, message);
    at++;
  }
}

const attributes = (type: string, customer: string): Record<string, MessageAttributeValue> => ({
  transaction_type: { DataType: "String", StringValue: type },
  customer_id: { DataType: "String", StringValue: customer },
  message_group_id: { DataType: "String", StringValue: customer },
});

/** A payment whose body is not JSON: dead-lettered as `validation`, found by the marker in its body. */
function notJson(customer: string, runId: string, i: number): { entry: BusMessage; marker: string } {
  // Fixed width: the check finds a dead letter by the marker in its body, and "…-not-json-2" was
  // found in the body of "…-not-json-20" (45 of 200 malformed messages counted as missing).
  const marker = `soak-${runId}-not-json-${String(i).padStart(6, "0")}`;
  return { marker, entry: { Message: `{ this is not JSON: ${marker}`, MessageGroupId: customer, MessageDeduplicationId: randomUUID(), MessageAttributes: attributes("payment", customer) } };
}

/** A payment with a string amount: dead-lettered as `validation`. */
function schemaViolation(customer: string): { entry: BusMessage; marker: string } {
  const transactionId = randomUUID();
  const body = { transaction_id: transactionId, customer_id: customer, transaction_type: "payment", timestamp: new Date().toISOString(), amount: "ten dollars", currency: "USD" };
  return { marker: transactionId, entry: { Message: JSON.stringify(body), MessageGroupId: customer, MessageDeduplicationId: transactionId, MessageAttributes: attributes("payment", customer) } };
}
