// The DOFS unit end to end on the emulators, through the real bundles: POST /order → workflow →
// fulfillment queue → fulfillment / DLQ handler, with the seed's three staging orders (outcomes
// fixed by the fulfillment test hook), shape errors, idempotency, business rule rejection, GET, and
// guarded status transitions against redelivered and late messages.
import { ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orderRequestJsonSchema } from "../../../components/orders/api-model";
import { REDRIVEN_REASON } from "../../../functions/orders/dlq/handler";
import { SIMULATED_FAILURE } from "../../../functions/orders/fulfillment/handler";
import { compileModelSchema } from "../../../local/services/api-gateway";
import type { Harness } from "./harness";
import { executionStatus, startHarness } from "./harness";

let h: Harness;
interface FieldError {
  field: string;
  message: string;
}
const e = (field: string, message: string): FieldError => ({ field, message });
/** The schema's messages for a customer id and a product id of the wrong form (functions/orders/schemas.ts). */
const CUSTOMER_ID_CHARS = "must start with a letter or digit and hold only letters, digits and _ . : -";
const PRODUCT_ID_FORM = "must look like prod-<name>: lowercase letters and digits in dash-separated words";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

beforeAll(async () => {
  h = await startHarness({
    config: { fulfillmentSuccessRate: "0.7" },
    // The seed's outcomes, fixed through the test hook (never set by the deployed stack).
    fulfillmentOverrides: { "cust-staging-001": "FAILED", "cust-staging-002": "FULFILLED", "cust-staging-003": "FAILED", "cust-guard-ok": "FULFILLED", "cust-guard-fail": "FAILED" },
  });
});
afterAll(async () => {
  await h?.stop();
});

const finalStatus = (orderId: string) =>
  h.waitFor(`order ${orderId} to reach a final status`, async () => {
    const order = await h.getOrder(orderId);
    return order && order.status !== "PENDING" ? order : undefined;
  });
const executions = async () => (await h.sfn.send(new ListExecutionsCommand({ stateMachineArn: h.stateMachineArn }))).executions ?? [];
const storedOrders = async () => (await h.documents.send(new ScanCommand({ TableName: h.names.orders, ConsistentRead: true }))).Items ?? [];
/** Waits until no workflow runs and the fulfillment queue and its DLQ are empty: what the pollers handle next is new. */
const idle = async () => {
  await h.waitFor("no running workflow", async () => ((await executions()).some((e) => e.status === "RUNNING") ? undefined : true));
  await h.waitForQueuesDrained("the queues to be idle");
};

describe("the seed's staging scenarios", () => {
  const scenarios = [
    { customer_id: "cust-staging-001", items: [{ product_id: "prod-widget-staging", quantity: 3 }, { product_id: "prod-gadget-staging", quantity: 1 }], expected: "FAILED" },
    { customer_id: "cust-staging-002", items: [{ product_id: "prod-book-staging", quantity: 2 }], expected: "FULFILLED" },
    { customer_id: "cust-staging-003", items: [{ product_id: "prod-laptop-staging", quantity: 1 }], expected: "FAILED" },
  ] as const;

  it("accepts each at once as PENDING, runs the workflow to SUCCEEDED, and ends with the expected status and failed rows", async () => {
    const accepted: string[] = [];
    for (const { expected, ...body } of scenarios) {
      const response = await h.request("POST", "/order", { body });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ order_id: expect.stringMatching(UUID), status: "PENDING" });
      const orderId = response.body.order_id as string;
      accepted.push(orderId);
      // It answered without waiting for fulfillment: an order bound to fail is retried with backoff
      // for seconds before it is FAILED, and it is not final yet (or not even stored yet).
      if (expected === "FAILED") {
        const now = await h.request("GET", `/order/${orderId}`);
        expect(now.status === 404 || now.body.status === "PENDING", JSON.stringify(now)).toBe(true);
      }
    }
    const finals = await Promise.all(accepted.map(finalStatus));
    expect(finals.map((o) => o.status)).toEqual(scenarios.map((s) => s.expected));
    for (const [i, order] of finals.entries()) {
      expect(order).toMatchObject({ customer_id: scenarios[i]!.customer_id, items: scenarios[i]!.items });
      expect(Date.parse(order.created_at)).toBeLessThanOrEqual(Date.parse(order.updated_at));
      expect(await executionStatus(h, order.order_id)).toBe("SUCCEEDED");
    }
    // GET answers the stored order and its status.
    const fetched = await h.request("GET", `/order/${accepted[1]}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ order_id: accepted[1], customer_id: "cust-staging-002", status: "FULFILLED", items: [{ product_id: "prod-book-staging", quantity: 2 }] });

    const failed = finals.filter((o) => o.status === "FAILED").map((o) => o.order_id);
    const rows = (await h.failedRows()).filter((r) => accepted.includes(r.order_id));
    expect(rows.map((r) => r.order_id).sort()).toEqual([...failed].sort());
    for (const row of rows) {
      expect(row.failure_reason).toBe(SIMULATED_FAILURE);
      expect(Number.isNaN(Date.parse(row.failed_at))).toBe(false);
    }
    const failedOrder = finals.find((o) => o.status === "FAILED")!;
    expect(failedOrder.status_reason).toBe(SIMULATED_FAILURE);
  });
});

describe("POST /order: the handler answers 400 naming each field (the value rules, and the shape again); nothing is stored or started", () => {
  const cases: [string, unknown, FieldError[]][] = [
    ["empty customer id", { customer_id: "", items: [{ product_id: "prod-a", quantity: 1 }] }, [e("customer_id", "must not be empty"), e("customer_id", CUSTOMER_ID_CHARS)]],
    ["customer id too long", { customer_id: "c".repeat(65), items: [{ product_id: "prod-a", quantity: 1 }] }, [e("customer_id", "must be at most 64 characters")]],
    ["no items", { customer_id: "cust-1", items: [] }, [e("items", "must hold at least 1 item")]],
    ["51 items", { customer_id: "cust-1", items: Array.from({ length: 51 }, (_, i) => ({ product_id: `prod-p${i}`, quantity: 1 })) }, [e("items", "must hold at most 50 items")]],
    ["quantity 0 and a fraction", { customer_id: "cust-1", items: [{ product_id: "prod-a", quantity: 0 }, { product_id: "prod-b", quantity: 1.5 }] }, [e("items.0.quantity", "must be at least 1"), e("items.1.quantity", "must be a whole number")]],
    ["quantity 1001", { customer_id: "cust-1", items: [{ product_id: "prod-a", quantity: 1001 }] }, [e("items.0.quantity", "must be at most 1000")]],
    ["malformed product id", { customer_id: "cust-1", items: [{ product_id: "widget; DROP", quantity: 1 }] }, [e("items.0.product_id", PRODUCT_ID_FORM)]],
    ["unknown field", { customer_id: "cust-1", items: [{ product_id: "prod-a", quantity: 1 }], coupon: "FREE" }, [e("(body)", 'Unrecognized key: "coupon"')]],
    ["missing everything", {}, [e("customer_id", "Invalid input: expected string, received undefined"), e("items", "Invalid input: expected array, received undefined")]],
  ];
  it.each(cases)("%s", async (_name, body, errors) => {
    const before = { executions: (await executions()).length, orders: (await storedOrders()).length };
    const response = await h.request("POST", "/order", { body });
    expect(response).toMatchObject({ status: 400, body: { message: "Invalid order", errors } });
    expect(Object.keys(response.body).sort()).toEqual(["errors", "message"]);
    expect((await executions()).length).toBe(before.executions);
    expect((await storedOrders()).length).toBe(before.orders);
  });
  it("a body that is not JSON", async () => {
    const response = await h.request("POST", "/order", { rawBody: "{customer_id:" });
    expect(response).toMatchObject({ status: 400, body: { message: "Request body is not valid JSON", errors: [e("(body)", "must be a JSON document")] } });
  });
});

describe("POST /order: the gateway's shape model and the handler's value rules", () => {
  // The model as the local API Gateway validates it (the program's draft-04 schema of OrderShape).
  const modelErrors = compileModelSchema(orderRequestJsonSchema());
  const item = { product_id: "prod-a", quantity: 1 };
  /** Bodies of the right shape that break value rules: the gateway passes them on, the handler names each field. */
  const valueErrors: [string, unknown, FieldError[]][] = [
    ["empty customer id, quantity 0", { customer_id: "", items: [{ product_id: "prod-a", quantity: 0 }] }, [e("customer_id", "must not be empty"), e("customer_id", CUSTOMER_ID_CHARS), e("items.0.quantity", "must be at least 1")]],
    ["no items", { customer_id: "cust-1", items: [] }, [e("items", "must hold at least 1 item")]],
    ["malformed product id and an unknown field", { customer_id: "cust-1", items: [{ product_id: "WIDGET", quantity: 1 }], coupon: "FREE" }, [e("items.0.product_id", PRODUCT_ID_FORM), e("(body)", 'Unrecognized key: "coupon"')]],
    [
      "customer id too long, quantity 1001, an unknown item field",
      { customer_id: "c".repeat(65), items: [{ product_id: "prod-a", quantity: 1001, colour: "red" }] },
      [e("customer_id", "must be at most 64 characters"), e("items.0.quantity", "must be at most 1000"), e("items.0", 'Unrecognized key: "colour"')],
    ],
    ["51 items", { customer_id: "cust-1", items: Array.from({ length: 51 }, () => item) }, [e("items", "must hold at most 50 items")]],
  ];
  /**
   * Bodies of the wrong shape: the gateway refuses them with the model's error (validator text as
   * the local gateway gives it), and so would the handler, with its own per-field errors.
   */
  const typeError = (type: string, allowed: string, at: string) => `instance type (${type}) does not match any allowed primitive type (allowed: ["${allowed}"]) at ${at}`;
  const shapeErrors: [string, string, string[] | undefined, FieldError[]][] = [
    ["not JSON", "{customer_id:", undefined, [e("(body)", "must be a JSON document")]],
    ["null", "null", [typeError("null", "object", "/")], [e("(body)", "Invalid input: expected object, received null")]],
    ["an array", JSON.stringify([item]), [typeError("array", "object", "/")], [e("(body)", "Invalid input: expected object, received array")]],
    ["a string", JSON.stringify("order"), [typeError("string", "object", "/")], [e("(body)", "Invalid input: expected object, received string")]],
    [
      "no fields",
      "{}",
      ['object has missing required properties (["customer_id","items"]) at /'],
      [e("customer_id", "Invalid input: expected string, received undefined"), e("items", "Invalid input: expected array, received undefined")],
    ],
    ["no items", JSON.stringify({ customer_id: "cust-1" }), ['object has missing required properties (["items"]) at /'], [e("items", "Invalid input: expected array, received undefined")]],
    ["a numeric customer id", JSON.stringify({ customer_id: 42, items: [item] }), [typeError("integer", "string", "/customer_id")], [e("customer_id", "Invalid input: expected string, received number")]],
    ["items an object", JSON.stringify({ customer_id: "cust-1", items: item }), [typeError("object", "array", "/items")], [e("items", "Invalid input: expected array, received object")]],
    ["an item that is not an object", JSON.stringify({ customer_id: "cust-1", items: ["prod-a"] }), [typeError("string", "object", "/items/0")], [e("items.0", "Invalid input: expected object, received string")]],
    [
      "an item without product_id",
      JSON.stringify({ customer_id: "cust-1", items: [{ quantity: 1 }] }),
      ['object has missing required properties (["product_id"]) at /items/0'],
      [e("items.0.product_id", "Invalid input: expected string, received undefined")],
    ],
    ["a quantity as a string", JSON.stringify({ customer_id: "cust-1", items: [{ product_id: "prod-a", quantity: "2" }] }), [typeError("string", "integer", "/items/0/quantity")], [e("items.0.quantity", "must be a number")]],
    ["a fractional quantity", JSON.stringify({ customer_id: "cust-1", items: [{ product_id: "prod-a", quantity: 1.5 }] }), [typeError("number", "integer", "/items/0/quantity")], [e("items.0.quantity", "must be a whole number")]],
  ];

  it.each(valueErrors)("the model accepts, the handler refuses with per-field errors: %s", async (_name, body, errors) => {
    expect(modelErrors(body)).toEqual([]);
    const response = await h.request("POST", "/order", { rawBody: JSON.stringify(body) });
    expect(response).toMatchObject({ status: 400, body: { message: "Invalid order", errors } });
  });
  it.each(shapeErrors)("the model refuses, and so does the handler: %s", async (_name, rawBody, model, errors) => {
    // A body that is not JSON is refused by the gateway before the model (`model` undefined).
    if (model) expect(modelErrors(JSON.parse(rawBody))).toEqual(model);
    const response = await h.request("POST", "/order", { rawBody });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual(errors);
  });
  it("a valid body passes both", async () => {
    const body = { customer_id: "cust-layers", items: [item] };
    expect(modelErrors(body)).toEqual([]);
    expect((await h.request("POST", "/order", { body })).status).toBe(200);
  });
});

describe("POST /order with Idempotency-Key", () => {
  const body = { customer_id: "cust-idem-1", items: [{ product_id: "prod-widget", quantity: 2 }] };
  it("a retried POST returns the same order and starts one workflow", async () => {
    const first = await h.request("POST", "/order", { body, headers: { "Idempotency-Key": "retry-key-1" } });
    const second = await h.request("POST", "/order", { body, headers: { "Idempotency-Key": "retry-key-1" } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.order_id).toBe(first.body.order_id);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    await finalStatus(first.body.order_id as string);
    const third = await h.request("POST", "/order", { body, headers: { "Idempotency-Key": "retry-key-1" } });
    expect(third.body.order_id).toBe(first.body.order_id);
    expect(third.body.status).not.toBe("PENDING"); // the replay reports the order's current status
    const ours = (await executions()).filter((e) => e.name === first.body.order_id);
    expect(ours).toHaveLength(1);
    expect((await storedOrders()).filter((o) => o.customer_id === "cust-idem-1")).toHaveLength(1);
  });
  it("concurrent retries with one key make one order", async () => {
    const concurrentBody = { customer_id: "cust-idem-2", items: [{ product_id: "prod-gadget", quantity: 1 }] };
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.request("POST", "/order", { body: concurrentBody, headers: { "Idempotency-Key": "retry-key-2" } })));
    expect(new Set(answers.map((a) => a.body.order_id)).size).toBe(1);
    await finalStatus(answers[0]!.body.order_id as string);
    expect((await storedOrders()).filter((o) => o.customer_id === "cust-idem-2")).toHaveLength(1);
  });
  it("the same key with another body is refused (422); without a key, two POSTs are two orders", async () => {
    const other = await h.request("POST", "/order", { body: { ...body, items: [{ product_id: "prod-widget", quantity: 3 }] }, headers: { "Idempotency-Key": "retry-key-1" } });
    expect(other.status).toBe(422);
    const a = await h.request("POST", "/order", { body });
    const b = await h.request("POST", "/order", { body });
    expect(a.body.order_id).not.toBe(b.body.order_id);
    await Promise.all([finalStatus(a.body.order_id as string), finalStatus(b.body.order_id as string)]);
  });
  it("a malformed key is a 400 naming the header", async () => {
    const response = await h.request("POST", "/order", { body, headers: { "Idempotency-Key": "has spaces" } });
    expect(response).toMatchObject({ status: 400, body: { errors: [{ field: "Idempotency-Key" }] } });
  });
});

describe("business rules", () => {
  it.each([
    ["a product in two lines", [{ product_id: "prod-widget", quantity: 1 }, { product_id: "prod-widget", quantity: 2 }], "appears in more than one line"],
    ["more than 1000 units in all", [{ product_id: "prod-a", quantity: 600 }, { product_id: "prod-b", quantity: 401 }], "1001 units"],
    ["a test product", [{ product_id: "prod-sample-test", quantity: 1 }], "test product"],
  ])("%s: REJECTED with its reason, never queued, no failed row", async (_name, items, reason) => {
    await idle();
    const queuedBefore = h.handled.fulfillment.received;
    const response = await h.request("POST", "/order", { body: { customer_id: "cust-rules", items } });
    expect(response.status).toBe(200);
    const orderId = response.body.order_id as string;
    const order = await finalStatus(orderId);
    expect(order.status).toBe("REJECTED");
    expect(order.status_reason).toContain(reason);
    expect(await executionStatus(h, orderId)).toBe("SUCCEEDED");
    // Never queued: a message the workflow sent is in the queue by the time it ended, and would be
    // received by the fulfillment poller before the queue is empty again.
    await h.waitForQueuesDrained("the queues to drain after the rejected order");
    expect(h.handled.fulfillment.received - queuedBefore).toBe(0);
    expect((await h.failedRows()).some((r) => r.order_id === orderId)).toBe(false);
    const got = await h.request("GET", `/order/${orderId}`);
    expect(got.body).toMatchObject({ status: "REJECTED", status_reason: expect.stringContaining(reason) });
  });
});

describe("GET /order/{id}", () => {
  it("404 for an unknown id, 400 for a malformed one", async () => {
    const unknown = await h.request("GET", "/order/3b743209-f24e-43dd-bf27-5763abcdbda4");
    expect(unknown.status).toBe(404);
    for (const bad of ["not-a-uuid", "3b743209f24e43ddbf275763abcdbda4", "' OR 1=1"]) {
      const response = await h.request("GET", `/order/${encodeURIComponent(bad)}`);
      expect(response).toMatchObject({ status: 400, body: { errors: [{ field: "id" }] } });
    }
  });
  it("an unknown route or method is refused without touching anything", async () => {
    await idle();
    const before = { executions: (await executions()).length, orders: (await storedOrders()).length };
    // A valid order as the body: a request routed to POST /order by mistake would store and start one.
    const body = { customer_id: "cust-routes", items: [{ product_id: "prod-widget", quantity: 1 }] };
    expect((await h.request("POST", "/order/3b743209-f24e-43dd-bf27-5763abcdbda4", { body })).status).toBe(405);
    expect((await h.request("POST", "/orders", { body })).status).toBe(404);
    expect((await h.request("GET", "/orders")).status).toBe(404);
    expect((await executions()).length).toBe(before.executions);
    expect((await storedOrders()).length).toBe(before.orders);
  });
});

describe("guarded status transitions", () => {
  const post = async (customer: string) => (await h.request("POST", "/order", { body: { customer_id: customer, items: [{ product_id: "prod-widget", quantity: 1 }] } })).body.order_id as string;
  const send = (queueUrl: string, orderId: string, customer: string, attributes: Record<string, string> = {}) =>
    h.sqs.send(new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({ order_id: orderId, customer_id: customer }),
      MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }])),
    }));
  /**
   * Sends messages with the queues idle, then waits until the pollers have handled exactly them
   * (the handlers returned and the messages were deleted: the queues are empty again) and checks
   * nothing failed or was dead-lettered, so the assertions after it see the handlers' effects.
   */
  const deliver = async (expected: { fulfillment: number; dlq: number }, sendAll: () => Promise<unknown>) => {
    await h.waitForQueuesDrained("the queues to be idle before sending");
    const before = structuredClone(h.handled);
    const delta = (key: "fulfillment" | "dlq", field: "received" | "deleted" | "failed") => h.handled[key][field] - before[key][field];
    await sendAll();
    await h.waitForQueuesDrained(
      `${expected.fulfillment} fulfillment and ${expected.dlq} DLQ message(s) to be handled`,
      () => delta("fulfillment", "deleted") >= expected.fulfillment && delta("dlq", "deleted") >= expected.dlq,
      15_000,
    );
    expect({ fulfillment: delta("fulfillment", "received"), dlq: delta("dlq", "received") }).toEqual(expected);
    expect({ fulfillment: delta("fulfillment", "failed"), dlq: delta("dlq", "failed") }).toEqual({ fulfillment: 0, dlq: 0 });
    expect((await h.queueCounts()).dlqFailures).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  };

  it("a redelivered fulfillment message and a late DLQ message leave a FULFILLED order alone", async () => {
    const orderId = await post("cust-guard-ok");
    const fulfilled = await finalStatus(orderId);
    expect(fulfilled.status).toBe("FULFILLED");
    await deliver({ fulfillment: 1, dlq: 1 }, async () => {
      await send(h.queues.fulfillment, orderId, "cust-guard-ok");
      await send(h.queues.dlq, orderId, "cust-guard-ok", { failure_reason: "late failure" });
    });
    expect(await h.getOrder(orderId)).toMatchObject({ status: "FULFILLED", updated_at: fulfilled.updated_at });
    expect((await h.failedRows()).some((r) => r.order_id === orderId)).toBe(false);
  });
  it("a redelivered DLQ message for a FAILED order writes no second row and keeps the first reason", async () => {
    const orderId = await post("cust-guard-fail");
    const failed = await finalStatus(orderId);
    expect(failed.status).toBe("FAILED");
    await h.waitFor("the failed row", async () => (await h.failedRows()).find((r) => r.order_id === orderId));
    await deliver({ fulfillment: 1, dlq: 1 }, async () => {
      await send(h.queues.dlq, orderId, "cust-guard-fail", { failure_reason: "a different reason" });
      await send(h.queues.fulfillment, orderId, "cust-guard-fail");
    });
    const rows = (await h.failedRows()).filter((r) => r.order_id === orderId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.failure_reason).toBe(SIMULATED_FAILURE);
    expect(await h.getOrder(orderId)).toMatchObject({ status: "FAILED", status_reason: SIMULATED_FAILURE });
  });
  it("a message moved by the redrive policy (no reason attribute) fails a PENDING order once, with a reason saying so", async () => {
    // A PENDING order whose fulfillment never completed (as if the function crashed on every receive).
    const orderId = "0b6d4e38-58c2-4e8e-9a53-3c1f4b3a9d10";
    const now = new Date().toISOString();
    await h.documents.send(new PutCommand({
      TableName: h.names.orders,
      Item: { order_id: orderId, customer_id: "cust-guard-redrive", items: [{ product_id: "prod-widget", quantity: 1 }], status: "PENDING", created_at: now, updated_at: now },
    }));
    await deliver({ fulfillment: 0, dlq: 2 }, async () => {
      await send(h.queues.dlq, orderId, "cust-guard-redrive");
      await send(h.queues.dlq, orderId, "cust-guard-redrive");
    });
    const order = await h.getOrder(orderId);
    expect(order).toMatchObject({ status: "FAILED", status_reason: REDRIVEN_REASON });
    const rows = (await h.failedRows()).filter((r) => r.order_id === orderId);
    expect(rows).toEqual([{ order_id: orderId, customer_id: "cust-guard-redrive", failure_reason: REDRIVEN_REASON, failed_at: expect.any(String) }]);
  });
});
