/**
 * OrderFulfillment (DOFS) end to end, through the stack's outputs only: the API with its key, then
 * the tables. Runs against a local cloud, or a deployed stack with OUTPUTS_FILE.
 *
 * The simulated fulfillment decides an order's outcome from its id and the stack's success rate
 * (`fulfillmentSuccessRate`, 0.7 unless FULFILLMENT_SUCCESS_RATE says otherwise), so the final
 * status of every order is known in advance and asserted exactly.
 */
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { BAD_REQUEST_BODY_MESSAGE } from "../../components/orders/api-model";
import { simulatedOutcome } from "../../functions/orders/outcome";
import type { Target } from "./target";
import { eventually, openTarget } from "./target";

let target: Target;
let apiUrl: string;
let apiKey: string;
const successRate = Number(process.env.FULFILLMENT_SUCCESS_RATE ?? "0.7");
const FINAL = ["FULFILLED", "FAILED"];
/**
 * Orders the load test places: enough that both outcomes occur, or "one failed-orders row per
 * FAILED order" checks nothing. Order ids are random UUIDs, so each order is FULFILLED with
 * probability `rate`, independently of the others, and all n share one outcome with probability
 * rate^n + (1 − rate)^n. At 0.7: 20 orders give 0.7^20 ≈ 8.0e-4 (one run in 1,250), 40 give
 * 0.7^40 + 0.3^40 ≈ 6.4e-7 (one run in 1.6 million): 40. Another configured rate gets the smallest
 * n ≥ 40 with the same bound (at most 150, the test's time budget); at 0 or 1 only one outcome can occur.
 */
function loadOrderCount(rate: number): number {
  let n = 40;
  if (rate > 0 && rate < 1) while (n < 150 && rate ** n + (1 - rate) ** n > 1e-6) n += 1;
  return n;
}

beforeAll(async () => {
  target = await openTarget();
  apiUrl = target.outputs.apiUrl.replace(/\/$/, "");
  apiKey = target.outputs.apiKey;
});
afterAll(async () => {
  await target?.stop();
});

function printLogsOnFailure(): void {
  onTestFailed(() => console.log(`Local cloud logs (last lines):\n${target.recentLogs().join("\n")}`));
}

async function call(method: string, path: string, options: { body?: string; key?: string | null } = {}): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const key = options.key === undefined ? apiKey : options.key;
  if (key !== null) headers["x-api-key"] = key;
  const response = await fetch(`${apiUrl}${path}`, { method, headers, body: options.body });
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: response.status, json, text };
}

async function placeOrder(customer: string, items = [{ product_id: "prod-widget", quantity: 2 }]): Promise<string> {
  const { status, json } = await call("POST", "/order", { body: JSON.stringify({ customer_id: customer, items }) });
  expect(status, JSON.stringify(json)).toBe(200);
  expect(json.status).toBe("PENDING");
  return String(json.order_id);
}

async function finalStatus(orderId: string, timeoutMs = 90_000): Promise<string> {
  return eventually(
    `order ${orderId} to reach a final status`,
    async () => {
      const { status, json } = await call("GET", `/order/${orderId}`);
      return status === 200 && FINAL.includes(String(json.status)) ? String(json.status) : undefined;
    },
    timeoutMs,
    1000,
  );
}

async function failedRow(orderId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await target.dynamo.send(new GetCommand({ TableName: target.outputs.failedOrdersTable, Key: { order_id: orderId }, ConsistentRead: true }));
  return Item;
}

describe("OrderFulfillment", () => {
  it("seed orders cust-staging-001/002/003 are accepted, stored and reach their final status", async () => {
    printLogsOnFailure();
    const customers = ["cust-staging-001", "cust-staging-002", "cust-staging-003"];
    const ids = await Promise.all(customers.map((c) => placeOrder(c)));
    const statuses = await Promise.all(ids.map((id) => finalStatus(id)));
    ids.forEach((id, i) => expect(statuses[i], id).toBe(simulatedOutcome(id, customers[i]!, successRate)));
    for (const [i, id] of ids.entries()) {
      const { Item } = await target.dynamo.send(new GetCommand({ TableName: target.outputs.ordersTable, Key: { order_id: id }, ConsistentRead: true }));
      expect(Item).toMatchObject({ order_id: id, customer_id: customers[i], status: statuses[i] });
    }
  }, 120_000);

  it("many orders end in final statuses at the configured success rate, with exactly one failed-orders row per FAILED order", async () => {
    printLogsOnFailure();
    const customer = `cust-load-${target.runId}`;
    const ids: string[] = [];
    for (let i = 0; i < loadOrderCount(successRate); i += 1) ids.push(await placeOrder(customer, [{ product_id: `prod-item-${i}`, quantity: 1 + (i % 3) }]));
    const statuses = await Promise.all(ids.map((id) => finalStatus(id)));
    const expected = ids.map((id) => simulatedOutcome(id, customer, successRate));
    expect(statuses).toEqual(expected);
    // Both outcomes, from what the stack answered (not from simulatedOutcome, the code under test):
    // otherwise the failed-row checks below may have no FAILED order to check.
    const possible = successRate >= 1 ? ["FULFILLED"] : successRate <= 0 ? ["FAILED"] : ["FAILED", "FULFILLED"];
    expect([...new Set(statuses)].sort()).toEqual(possible);
    const rows = await Promise.all(ids.map((id) => failedRow(id)));
    for (const [i, id] of ids.entries()) {
      if (statuses[i] === "FAILED") expect(rows[i], id).toMatchObject({ order_id: id, customer_id: customer });
      else expect(rows[i], id).toBeUndefined();
    }
    const { Items } = await target.dynamo.send(
      new QueryCommand({ TableName: target.outputs.ordersTable, IndexName: "customer_id-created_at", KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer } }),
    );
    expect(Items?.map((o) => o.order_id).sort()).toEqual([...ids].sort());
  }, 150_000);

  it("refuses bad input and stores nothing: the gateway refuses a wrong shape, the function names each broken value rule", async () => {
    printLogsOnFailure();
    const customer = `cust-bad-${target.runId}`;
    // Refused by API Gateway's model (the shape): status 400 and valid JSON with a message. The
    // body is the gateway response's static template (AWS substitutes variables only, no VTL).
    const wrongShape = [
      "{not json",
      JSON.stringify({ customer_id: customer }),
      JSON.stringify({ customer_id: customer, items: [{ product_id: "prod-widget", quantity: "1" }] }),
      JSON.stringify({ customer_id: 'say "hi"', items: [{ product_id: 'a "quoted" id' }] }),
    ];
    for (const body of wrongShape) {
      const { status, json, text } = await call("POST", "/order", { body });
      expect(status, body).toBe(400);
      expect(() => JSON.parse(text), `${body} → ${text}`).not.toThrow();
      // The gateway response's template, whole (only the request id varies).
      expect(json, body).toEqual({ message: "Invalid order", errors: [{ field: "(body)", message: BAD_REQUEST_BODY_MESSAGE }], requestId: expect.stringMatching(/\S/) });
    }
    // The right shape, broken value rules: passed on by the gateway, refused by the function with
    // each offending field and why.
    const e = (field: string, message: string) => ({ field, message });
    const brokenRules: [string, { field: string; message: string }[]][] = [
      [JSON.stringify({ customer_id: customer, items: [] }), [e("items", "must hold at least 1 item")]],
      [JSON.stringify({ customer_id: customer, items: [{ product_id: "WIDGET", quantity: 1 }] }), [e("items.0.product_id", "must look like prod-<name>: lowercase letters and digits in dash-separated words")]],
      [JSON.stringify({ customer_id: customer, items: [{ product_id: "prod-widget", quantity: 0 }] }), [e("items.0.quantity", "must be at least 1")]],
      [JSON.stringify({ customer_id: customer, items: [{ product_id: "prod-widget", quantity: 1 }], extra: true }), [e("(body)", 'Unrecognized key: "extra"')]],
      [
        JSON.stringify({ customer_id: "", items: [{ product_id: "prod-widget", quantity: 1001 }] }),
        [e("customer_id", "must not be empty"), e("customer_id", "must start with a letter or digit and hold only letters, digits and _ . : -"), e("items.0.quantity", "must be at most 1000")],
      ],
    ];
    for (const [body, errors] of brokenRules) {
      const { status, json } = await call("POST", "/order", { body });
      expect(status, body).toBe(400);
      expect(json, body).toEqual({ message: "Invalid order", errors });
    }
    const valid = JSON.stringify({ customer_id: customer, items: [{ product_id: "prod-widget", quantity: 1 }] });
    expect((await call("POST", "/order", { body: valid, key: null })).status).toBe(403);
    expect((await call("POST", "/order", { body: valid, key: "not-a-key" })).status).toBe(403);
    expect((await call("GET", "/order/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await call("GET", "/nowhere")).status).toBe(403);

    await new Promise((r) => setTimeout(r, 1000));
    const { Items } = await target.dynamo.send(
      new QueryCommand({ TableName: target.outputs.ordersTable, IndexName: "customer_id-created_at", KeyConditionExpression: "customer_id = :c", ExpressionAttributeValues: { ":c": customer } }),
    );
    expect(Items).toEqual([]);
  }, 60_000);
});

// Last in the file: every call the suite made the program make was allowed by the real grants.
describe("IAM", () => {
  it("enforced IAM on every call and refused none", () => {
    expect(target.iamEnforced).toBe(true);
    expect(target.deniedCalls()).toEqual([]);
  });
});
