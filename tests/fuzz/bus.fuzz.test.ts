/**
 * Fuzzing the transaction bus (issue 16, part 4): 1,000 generated messages published to one local
 * cloud's topic, checked in aggregate once the bus has settled.
 *
 * Every case is a topic message (body, attributes, group id) and what it deserves:
 * - refused by the topic (empty, or over SNS's 256 KB): the publish fails, nothing arrives;
 * - filtered (no `transaction_type` attribute, or one no queue subscribes to): nothing arrives;
 * - processed (a valid transaction): its row is stored (`SETUP#<id>` in bank accounts, a `COMPLETED`
 *   `TX#<id>` ledger row in payments), nothing in a DLQ;
 * - dead-lettered: in the DLQ of the queue its attribute routes it to, with `failure_kind`
 *   `validation` (or `permanent` for a payment over the limit) and a `failure_reason` naming the
 *   offending field, and nothing stored.
 * None is lost (each lands where it should, once), no DLQ message is unaccounted for, and every
 * stored item belongs to a valid transaction.
 *
 * The cases come from fast-check (`fc.sample` with a seed, printed on failure; `FUZZ_SEED` replays
 * it): publishing them one property run at a time and waiting for each would take hours, so they
 * are batch-published (`PublishBatch`, 10 per call) and checked together. Each message carries a
 * `fuzz_case` attribute (the DLQ keeps the original attributes) to match it up.
 *
 * Bodies: valid transactions of both types (also with unknown fields, Unicode holders, limits), each
 * field missing, of the wrong type or with a bad value (Unicode and control characters, oversize
 * strings, negative, zero, sub-cent and over-limit amounts, bad checksums), the other type's body,
 * malformed JSON, JSON that is not an object, arbitrary JSON, bodies up to SNS's size limit and over
 * it. Attributes: missing or unknown `transaction_type`, a `customer_id` that does not match the
 * body. Group ids: the customer, another customer, odd punctuation, 128 characters.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import { PublishBatchCommand, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { MessageAttributeValue, PublishBatchRequestEntry } from "@aws-sdk/client-sns";
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransactionPublisher, newTransaction, toPublishRequest } from "../../functions/transactions/publisher";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import { clientConfig } from "../../local/outputs";
import { eventually } from "../integration/target";
import { Tally, oddText, routingNumber, subCentAmount, uuid } from "./support";

const CASES = 1000;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const PREFIX = `fz${randomUUID().slice(0, 6)}`;
/** Customers with an active bank account before the fuzz starts: valid payments are theirs. */
const POOL = Array.from({ length: 40 }, (_, k) => `${PREFIX}-pool-${k}`);
/** The stack's `paymentLimit` (Pulumi.yaml default). */
const PAYMENT_LIMIT = 10_000;
/** SNS's limit on a message with its attributes. */
const SNS_MAX_BYTES = 262_144;

/**
 * The characters SQS carries (AWS: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF).
 * A message with others never reaches a queue on AWS (SNS cannot deliver it), so the generated
 * bodies and attributes keep to these; JSON escapes control characters anyway.
 */
const SQS_TEXT = /^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

type Route = "bank_account_setup" | "payment";
const ROUTES: Route[] = ["bank_account_setup", "payment"];

type Expectation =
  | { kind: "refused" }
  | { kind: "filtered" }
  | { kind: "processed"; route: Route; customerId: string; transactionId: string }
  | { kind: "dead-lettered"; route: Route; failureKind: "validation" | "permanent"; fields?: string[] };

interface BusCase {
  id: string;
  body: string;
  groupId: string;
  attributes: Record<string, string>;
  expected: Expectation;
  note: string;
  /** Published as the typed publisher builds it (`toPublishRequest`): a valid transaction, attributes as published. */
  viaPublisher: boolean;
}

let cloud: LocalCloud;
let sns: SNSClient;
let sqs: SQSClient;
let dynamo: DynamoDBDocumentClient;
const logs: string[] = [];
const tally = new Tally();

beforeAll(async () => {
  cloud = await startLocalCloud({
    stack: "dev",
    config: { accountFingerprintKey: randomBytes(32).toString("hex") },
    outputsFile: false,
    traces: false,
    log: (line) => {
      logs.push(line);
      if (process.env.FUZZ_LOG_FILE) appendFileSync(process.env.FUZZ_LOG_FILE, `${line}\n`);
      if (logs.length > 300) logs.shift();
    },
  });
  sns = new SNSClient(clientConfig(cloud.outputs, "sns"));
  sqs = new SQSClient(clientConfig(cloud.outputs, "sqs"));
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud.outputs, "dynamodb")));
}, 180_000);

afterAll(async () => {
  tally.print(`bus fuzz (seed ${SEED}): case kind → outcome`);
  sns?.destroy();
  sqs?.destroy();
  dynamo?.destroy();
  await cloud?.stop();
});

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const timestamp = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true }).chain((d) => {
  const iso = d.toISOString();
  return fc.constantFrom(iso, iso.replace(/\.\d{3}Z$/, "Z"), iso.replace(/Z$/, "123Z"));
});
const customerId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/).map((rest) => `${PREFIX}-s-${rest}`);
const holder = fc.oneof(
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }),
  fc.constantFrom("Jane Doe", "José Ñúñez", "李小龍", "O'Brien-Smith", "  padded  ", "A", "x".repeat(100), "😀 Emoji", "\u202eRTL", "tab\there", "new\nline"),
).filter((h) => h.trim().length >= 1 && h.trim().length <= 100);

interface SetupBody {
  transaction_id: string;
  customer_id: string;
  transaction_type: "bank_account_setup";
  timestamp: string;
  bank_account: { account_holder: string; routing_number: string; account_number: string; account_type: string };
  [extra: string]: unknown;
}
interface PaymentBody {
  transaction_id: string;
  customer_id: string;
  transaction_type: "payment";
  timestamp: string;
  amount: number;
  currency?: string;
  [extra: string]: unknown;
}

const validSetup: fc.Arbitrary<SetupBody> = fc.record({
  transaction_id: uuid(),
  customer_id: customerId,
  transaction_type: fc.constant("bank_account_setup" as const),
  timestamp,
  bank_account: fc.record({
    account_holder: holder,
    routing_number: routingNumber(),
    account_number: fc.stringMatching(/^\d{4,17}$/),
    account_type: fc.constantFrom("checking", "savings"),
  }),
});
const validPayment: fc.Arbitrary<PaymentBody> = fc.record(
  {
    transaction_id: uuid(),
    customer_id: fc.constantFrom(...POOL),
    transaction_type: fc.constant("payment" as const),
    timestamp,
    amount: fc.oneof(fc.integer({ min: 1, max: PAYMENT_LIMIT * 100 }), fc.constantFrom(1, PAYMENT_LIMIT * 100, 29, 30, 1001)).map((cents) => cents / 100),
    currency: fc.oneof(fc.constant("USD"), fc.stringMatching(/^[A-Z]{3}$/)),
  },
  { requiredKeys: ["transaction_id", "customer_id", "transaction_type", "timestamp", "amount"] },
);
const validBody = (route: Route): fc.Arbitrary<SetupBody | PaymentBody> => (route === "payment" ? validPayment : validSetup);

/** JSON values of every type but a string / a number / an object. */
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const notANumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }), fc.integer({ min: 1, max: 99 }).map(String));
const notAnObject = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.integer(), { maxLength: 2 }));
const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"];

/** A field's new value, or `undefined` to remove it. */
type Defect = [path: string, value: unknown, note: string];

/** Wrong values per field, with the path the reason must name. */
function defects(route: Route): fc.Arbitrary<Defect>[] {
  const missing = (path: string): fc.Arbitrary<Defect> => fc.constant([path, undefined, `no ${path}`]);
  const common: fc.Arbitrary<Defect>[] = [
    missing("transaction_id"),
    fc.oneof(notAString, fc.constantFrom("", "not-a-uuid", "00000000-0000-0000-0000-00000000000g"), oddText(), uuid().map((u) => u.slice(0, 35)), uuid().map((u) => `${u} `)).map((v) => ["transaction_id", v, "bad transaction_id"]),
    missing("customer_id"),
    fc
      .oneof(notAString, fc.constant(""), fc.stringMatching(/^[A-Za-z0-9]{129,200}$/), oddText(20).filter((s) => s !== "" && !/^[A-Za-z0-9_.:-]+$/.test(s)).map((s) => `${PREFIX}${s}`))
      .map((v) => ["customer_id", v, "bad customer_id"]),
    missing("timestamp"),
    fc.oneof(notAString, fc.constantFrom("", "yesterday", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-01-01", "2025-01-01T00:00:00+02:00", "2025-01-01 00:00:00Z", "1735689600")).map((v) => ["timestamp", v, "bad timestamp"]),
    fc.oneof(fc.constant(undefined), notAString, fc.constantFrom("", "Payment", "refund", "bank-account-setup", "payment ", ROUTES.find((r) => r !== route)!)).map((v) => ["transaction_type", v, "bad body transaction_type"]),
  ];
  if (route === "payment") {
    return [
      ...common,
      missing("amount"),
      notANumber.map((v) => ["amount", v, "amount not a number"]),
      fc.oneof(fc.constantFrom(0, -0, -1, -0.01), fc.double({ max: 0, noNaN: true, noDefaultInfinity: true })).map((v) => ["amount", v, "amount not positive"]),
      subCentAmount().map((text) => ["amount", Number(text), "amount with sub-cent digits"]),
      fc.oneof(notAString, fc.constantFrom("", "usd", "US", "USDX", "€", "U$D", "12A")).map((v) => ["currency", v, "bad currency"]),
    ];
  }
  return [
    ...common,
    missing("bank_account"),
    notAnObject.map((v) => ["bank_account", v, "bank_account not an object"]),
    missing("bank_account.account_holder"),
    fc
      .oneof(notAString, fc.constantFrom("", " ", "\t\n"), fc.string({ minLength: 101, maxLength: 300 }).filter((s) => s.trim().length > 100), fc.integer({ min: 1_000, max: 100_000 }).map((n) => "h".repeat(n)))
      .map((v) => ["bank_account.account_holder", v, "bad holder"]),
    fc
      .oneof(
        notAString,
        routingNumber().map((r) => r.slice(0, 8) + String((Number(r[8]) + 1) % 10)),
        fc.stringMatching(/^\d{1,8}$/),
        fc.stringMatching(/^\d{10,12}$/),
        fc.constantFrom("", "02100002a", "٠٢١٠٠٠٠٢١", " 021000021"),
      )
      .map((v) => ["bank_account.routing_number", v, "bad routing number"]),
    fc.oneof(notAString, fc.stringMatching(/^\d{0,3}$/), fc.stringMatching(/^\d{18,25}$/), fc.constantFrom("1234-5678", "12345678a", "１２３４５")).map((v) => ["bank_account.account_number", v, "bad account number"]),
    fc.oneof(notAString, fc.constantFrom("", "Checking", "brokerage", "checking ", "savings\u0000")).map((v) => ["bank_account.account_type", v, "bad account type"]),
  ];
}

function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split(".");
  const copy = { ...body };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head!];
    else copy[head!] = value;
    return copy;
  }
  copy[head!] = withField({ ...(body[head!] as Record<string, unknown>) }, rest.join("."), value);
  return copy;
}

/** A body, what its consumer does with it, and what the DLQ reason must name. */
interface Body {
  text: string;
  customerId?: string;
  /** Valid for its own type: the transaction it carries. */
  valid?: { route: Route; transactionId: string; customerId: string; overLimit: boolean };
  fields?: string[];
  note: string;
}

function bodyFor(route: Route): fc.Arbitrary<Body> {
  const fromObject = (o: Record<string, unknown>, note: string, fields?: string[]): Body => ({
    text: JSON.stringify(o),
    ...(typeof o.customer_id === "string" ? { customerId: o.customer_id } : {}),
    ...(fields ? { fields } : {}),
    note,
  });
  const valid = (o: SetupBody | PaymentBody, note: string, text = JSON.stringify(o)): Body => ({
    text,
    customerId: o.customer_id,
    valid: { route: o.transaction_type, transactionId: o.transaction_id, customerId: o.customer_id, overLimit: o.transaction_type === "payment" && o.amount > PAYMENT_LIMIT },
    note,
  });
  return fc.oneof(
    // Valid, as the publisher writes it.
    { weight: 6, arbitrary: validBody(route).map((o) => valid(o, "valid")) },
    // Valid with fields the contract does not know (new fields may be added), also own `__proto__`.
    {
      weight: 1,
      arbitrary: fc
        .tuple(validBody(route), fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, "note", "version", "metadata"), oddText(10)), fc.jsonValue({ maxDepth: 2 }))
        .filter(([o, k]) => !Object.hasOwn(o, k))
        .map(([o, k, v]) => valid(o, "valid with an unknown field", `${JSON.stringify(o).slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(v)}}`)),
    },
    // Over the payment limit: valid by the contract, refused by the consumer for good.
    ...(route === "payment"
      ? [{ weight: 1, arbitrary: fc.tuple(validPayment, fc.integer({ min: PAYMENT_LIMIT * 100 + 1, max: 1e14 })).map(([o, cents]) => valid({ ...o, amount: cents / 100 }, "over the limit")) }]
      : []),
    // One field wrong.
    { weight: 10, arbitrary: fc.tuple(validBody(route), fc.oneof(...defects(route))).map(([o, [path, value, note]]) => fromObject(withField(o, path, value), note, [path])) },
    // The other type's body.
    { weight: 1, arbitrary: validBody(ROUTES.find((r) => r !== route)!).map((o) => fromObject(o, "the other type's body", ["transaction_type"])) },
    // Not JSON.
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          oddText(60),
          validBody(route).map((o) => JSON.stringify(o).slice(0, -1)),
          validBody(route).map((o) => `${JSON.stringify(o)}}`),
          validBody(route).map((o) => JSON.stringify(o).replaceAll('"', "'")),
          validBody(route).map((o) => `\ufeff${JSON.stringify(o)}`),
          fc.constantFrom("NaN", "undefined", "{", "{]", "{'a':1}", "[1,]", "\u0000"),
        )
        .filter((text) => {
          if (text === "") return false;
          try {
            JSON.parse(text);
            return false;
          } catch {
            return true;
          }
        })
        .map((text) => ({ text, fields: ["body is not JSON"], note: "not JSON" })),
    },
    // JSON, not an object.
    { weight: 1, arbitrary: notAnObject.map((v) => ({ text: JSON.stringify(v), fields: ["(body)"], note: "JSON, not an object" })) },
    // Any JSON at all.
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v), note: "any JSON" })) },
  );
}

/** A group id SNS accepts: 1-128 letters, digits and punctuation. */
const oddGroupId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/),
  fc.constant("g".repeat(128)),
  fc.constantFrom("!", "#$%", "a:b", "{}", "~~~"),
);

interface Shape {
  /** `transaction_type` attribute: the route, none, or a value no queue subscribes to. */
  typeAttribute: "route" | "none" | string;
  customerAttribute: "body" | string;
  group: "customer" | "other customer" | string;
  note: string;
}

const shape: fc.Arbitrary<Shape> = fc.oneof(
  { weight: 16, arbitrary: fc.constant<Shape>({ typeAttribute: "route", customerAttribute: "body", group: "customer", note: "as published" }) },
  { weight: 1, arbitrary: fc.constant<Shape>({ typeAttribute: "none", customerAttribute: "body", group: "customer", note: "no transaction_type attribute" }) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.constantFrom("refund", "Payment", "PAYMENT", "payment ", "bank-account-setup", "bank_account_setup\u0000", "*"), oddText(20).filter((s) => s.trim() !== ""))
      .filter((t) => !ROUTES.includes(t as Route))
      .map((t) => ({ typeAttribute: t, customerAttribute: "body", group: "customer", note: "unknown transaction_type attribute" })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.constantFrom(...POOL), oddText(20).filter((s) => s.trim() !== ""))
      .map((c) => ({ typeAttribute: "route", customerAttribute: c, group: "customer", note: "customer_id attribute not the body's" })),
  },
  { weight: 1, arbitrary: fc.constant<Shape>({ typeAttribute: "route", customerAttribute: "body", group: "other customer", note: "another customer's group" }) },
  { weight: 1, arbitrary: oddGroupId.map((g) => ({ typeAttribute: "route", customerAttribute: "body", group: g, note: "odd group id" })) },
);

/** Bodies near and over SNS's size limit (a few per run). */
function oversize(route: Route): fc.Arbitrary<Body> {
  return fc.tuple(validBody(route), fc.integer({ min: 200_000, max: SNS_MAX_BYTES + 10_000 })).map(([o, size]) => {
    const field = route === "payment" ? "currency" : "bank_account.account_holder";
    const base = JSON.stringify(withField(o, field, "")).length;
    const text = JSON.stringify(withField(o, field, "x".repeat(Math.max(0, size - base))));
    return { text, customerId: o.customer_id, fields: [field], note: `${field} of ${Math.round(size / 1000)} KB` };
  });
}

const busCase: fc.Arbitrary<Omit<BusCase, "id">> = fc
  .constantFrom(...ROUTES)
  .chain((route) =>
    fc.tuple(
      fc.constant(route),
      fc.oneof({ weight: 60, arbitrary: bodyFor(route) }, { weight: 1, arbitrary: oversize(route) }, { weight: 1, arbitrary: fc.constant<Body>({ text: "", note: "empty message" }) }),
      shape,
      fc.nat({ max: 19 }),
    ),
  )
  .map(([route, body, s, k]) => {
    const groupOk = (g: string | undefined): g is string => !!g && /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/.test(g);
    // A body without a usable customer id goes to one of a few groups (as bad messages of one sender would).
    const fallbackGroup = `${PREFIX}-g-${route}-${k}`;
    const groupId = s.group === "customer" ? (groupOk(body.customerId) ? body.customerId : fallbackGroup) : s.group === "other customer" ? POOL[0]! : s.group;
    const attributes: Record<string, string> = {};
    if (s.typeAttribute === "route") attributes.transaction_type = route;
    else if (s.typeAttribute !== "none") attributes.transaction_type = s.typeAttribute;
    const customerAttribute = s.customerAttribute === "body" ? (body.customerId ?? "unknown") : s.customerAttribute;
    if (customerAttribute !== "") attributes.customer_id = customerAttribute;
    attributes.message_group_id = groupId;
    const bytes = Buffer.byteLength(body.text) + Object.entries(attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 6 + Buffer.byteLength(v), 0) + 64;
    let expected: Expectation;
    if (body.text === "" || bytes > SNS_MAX_BYTES) expected = { kind: "refused" };
    else if (s.typeAttribute !== "route") expected = { kind: "filtered" };
    else if (body.valid && body.valid.route === route && !body.valid.overLimit) expected = { kind: "processed", route, customerId: body.valid.customerId, transactionId: body.valid.transactionId };
    else if (body.valid && body.valid.route === route) expected = { kind: "dead-lettered", route, failureKind: "permanent", fields: ["amount"] };
    else expected = { kind: "dead-lettered", route, failureKind: "validation", ...(body.fields ? { fields: body.fields } : {}) };
    // A body exactly at the limit is ambiguous (how SNS counts attribute bytes): keep clear of it.
    const nearLimit = Math.abs(bytes - SNS_MAX_BYTES) < 2_000;
    const viaPublisher = body.note === "valid" && s.note === "as published";
    return { body: body.text, groupId, attributes, expected, note: `${route}: ${body.note}; ${s.note}`, nearLimit, viaPublisher };
  })
  .filter((c) => !c.nearLimit && SQS_TEXT.test(c.body) && Object.values(c.attributes).every((v) => SQS_TEXT.test(v)))
  .map(({ nearLimit: _nearLimit, ...c }) => c);

// ---------------------------------------------------------------------------------------------
// Publishing and reading back
// ---------------------------------------------------------------------------------------------

/**
 * The batch entry of a case: built by the typed publisher (`toPublishRequest`) for a valid one sent
 * as published, raw otherwise. Every entry carries its `fuzz_case` attribute, and its case id as
 * the deduplication id (generated transaction ids could repeat, and SNS would drop the second one
 * as a duplicate, which is not what this test is about).
 */
function entryOf(c: BusCase, index: number): PublishBatchRequestEntry {
  const fuzzCase: MessageAttributeValue = { DataType: "String", StringValue: c.id };
  if (c.viaPublisher) {
    const request = toPublishRequest(JSON.parse(c.body));
    return { Id: String(index), ...request, MessageDeduplicationId: c.id, MessageAttributes: { ...request.MessageAttributes, fuzz_case: fuzzCase } };
  }
  const MessageAttributes: Record<string, MessageAttributeValue> = Object.fromEntries(
    Object.entries(c.attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
  );
  return { Id: String(index), Message: c.body, MessageGroupId: c.groupId, MessageDeduplicationId: c.id, MessageAttributes: { ...MessageAttributes, fuzz_case: fuzzCase } };
}

/**
 * Publishes every case, ten per call; returns the error of each refused one. An empty message is
 * published alone: AWS refuses it in a batch too, fauxqs's PublishBatch does not check (its Publish does).
 */
async function publishAll(cases: BusCase[]): Promise<Map<string, string>> {
  const refused = new Map<string, string>();
  for (const c of cases.filter((c) => c.body === "")) {
    try {
      const { Id: _id, ...single } = entryOf(c, 0);
      await sns.send(new PublishCommand({ TopicArn: cloud.outputs.transactionTopicArn, ...single }));
    } catch (error) {
      refused.set(c.id, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }
  const rest = cases.filter((c) => c.body !== "");
  for (let i = 0; i < rest.length; i += 10) {
    const chunk = rest.slice(i, i + 10);
    const entries = chunk.map(entryOf);
    try {
      const result = await sns.send(new PublishBatchCommand({ TopicArn: cloud.outputs.transactionTopicArn, PublishBatchRequestEntries: entries }));
      for (const failed of result.Failed ?? []) refused.set(chunk[Number(failed.Id)]!.id, `${failed.Code}: ${failed.Message}`);
    } catch {
      // The whole batch refused (one entry can do that): publish one by one to see which.
      for (const [j, entry] of entries.entries()) {
        try {
          const { Id: _id, ...single } = entry;
          await sns.send(new PublishCommand({ TopicArn: cloud.outputs.transactionTopicArn, ...single }));
        } catch (error) {
          refused.set(chunk[j]!.id, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
      }
    }
  }
  return refused;
}

interface DeadLetter {
  route: Route;
  kind?: string;
  reason?: string;
  body: string;
}

/** Receives and deletes what is in both DLQs now; returns the messages by `fuzz_case` (and the unattributed ones). */
async function drainDlqs(found: Map<string, DeadLetter[]>, stray: DeadLetter[]): Promise<number> {
  let received = 0;
  await Promise.all(
    ROUTES.map(async (route) => {
      const url = cloud.outputs.transactionDlqUrls[route]!;
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ["All"], VisibilityTimeout: 30 }));
        if (Messages.length === 0) return;
        received += Messages.length;
        for (const m of Messages) {
          const attr = (name: string) => m.MessageAttributes?.[name]?.StringValue;
          const letter: DeadLetter = { route, kind: attr("failure_kind"), reason: attr("failure_reason"), body: m.Body ?? "" };
          const id = attr("fuzz_case");
          if (id) found.set(id, [...(found.get(id) ?? []), letter]);
          else stray.push(letter);
        }
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    }),
  );
  return received;
}

const keyOf = (e: Extract<Expectation, { kind: "processed" }>) =>
  e.route === "payment" ? { customer_id: e.customerId, entry: `TX#${e.transactionId}` } : { customer_id: e.customerId, record: `SETUP#${e.transactionId}` };
const tableOf = (route: Route) => (route === "payment" ? cloud.outputs.paymentsTable : cloud.outputs.bankAccountsTable);

/** Which of `cases` (expected processed) have their row stored now (a payment's ledger row `COMPLETED`). */
async function storedNow(cases: BusCase[]): Promise<Set<string>> {
  const stored = new Set<string>();
  for (const route of ROUTES) {
    const mine = cases.filter((c) => c.expected.kind === "processed" && c.expected.route === route);
    for (let i = 0; i < mine.length; i += 100) {
      const chunk = mine.slice(i, i + 100);
      const keys = chunk.map((c) => keyOf(c.expected as Extract<Expectation, { kind: "processed" }>));
      const unique = [...new Map(keys.map((k) => [JSON.stringify(k), k])).values()];
      let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = { [tableOf(route)]: { Keys: unique } };
      const items: Record<string, unknown>[] = [];
      while (request && Object.keys(request).length) {
        const result = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
        items.push(...(result.Responses?.[tableOf(route)] ?? []));
        request = result.UnprocessedKeys as typeof request;
      }
      for (const c of chunk) {
        const key = keyOf(c.expected as Extract<Expectation, { kind: "processed" }>);
        const item = items.find((it) => it.customer_id === key.customer_id && (it.entry ?? it.record) === (key.entry ?? key.record));
        if (item && (route === "bank_account_setup" || item.status === "COMPLETED")) stored.add(c.id);
      }
    }
  }
  return stored;
}

async function queueDepth(url: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

async function scan(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: dynamo }, { TableName: table, ConsistentRead: true })) items.push(...(page.Items ?? []));
  return items;
}

// ---------------------------------------------------------------------------------------------

describe("transaction bus: fuzzed messages through the local cloud", () => {
  it(`every message is processed, dead-lettered with its reason, filtered or refused by the topic; none lost, nothing stored for a bad one (${CASES} cases)`, async () => {
    // Customers whose payments are valid: their bank accounts first.
    const publisher = new TransactionPublisher(cloud.outputs.transactionTopicArn, sns);
    await publisher.publishAll(
      POOL.map((customer_id) =>
        newTransaction({ customer_id, transaction_type: "bank_account_setup", bank_account: { account_holder: "Pool Holder", routing_number: "021000021", account_number: "000123456789", account_type: "checking" } }),
      ),
    );
    await eventually(
      "the pool's bank accounts",
      async () => {
        const results = await Promise.all(POOL.map((customer_id) => dynamo.send(new GetCommand({ TableName: cloud.outputs.bankAccountsTable, Key: { customer_id, record: "ACTIVE" } }))));
        return results.every((r) => r.Item) ? true : undefined;
      },
      120_000,
      500,
    );

    const cases: BusCase[] = fc.sample(busCase, { numRuns: CASES, seed: SEED }).map((c, n) => ({ ...c, id: `${PREFIX}-${n}` }));
    // What the contract accepts, the consumers process (the typed publisher refuses no valid case).
    for (const c of cases) if (c.expected.kind === "processed") expect(() => toPublishRequest(JSON.parse(c.body)), c.note).not.toThrow();
    const started = Date.now();
    const refused = await publishAll(cases);
    const publishedMs = Date.now() - started;

    // Settle: everything expected in a DLQ found, everything expected processed stored.
    const dead = new Map<string, DeadLetter[]>();
    const stray: DeadLetter[] = [];
    const expectDead = cases.filter((c) => c.expected.kind === "dead-lettered" && !refused.has(c.id));
    const expectStored = cases.filter((c) => c.expected.kind === "processed" && !refused.has(c.id));
    let stored: Set<string>;
    const deadline = Date.now() + Number(process.env.FUZZ_SETTLE_MS ?? 150_000);
    for (;;) {
      await drainDlqs(dead, stray);
      stored = await storedNow(expectStored);
      if (expectDead.every((c) => dead.has(c.id)) && stored.size === expectStored.length) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Drained: nothing left in the queues, nothing more arrives in the DLQs.
    let depths: number[] = [];
    for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 500))) {
      depths = await Promise.all(ROUTES.map((r) => queueDepth(cloud.outputs.transactionQueueUrls[r]!)));
      if (depths.every((n) => n === 0)) break;
    }
    await new Promise((r) => setTimeout(r, 1000));
    await drainDlqs(dead, stray);
    stored = await storedNow(expectStored);
    const settledMs = Date.now() - started;

    // Every case, where it belongs.
    const violations: string[] = [];
    const describeCase = (c: BusCase) => `${c.id} [${c.note}] group ${JSON.stringify(c.groupId.slice(0, 40))} attributes ${JSON.stringify(c.attributes).slice(0, 200)} body ${JSON.stringify(c.body.length > 200 ? `${c.body.slice(0, 200)}…(${c.body.length} chars)` : c.body)}`;
    for (const c of cases) {
      const letters = dead.get(c.id) ?? [];
      const e = c.expected;
      const outcome = refused.has(c.id) ? "refused" : letters.length ? `dead-lettered ${letters.map((l) => l.kind).join(",")}` : stored.has(c.id) ? "processed" : "nowhere";
      tally.add(c.note.replace(/\d+ KB/, "N KB"), outcome);
      if (e.kind === "refused") {
        if (!refused.has(c.id)) violations.push(`expected the topic to refuse it, it was accepted (${outcome}): ${describeCase(c)}`);
        continue;
      }
      if (refused.has(c.id)) {
        violations.push(`refused by the topic (${refused.get(c.id)}): ${describeCase(c)}`);
        continue;
      }
      if (e.kind === "filtered") {
        if (letters.length) violations.push(`filtered out by the subscriptions, yet in a DLQ (${letters[0]!.kind}: ${letters[0]!.reason}): ${describeCase(c)}`);
        continue;
      }
      if (letters.length > 1) violations.push(`in a DLQ ${letters.length} times: ${describeCase(c)}`);
      if (e.kind === "processed") {
        if (letters.length) violations.push(`valid, yet dead-lettered (${letters[0]!.kind}: ${letters[0]!.reason}): ${describeCase(c)}`);
        else if (!stored.has(c.id)) violations.push(`valid, neither processed nor dead-lettered (lost): ${describeCase(c)}`);
        continue;
      }
      const letter = letters[0];
      if (!letter) {
        violations.push(`expected in the ${e.route} DLQ (${e.failureKind}), not there (lost, or processed)${stored.has(c.id) ? " and stored" : ""}: ${describeCase(c)}`);
        continue;
      }
      if (letter.route !== e.route) violations.push(`in the ${letter.route} DLQ, expected the ${e.route} one: ${describeCase(c)}`);
      if (letter.kind !== e.failureKind) violations.push(`failure_kind ${letter.kind} (${letter.reason}), expected ${e.failureKind}: ${describeCase(c)}`);
      if (!letter.reason?.trim()) violations.push(`no failure_reason: ${describeCase(c)}`);
      else if (e.fields && !e.fields.some((f) => letter.reason!.includes(f === "body is not JSON" || f === "(body)" ? f : `${f}`))) {
        violations.push(`failure_reason ${JSON.stringify(letter.reason)} names none of ${e.fields.join(", ")}: ${describeCase(c)}`);
      }
      if (letter.body !== c.body) violations.push(`the DLQ message's body is not the original: ${describeCase(c)}`);
    }
    if (depths.some((n) => n > 0)) violations.push(`queues not drained: ${ROUTES.map((r, i) => `${r} ${depths[i]}`).join(", ")}`);
    for (const letter of stray) violations.push(`a DLQ message that is no case's: ${letter.kind} ${letter.reason} ${letter.body.slice(0, 200)}`);

    // Nothing stored for a bad message: every item belongs to a valid transaction.
    const validTx = new Set(cases.flatMap((c) => (c.expected.kind === "processed" ? [`${c.expected.customerId} ${c.expected.transactionId}`] : [])));
    const validCustomers = new Set([...POOL, ...cases.flatMap((c) => (c.expected.kind === "processed" ? [c.expected.customerId] : []))]);
    const [accounts, payments] = await Promise.all([scan(cloud.outputs.bankAccountsTable), scan(cloud.outputs.paymentsTable)]);
    const poolSetups = new Set(accounts.filter((a) => POOL.includes(a.customer_id as string) && String(a.record).startsWith("SETUP#")).map((a) => a.record));
    for (const item of accounts) {
      const record = String(item.record);
      const ok = record === "ACTIVE" ? validCustomers.has(item.customer_id as string) : record.startsWith("SETUP#") && (validTx.has(`${item.customer_id} ${record.slice(6)}`) || poolSetups.has(record));
      if (!ok) violations.push(`stored for no valid transaction: bank accounts ${JSON.stringify(item).slice(0, 300)}`);
    }
    for (const item of payments) {
      const entry = String(item.entry);
      const ok = entry === "BALANCE" ? validCustomers.has(item.customer_id as string) : entry.startsWith("TX#") && validTx.has(`${item.customer_id} ${entry.slice(3)}`);
      if (!ok) violations.push(`stored for no valid transaction: payments ${JSON.stringify(item).slice(0, 300)}`);
    }
    // Each valid payment applied once: a customer's balance is the sum of its ledger.
    for (const balance of payments.filter((p) => p.entry === "BALANCE")) {
      const ledger = payments.filter((p) => p.customer_id === balance.customer_id && String(p.entry).startsWith("TX#"));
      const sum = ledger.reduce((n, p) => n + Number(p.amount_cents), 0);
      if (sum !== Number(balance.balance_cents)) violations.push(`customer ${String(balance.customer_id)}: balance ${String(balance.balance_cents)} cents, ledger sums to ${sum}`);
    }

    const count = (kind: Expectation["kind"]) => cases.filter((c) => c.expected.kind === kind).length;
    const summary =
      `seed ${SEED} (FUZZ_SEED=${SEED} replays it): ${cases.length} messages published in ${publishedMs} ms, settled in ${settledMs} ms; ` +
      `expected ${count("processed")} processed, ${count("dead-lettered")} dead-lettered, ${count("filtered")} filtered, ${count("refused")} refused by the topic`;
    expect(violations, `${summary}\n${violations.length} violation(s):\n${violations.slice(0, 25).join("\n")}\n\nlast log lines:\n${logs.slice(-40).join("\n")}`).toEqual([]);
    // The generators reach every outcome.
    for (const kind of ["processed", "dead-lettered", "filtered", "refused"] as const) expect(count(kind), `${summary}: no case expected ${kind}`).toBeGreaterThan(0);
    if (process.env.FUZZ_STATS) process.stdout.write(`${summary}\n`);
  }, 600_000);
});
