/**
 * Fuzzing the order API (issue 16, part 4): `POST /order` and `GET /order/{id}` through one local
 * cloud's API Gateway, with generated bodies, headers and paths.
 *
 * Properties:
 * - every bad request gets a 4xx whose JSON body names the problem (`message`, and for a bad order
 *   or id the `errors` entry of the offending field: the exact path for a value rule the handler
 *   checks, `(body)` for a shape the gateway's model refuses); never a 5xx, a connection error or a
 *   hang; every valid order gets 200 `{order_id, status: "PENDING"}`;
 * - afterwards the orders table holds exactly the orders that were answered 200: none for a bad
 *   request (every generated customer id that is a string starts with this run's prefix, so a stray
 *   order is also recognisable by its customer).
 *
 * Bodies: valid orders (also at every limit: 64-character ids, 50 items, quantity 1 and 1000),
 * valid orders with one defect (each field missing, of the wrong type, empty, over its limit, out
 * of range, fractional, huge, negative, with Unicode or control characters; unknown fields, also
 * `__proto__`), raw JSON text with duplicate keys, arbitrary JSON values, deeply nested values,
 * text that is not JSON, the empty body, a few padded to 1 MB. Headers: content types, missing or
 * wrong API keys, `Idempotency-Key` values of odd shapes. Paths: ids of odd shapes, percent-encoded
 * or not, up to 2,000 characters, other methods.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ITEMS, MAX_QUANTITY } from "../../functions/orders/schemas";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import { clientConfig } from "../../local/outputs";
import { eventually } from "../integration/target";
import { Tally, fuzzParameters, oddText, uuid } from "./support";

/** This run's customer ids start with it. */
const PREFIX = `fz${randomUUID().slice(0, 6)}`;
const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const PRODUCT_ID = /^prod-[a-z0-9]+(-[a-z0-9]+)*$/;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "prototype"];

let cloud: LocalCloud;
let dynamo: DynamoDBDocumentClient;
const logs: string[] = [];
/** Order ids answered 200, by customer id. */
const accepted = new Map<string, string>();
/** Idempotency keys of accepted orders, with the body each was first sent with. */
const keyed: { key: string; body: string; orderId: string }[] = [];
let counter = 0;
const tally = new Tally();

beforeAll(async () => {
  cloud = await startLocalCloud({
    stack: "dev",
    config: {
      accountFingerprintKey: randomBytes(32).toString("hex"),
      // Thousands of requests in a minute: the usage plan must not throttle them (429 is not what is tested).
      apiRateLimit: "10000",
      apiBurstLimit: "5000",
      // Every accepted order is fulfilled: no DLQ traffic competing with the requests.
      fulfillmentSuccessRate: "1",
    },
    outputsFile: false,
    traces: false,
    log: (line) => {
      logs.push(line);
      if (logs.length > 200) logs.shift();
    },
  });
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud.outputs, "dynamodb")));
}, 180_000);

afterAll(async () => {
  tally.print("order API fuzz: case kind → status");
  dynamo?.destroy();
  await cloud?.stop();
});

// ---------------------------------------------------------------------------------------------
// What a request is expected to get
// ---------------------------------------------------------------------------------------------

/** 200 with a new order; or a 4xx (a given status, when known) naming one of `fields` in `errors`. */
/** 200 with a new order (or, replayed by its `Idempotency-Key`, the order `replayOf`); or a 4xx (a given status, when known) naming one of `fields` in `errors`. */
type Expected = { ok: true; replayOf?: string } | { ok: false; status?: number; fields?: string[] };

interface Probe {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Text, or bytes (sent without a content type unless the headers name one). */
  body?: string | Uint8Array;
  expected: Expected;
  /** What the generator did, for the failure message. */
  note: string;
}

const ok: Expected = { ok: true };
const refused = (fields?: string[], status?: number): Expected => ({ ok: false, ...(fields ? { fields } : {}), ...(status ? { status } : {}) });

interface Answer {
  status: number;
  contentType: string;
  replayed: string | null;
  text: string;
  json: unknown;
  ms: number;
}

async function send(probe: Probe): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(`${cloud.outputs.apiUrl}${probe.path}`, {
    method: probe.method,
    headers: probe.headers,
    ...(probe.body !== undefined ? { body: probe.body } : {}),
    // API Gateway gives up on an integration after 29 s: anything longer is a hang.
    signal: AbortSignal.timeout(35_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", replayed: response.headers.get("idempotent-replayed"), text, json, ms: Date.now() - started };
}

function describeProbe(probe: Probe, answer?: Answer): string {
  const body = probe.body === undefined ? "(none)" : typeof probe.body === "string" ? JSON.stringify(probe.body.length > 300 ? `${probe.body.slice(0, 300)}…(${probe.body.length} chars)` : probe.body) : `(${probe.body.length} bytes)`;
  const headers = { ...probe.headers, ...(probe.headers["x-api-key"] === cloud.outputs.apiKey ? { "x-api-key": "<the key>" } : {}) };
  const got = answer ? ` → ${answer.status} ${answer.text.slice(0, 500)}` : "";
  const recent = answer && answer.status >= 500 ? `\nlast log lines:\n${logs.slice(-15).join("\n")}` : "";
  return `${probe.note}: ${probe.method} ${probe.path} headers ${JSON.stringify(headers)} body ${body}${got}${recent}`;
}

/** The property of every request: a well-formed answer of the expected kind. */
async function check(probe: Probe): Promise<void> {
  const answer = await send(probe);
  tally.add(`${probe.method} ${probe.note.replace(/^([^("]*?) [("].*; /, "$1; ").replace(/\d{3,}/g, "N").replace(/"[^"]*"/g, "…")}`, answer.status);
  const where = describeProbe(probe, answer);
  expect(answer.status, where).toBeLessThan(500);
  expect(answer.contentType, where).toMatch(/^application\/json/);
  expect(answer.json, where).toBeTypeOf("object");
  const body = answer.json as Record<string, unknown>;
  if (probe.expected.ok) {
    expect(answer.status, where).toBe(200);
    const text = typeof probe.body === "string" ? probe.body : Buffer.from(probe.body!).toString();
    if (probe.expected.replayOf) {
      // The first answer again: the same order, marked as a replay, with its status by now (the
      // workflow's business rules may have rejected it: docs/orders.md).
      expect(body, where).toEqual({ order_id: probe.expected.replayOf, status: expect.stringMatching(/^(PENDING|FULFILLED|REJECTED)$/) });
      expect(answer.replayed, where).toBe("true");
      return;
    }
    expect(body, where).toEqual({ order_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "PENDING" });
    expect(answer.replayed, where).toBeNull();
    accepted.set(body.order_id as string, (JSON.parse(text) as { customer_id: string }).customer_id);
    const key = probe.headers["idempotency-key"];
    if (key !== undefined) keyed.push({ key, body: text, orderId: body.order_id as string });
    return;
  }
  expect(answer.status, where).toBeGreaterThanOrEqual(400);
  if (probe.expected.status) expect(answer.status, where).toBe(probe.expected.status);
  expect(body.message, where).toEqual(expect.stringMatching(/\S/));
  if (probe.expected.fields) {
    const errors = body.errors as { field: string; message: string }[] | undefined;
    expect(Array.isArray(errors), where).toBe(true);
    expect(errors!.every((e) => typeof e.field === "string" && typeof e.message === "string" && e.message.length > 0), where).toBe(true);
    expect(errors!.some((e) => probe.expected.ok === false && probe.expected.fields!.includes(e.field)), where).toBe(true);
  }
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

interface Item {
  product_id: unknown;
  quantity: unknown;
  [extra: string]: unknown;
}
interface Order {
  customer_id?: unknown;
  items?: unknown;
  [extra: string]: unknown;
}

/** This run's customer ids: the prefix, then up to 64 characters in all. */
const customerId = fc.stringMatching(/^[A-Za-z0-9_.:-]{0,55}$/).map((rest) => `${PREFIX}-${rest}`);
const productId = fc
  .array(fc.stringMatching(/^[a-z0-9]{1,12}$/), { minLength: 1, maxLength: 5 })
  .map((words) => `prod-${words.join("-")}`.slice(0, 64))
  .filter((p) => PRODUCT_ID.test(p));
const quantity = fc.oneof(fc.integer({ min: 1, max: MAX_QUANTITY }), fc.constantFrom(1, MAX_QUANTITY));
const item = fc.record({ product_id: productId, quantity });

const validOrder: fc.Arbitrary<Order & { customer_id: string; items: Item[] }> = fc.record({
  customer_id: fc.oneof(
    { weight: 5, arbitrary: customerId },
    { weight: 1, arbitrary: fc.constant(`${PREFIX}-`.padEnd(64, "x")) },
    // Valid ids that are also names of every object's properties.
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES).map((name) => `${PREFIX}-${name}`) },
  ),
  items: fc.oneof(
    { weight: 6, arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(item, { minLength: MAX_ITEMS, maxLength: MAX_ITEMS }) },
    { weight: 1, arbitrary: fc.array(fc.record({ product_id: fc.constant(`prod-${"a".repeat(59)}`), quantity }), { minLength: 1, maxLength: 2 }) },
  ),
});

/** The rules of `POST /order`, written out from the README, independent of the handler's zod schema. */
function isValidOrder(value: unknown): boolean {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(value)) return false;
  const keys = Object.keys(value).sort();
  if (keys.join() !== "customer_id,items") return false;
  const { customer_id, items } = value;
  if (typeof customer_id !== "string" || customer_id.length > 64 || !CUSTOMER_ID.test(customer_id)) return false;
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_ITEMS) return false;
  return items.every(
    (i) =>
      isObject(i) &&
      Object.keys(i).sort().join() === "product_id,quantity" &&
      typeof i.product_id === "string" &&
      i.product_id.length <= 64 &&
      PRODUCT_ID.test(i.product_id) &&
      Number.isInteger(i.quantity) &&
      (i.quantity as number) >= 1 &&
      (i.quantity as number) <= MAX_QUANTITY,
  );
}

/** JSON values of every type but the one a field needs. */
const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const notAnArray = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.object({ maxDepth: 1 }));
const notAnObject = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.integer(), { maxLength: 2 }));
const notANumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }), fc.integer({ min: 1, max: 9 }).map(String));

/** A bad customer id that is a string: this run's prefix where the defect allows one. */
const badCustomerId = fc.oneof(
  fc.constant(""),
  fc.constant(`${PREFIX}-`.padEnd(65, "x")),
  fc.integer({ min: 66, max: 2000 }).map((n) => `${PREFIX}-`.padEnd(n, "y")),
  fc.constantFrom("_", "-", ".", ":", " ").map((lead) => `${lead}${PREFIX}`),
  oddText(20).filter((s) => s !== "" && !/^[A-Za-z0-9_.:-]*$/.test(s)).map((s) => `${PREFIX}${s}`),
  fc.constantFrom("é", "\u0000", "\u200b", "😀", "٣", "ﬁ", "\u0301").map((c) => `${PREFIX}-${c}`),
);

const badProductId = fc.oneof(
  fc.constantFrom("", "prod-", "prod--a", "prod-a-", "PROD-a", "prod-A", "prod_a", "prod-a b", "prod-é", "product-a", " prod-a", "prod-a\n"),
  fc.constant(`prod-${"a".repeat(60)}`),
  oddText(20).filter((s) => !PRODUCT_ID.test(s)),
);

/** Integers out of 1..1000 (the handler's rule) and numbers the gateway's model refuses as not integers. */
const outOfRangeQuantity = fc.oneof(fc.constantFrom(0, -1, -0, MAX_QUANTITY + 1, 1_000_000, 2 ** 31, Number.MAX_SAFE_INTEGER), fc.integer({ min: -1_000_000, max: 0 }), fc.integer({ min: MAX_QUANTITY + 1, max: 2 ** 31 }));
const notIntegerQuantity = fc.oneof(fc.constantFrom(0.5, 1.5, 999.999, -2.5, 1e-7), fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)));
/** Beyond the safe integers: which layer refuses them is not specified, only that one does. */
const hugeQuantity = fc.constantFrom(2 ** 53 + 2, 1e21, 1e300, -1e300, Number.MAX_VALUE);

interface Defect {
  order: Order;
  fields: string[];
  note: string;
}

/** A valid order with exactly one defect, and the fields an answer may name for it. */
const defectiveOrder: fc.Arbitrary<Defect> = validOrder.chain((order) => {
  const i = order.items.length - 1; // the defect goes in the last item
  const withItem = (change: (it: Item) => Item): Order => ({ ...order, items: order.items.map((it, n) => (n === i ? change(it) : it)) });
  const path = `items.${i}`;
  return fc.oneof<fc.Arbitrary<Defect>[]>(
    // customer_id
    fc.constant({ order: { items: order.items }, fields: ["(body)", "customer_id"], note: "no customer_id" }),
    notAString.map((v) => ({ order: { ...order, customer_id: v }, fields: ["(body)", "customer_id"], note: "customer_id not a string" })),
    badCustomerId.map((v) => ({ order: { ...order, customer_id: v }, fields: ["customer_id"], note: `bad customer_id ${JSON.stringify(v).slice(0, 80)}` })),
    // items
    fc.constant({ order: { customer_id: order.customer_id }, fields: ["(body)", "items"], note: "no items" }),
    notAnArray.map((v) => ({ order: { ...order, items: v }, fields: ["(body)", "items"], note: "items not an array" })),
    fc.constant({ order: { ...order, items: [] }, fields: ["items"], note: "no item" }),
    fc.array(item, { minLength: MAX_ITEMS + 1, maxLength: MAX_ITEMS + 30 }).map((items) => ({ order: { ...order, items }, fields: ["items"], note: "too many items" })),
    notAnObject.map((v) => ({ order: { ...order, items: [...order.items.slice(0, i), v] }, fields: ["(body)", path], note: "item not an object" })),
    // product_id
    fc.constant({ order: withItem(({ quantity: q }) => ({ quantity: q }) as Item), fields: ["(body)", `${path}.product_id`], note: "no product_id" }),
    notAString.map((v) => ({ order: withItem((it) => ({ ...it, product_id: v })), fields: ["(body)", `${path}.product_id`], note: "product_id not a string" })),
    badProductId.map((v) => ({ order: withItem((it) => ({ ...it, product_id: v })), fields: [`${path}.product_id`], note: `bad product_id ${JSON.stringify(v)}` })),
    // quantity
    fc.constant({ order: withItem(({ product_id }) => ({ product_id }) as Item), fields: ["(body)", `${path}.quantity`], note: "no quantity" }),
    notANumber.map((v) => ({ order: withItem((it) => ({ ...it, quantity: v })), fields: ["(body)", `${path}.quantity`], note: "quantity not a number" })),
    outOfRangeQuantity.map((v) => ({ order: withItem((it) => ({ ...it, quantity: v })), fields: [`${path}.quantity`], note: `quantity out of range (${v})` })),
    notIntegerQuantity.map((v) => ({ order: withItem((it) => ({ ...it, quantity: v })), fields: ["(body)", `${path}.quantity`], note: `fractional quantity (${v})` })),
    hugeQuantity.map((v) => ({ order: withItem((it) => ({ ...it, quantity: v })), fields: ["(body)", `${path}.quantity`], note: `huge quantity (${v})` })),
    // unknown fields, at the top and in an item
    fc
      .tuple(fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, "customerId", "item", "Items", "price", "status", "order_id"), oddText(12)), fc.jsonValue({ maxDepth: 2 }))
      .filter(([k]) => k !== "customer_id" && k !== "items")
      .map(([k, v]) => ({ order: { ...order, [k]: v }, fields: ["(body)"], note: `unknown field ${JSON.stringify(k)}` })),
    fc
      .tuple(fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, "productId", "qty", "price"), oddText(12)), fc.jsonValue({ maxDepth: 2 }))
      .filter(([k]) => k !== "product_id" && k !== "quantity")
      .map(([k, v]) => ({ order: withItem((it) => ({ ...it, [k]: v })), fields: [path], note: `unknown item field ${JSON.stringify(k)}` })),
  );
});

/**
 * An order as raw JSON text: object keys (and so `__proto__`) written as given, optionally with one
 * key written twice (JSON.parse, and API Gateway's Jackson, keep the last), and odd whitespace.
 */
function rawJson(value: unknown, duplicate?: { key: string; first: unknown }, space = ""): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => rawJson(v, undefined, space)).join(`,${space}`)}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}:${space}${rawJson(v, undefined, space)}`);
  if (duplicate) entries.unshift(`${JSON.stringify(duplicate.key)}:${space}${JSON.stringify(duplicate.first)}`);
  return `{${space}${entries.join(`,${space}`)}${space}}`;
}
/** `JSON.stringify`, except that a `__proto__` own property is kept (an object spread drops it into the prototype). */
function withOwnKey(order: Order, key: string, value: unknown): string {
  const text = rawJson(order);
  return `${text.slice(0, -1)}${text.length > 2 ? "," : ""}${JSON.stringify(key)}:${JSON.stringify(value)}}`;
}

const space = fc.constantFrom("", " ", "\n", "\t", "\r\n  ");

/** The body of a POST and what it deserves, with the content type it is sent with. */
interface PostBody {
  body: string | Uint8Array;
  expected: Expected;
  note: string;
}

const notJson = fc.oneof(
  oddText(60).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
  validOrder.chain((o) => fc.nat({ max: JSON.stringify(o).length - 1 }).map((n) => JSON.stringify(o).slice(0, n))), // truncated
  validOrder.map((o) => `${JSON.stringify(o)}}`),
  validOrder.map((o) => `${JSON.stringify(o)} trailing`),
  validOrder.map((o) => `\ufeff${JSON.stringify(o)}`),
  validOrder.map((o) => JSON.stringify(o).replaceAll('"', "'")),
  validOrder.map((o) => `// an order\n${JSON.stringify(o)}`),
  validOrder.map((o) => JSON.stringify(o).replace(/"quantity":\d+/, '"quantity":NaN')),
  validOrder.map((o) => JSON.stringify(o).replace(/"quantity":\d+/, '"quantity":+1')),
  validOrder.map((o) => JSON.stringify(o).replace(/"quantity":\d+/, '"quantity":01')),
  validOrder.map((o) => JSON.stringify(o).replace(/"customer_id":"/, '"customer_id":"\u0001')),
);

/** Nested arrays or objects `depth` deep. */
const deep = (depth: number, kind: "array" | "object") => (kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth));

const postBody: fc.Arbitrary<PostBody> = fc.oneof(
  { weight: 9, arbitrary: fc.tuple(validOrder, space).map(([o, s]) => ({ body: rawJson(o, undefined, s), expected: ok, note: "valid order" })) },
  // Duplicate keys: the last one counts.
  {
    weight: 3,
    arbitrary: fc
      .tuple(validOrder, fc.constantFrom("customer_id", "items"), fc.boolean())
      // A value that is wrong for the key itself, so the answer names the key: for `items`, an array of
      // strings would be named by its elements (`items.0`), so it gets values that are no array at all.
      .chain(([o, key, badLast]) =>
        (key === "items" ? fc.oneof(notAnArray, fc.constant([])) : fc.oneof(notAString, fc.constant([]), fc.constant(""))).map((other) => [o, key, other, badLast] as const),
      )
      .map(([o, key, other, badLast]) =>
        badLast
          ? { body: rawJson({ ...o, [key]: other }, { key, first: o[key] }), expected: refused(["(body)", key]), note: `duplicate ${key}, the last bad` }
          : { body: rawJson(o, { key, first: other }), expected: ok, note: `duplicate ${key}, the last good` },
      ),
  },
  { weight: 30, arbitrary: defectiveOrder.map((d) => ({ body: JSON.stringify(d.order), expected: refused(d.fields), note: d.note })) },
  // Own `__proto__` (and friends) fields, as JSON text can carry them.
  { weight: 3, arbitrary: fc.tuple(validOrder, fc.constantFrom(...PROTOTYPE_NAMES), fc.jsonValue({ maxDepth: 1 })).map(([o, k, v]) => ({ body: withOwnKey(o, k, v), expected: refused(["(body)"]), note: `own ${k} field` })) },
  {
    weight: 6,
    arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ body: JSON.stringify(v), expected: isValidOrder(v) ? ok : refused(), note: "any JSON value" })),
  },
  { weight: 6, arbitrary: notJson.map((text) => ({ body: text, expected: refused(["(body)"]), note: "not JSON" })) },
  { weight: 3, arbitrary: fc.constant({ body: "", expected: refused(["(body)"]), note: "empty body" }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(validOrder, fc.integer({ min: 100, max: 20_000 }), fc.constantFrom("array", "object") as fc.Arbitrary<"array" | "object">, fc.constantFrom("customer_id", "items", "extra", "quantity"))
      .map(([o, depth, kind, where]) => {
        const nested = deep(depth, kind);
        const text =
          where === "quantity"
            ? JSON.stringify(o).replace(/"quantity":\d+/, `"quantity":${nested}`)
            : where === "extra"
              ? `${JSON.stringify(o).slice(0, -1)},"extra":${nested}}`
              : JSON.stringify({ ...o, [where]: "@" }).replace('"@"', nested);
        return { body: text, expected: refused(), note: `${kind} ${depth} deep in ${where}` };
      }),
  },
  // Large bodies: an unknown field padded to 10 KB .. 1 MB (a few per run: the field limits are what the API declares).
  {
    weight: 1,
    arbitrary: fc
      .tuple(validOrder, fc.oneof(fc.integer({ min: 10_000, max: 100_000 }), fc.constant(1_000_000)))
      .map(([o, n]) => ({ body: `${JSON.stringify(o).slice(0, -1)},"note":"${"x".repeat(n)}"}`, expected: refused(["(body)"]), note: `${n}-character unknown field` })),
  },
);

// Headers

const CONTENT_TYPES_JSON = ["application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8", "application/json ; charset=utf-8"];
const CONTENT_TYPES_OTHER = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/octet-stream", "*/*", "application/vnd.api+json", "json", "application/jsonx"];

/** Text as it goes over the wire in a header: UTF-8 bytes, which a server reads as Latin-1. */
const wire = (s: string) => Buffer.from(s, "utf8").toString("latin1");
/** What an HTTP client can send as a header value (RFC 9110 field-value: visible characters, spaces, tabs, obs-text). */
const sendable = (s: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);
const trimmed = (s: string) => s.replace(/^[\t ]+|[\t ]+$/g, "");

const oddIdempotencyKey = fc
  .oneof(
    fc.constant(""),
    fc.stringMatching(/^[A-Za-z0-9_.:-]{129,300}$/),
    oddText(40),
    fc.tuple(fc.stringMatching(/^[A-Za-z0-9]{1,20}$/), fc.constantFrom(" ", "\t", "/", "+", "=", "é", "😀", "%20", ",", ";", '"')).map(([a, b]) => `${a}${b}${a}`),
  )
  .map(wire)
  .filter((k) => sendable(k) && !IDEMPOTENCY_KEY.test(trimmed(k)));

interface Headers {
  headers: Record<string, string>;
  /** Send the `Idempotency-Key` of an order accepted earlier (the n-th, modulo): with its own body (`replay`) or this one. */
  reuse?: { n: number; replay: boolean };
  /** What the headers alone deserve (before the body counts). */
  expected?: Expected;
  /** The body must be sent as bytes, so that no content type is added. */
  bytes?: boolean;
  note: string;
}

const goodKey = () => cloud.outputs.apiKey;

const postHeaders: fc.Arbitrary<Headers> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CONTENT_TYPES_JSON).map((ct) => ({ headers: { "content-type": ct }, note: ct })) },
  { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES_OTHER).map((ct) => ({ headers: { "content-type": ct }, note: ct })) },
  { weight: 1, arbitrary: fc.constant({ headers: {}, bytes: true, note: "no content type" }) },
  { weight: 1, arbitrary: fc.constant({ headers: { "content-type": "application/json" }, expected: refused(undefined, 403), note: "no API key" }) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(oddText(40).map(wire), fc.constant("KEY").map(() => goodKey().toUpperCase()), fc.constant("KEY").map(() => goodKey().slice(0, -1)), fc.constant("KEY").map(() => `${goodKey()}x`))
      .filter((k) => sendable(k) && trimmed(k) !== goodKey())
      .map((key) => ({ headers: { "content-type": "application/json", "x-api-key": key }, expected: refused(undefined, 403), note: "wrong API key" })),
  },
  { weight: 2, arbitrary: oddIdempotencyKey.map((key) => ({ headers: { "content-type": "application/json", "idempotency-key": key }, expected: refused(["Idempotency-Key"], 400), note: "odd Idempotency-Key" })) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,100}$/).map((key) => ({ headers: { "content-type": "application/json", "idempotency-key": `${key}~` }, note: "unique Idempotency-Key" })) },
  { weight: 2, arbitrary: fc.record({ n: fc.nat(), replay: fc.boolean() }).map((reuse) => ({ headers: { "content-type": "application/json" }, reuse, note: reuse.replay ? "Idempotency-Key replayed" : "Idempotency-Key reused" })) },
);

/** Puts headers and body together; the API key is added unless the headers are about it. */
function postProbe(h: Headers, b: PostBody): Probe {
  const headers: Record<string, string> = { ...(h.expected?.ok === false && h.expected.status === 403 ? {} : { "x-api-key": goodKey() }), ...h.headers };
  // A valid idempotency key must be new: the run counter makes it unique (`~` marks where it goes).
  if (headers["idempotency-key"]?.endsWith("~")) headers["idempotency-key"] = `${headers["idempotency-key"].slice(0, -1).slice(0, 100)}.${PREFIX}.${++counter}`;
  // The key is checked first, then the body, then the idempotency key (after the body is valid).
  let expected: Expected = b.expected;
  if (h.expected?.ok === false && h.expected.status === 403) expected = h.expected;
  else if (h.expected && b.expected.ok) expected = h.expected;
  let text = b.body;
  const earlier = h.reuse && keyed.length ? keyed[h.reuse.n % keyed.length] : undefined;
  if (earlier && h.reuse) {
    headers["idempotency-key"] = earlier.key;
    if (h.reuse.replay) text = earlier.body;
    const sameOrder = b.expected.ok && isDeepStrictEqual(JSON.parse(text as string), JSON.parse(earlier.body));
    if (h.reuse.replay || sameOrder) expected = { ok: true, replayOf: earlier.orderId };
    else if (b.expected.ok) expected = refused(["Idempotency-Key"], 422);
  }
  const body = h.bytes && typeof text === "string" ? new TextEncoder().encode(text) : text;
  return { method: "POST", path: "/order", headers, body, expected, note: `${b.note}; ${h.note}` };
}

// Paths

/** Ids that are not UUIDs, percent-encoded in the path. */
const oddId = fc.oneof(
  oddText(40),
  fc.string({ minLength: 100, maxLength: 2000 }),
  fc.constantFrom(...PROTOTYPE_NAMES, "null", "undefined", "0", "-1", "NaN", "*", "%", "?", "#", "a b", "a/b", "..", ".", "~"),
  uuid().map((u) => u.slice(0, -1)),
  uuid().map((u) => `${u}0`),
  uuid().map((u) => u.replaceAll("-", "")),
  uuid().map((u) => `{${u}}`),
  uuid().map((u) => ` ${u}`),
  uuid().map((u) => `${u}\n`),
);

function uuidShaped(id: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/.test(id);
}

const getProbe: fc.Arbitrary<Probe> = fc.oneof(
  // A UUID nobody ordered with: 404.
  { weight: 2, arbitrary: uuid().map((id) => ({ method: "GET", path: `/order/${id}`, headers: {}, expected: refused(undefined, 404), note: "unknown order id" })) },
  { weight: 1, arbitrary: uuid().map((id) => ({ method: "GET", path: `/order/${id.toUpperCase()}`, headers: {}, expected: refused(undefined, 404), note: "unknown order id, upper case" })) },
  // An order that exists (one accepted earlier in this run, if any): 200 with it.
  { weight: 1, arbitrary: fc.nat().map((n) => ({ method: "GET", path: "/order/<known>", headers: {}, expected: ok, note: `known order ${n}` })) },
  // Not a UUID: 400 naming `id`, or (a path that no longer matches the resource) 403.
  {
    weight: 6,
    arbitrary: oddId
      // A lone surrogate has no UTF-8 encoding: no client can put it in a URL.
      .filter((id) => !uuidShaped(id) && !/[\ud800-\udfff]/u.test(id))
      .map((id) => {
        const encoded = encodeURIComponent(id);
        // `.` and `..` are path navigation to the client (the URL is normalised before it is sent).
        const matchesResource = id !== "" && id !== "." && id !== "..";
        return { method: "GET", path: `/order/${encoded}`, headers: {}, expected: matchesResource ? refused(["id"], 400) : refused(), note: "odd id (encoded)" };
      }),
  },
  // Raw, possibly malformed, percent-encoding and separators in the path: some 4xx.
  {
    weight: 2,
    arbitrary: fc
      .oneof(fc.constantFrom("%", "%Z", "%ZZ", "%E0%A4%A", "%C0%AF", "%FF", "%00", "%2F", "%2e%2e", "a%2Fb", "a/b", "%25", "%u0041", "%F0%9F%98", ";x", "a;b=c", "%3F", "%23", "é"), oddText(10).map((s) => `${s}%`))
      .map((raw) => ({ method: "GET", path: `/order/${raw}`, headers: {}, expected: refused(), note: "raw path" })),
  },
  // Other methods and paths: the gateway has no such route.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("PUT", "DELETE", "PATCH", "POST", "GET"), fc.constantFrom("/order", "/orders", "/order/x/y", "/", "/order/", "//order", "/ORDER"))
      .filter(([m, p]) => !(m === "POST" && p === "/order"))
      .map(([method, path]) => ({ method, path, headers: {}, expected: refused(), note: "no such route" })),
  },
);

const getHeaders: fc.Arbitrary<{ key: "good" | "none" | string; note: string }> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ key: "good" as const, note: "key" }) },
  { weight: 1, arbitrary: fc.constant({ key: "none" as const, note: "no key" }) },
  { weight: 1, arbitrary: oddText(30).map(wire).filter((k) => sendable(k) && trimmed(k) !== "" && k !== "good" && k !== "none").map((key) => ({ key, note: "wrong key" })) },
);

// ---------------------------------------------------------------------------------------------

describe("order API: fuzzed requests through the local cloud", () => {
  it("POST /order: every bad request gets a 4xx naming the problem, every valid order 200 (1,000 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(postHeaders, postBody, async (h, b) => {
        await check(postProbe(h, b));
      }),
      fuzzParameters(1000),
    );
  });

  it("GET /order/{id}: odd ids, paths and keys get a 4xx naming the problem, known orders 200 (1,000 cases)", async () => {
    const known = () => [...accepted.keys()];
    await fc.assert(
      fc.asyncProperty(getProbe, getHeaders, async (probe, h) => {
        const { note } = probe;
        let { path, expected } = probe;
        if (path === "/order/<known>") {
          const ids = known();
          if (ids.length === 0) return;
          path = `/order/${ids[Number(note.split(" ").pop()) % ids.length]}`;
        }
        const headers: Record<string, string> = h.key === "good" ? { "x-api-key": goodKey() } : h.key === "none" ? {} : { "x-api-key": h.key };
        // No key (or a wrong one) is refused before anything else, on every route that exists.
        if (h.key !== "good" && expected.ok) expected = refused(undefined, 403);
        else if (h.key !== "good" && expected.ok === false && (expected.status === 404 || expected.fields)) expected = refused(undefined, 403);
        const answer = await send({ ...probe, path, headers, expected, note: `${note}; ${h.note}` });
        tally.add(`GET ${note.replace(/ \d+$/, "")}; ${h.note}`, answer.status);
        const where = describeProbe({ ...probe, path, headers, expected, note: `${note}; ${h.note}` }, answer);
        expect(answer.status, where).toBeLessThan(500);
        expect(answer.contentType, where).toMatch(/^application\/json/);
        const body = answer.json as Record<string, unknown>;
        expect(body, where).toBeTypeOf("object");
        if (expected.ok) {
          expect(answer.status, where).toBe(200);
          expect(body.order_id, where).toBe(path.split("/").pop());
          expect(body.customer_id, where).toBe(accepted.get(body.order_id as string));
          return;
        }
        expect(answer.status, where).toBeGreaterThanOrEqual(400);
        if (expected.status) expect(answer.status, where).toBe(expected.status);
        expect(body.message, where).toEqual(expect.stringMatching(/\S/));
        if (expected.status === 404) expect(body.message, where).toMatch(/^Order \S+ not found$/);
        if (expected.fields) expect((body.errors as { field: string }[] | undefined)?.map((e) => e.field), where).toEqual(expected.fields);
      }),
      fuzzParameters(1000),
    );
  });

  it("a body over API Gateway's 10 MB limit is refused with a 4xx, not a 5xx", async () => {
    const order = JSON.stringify({ customer_id: `${PREFIX}-big`, items: [{ product_id: "prod-big", quantity: 1 }] });
    await check({
      method: "POST",
      path: "/order",
      headers: { "x-api-key": goodKey(), "content-type": "application/json" },
      body: `${order.slice(0, -1)},"pad":"${"x".repeat(10 * 1024 * 1024)}"}`,
      expected: refused(),
      note: "10 MB body",
    });
  });

  it("stores exactly the orders answered 200: none for a bad request", async () => {
    const stored = async () => {
      const items: Record<string, unknown>[] = [];
      for await (const page of paginateScan({ client: dynamo }, { TableName: cloud.outputs.ordersTable, ConsistentRead: true })) items.push(...(page.Items ?? []));
      return items;
    };
    // The workflow stores an order shortly after the API accepted it.
    const items = await eventually("every accepted order stored", async () => {
      const all = await stored();
      return [...accepted.keys()].every((id) => all.some((o) => o.order_id === id)) ? all : undefined;
    }, 120_000, 1000);
    const unexpected = items.filter((o) => !accepted.has(o.order_id as string));
    expect(unexpected, `orders stored for requests that were refused: ${JSON.stringify(unexpected.slice(0, 5))}`).toEqual([]);
    for (const o of items) {
      expect(o.customer_id).toBe(accepted.get(o.order_id as string));
      expect(String(o.customer_id).startsWith(`${PREFIX}-`)).toBe(true);
    }
    expect(accepted.size).toBeGreaterThan(50);
  });
});
