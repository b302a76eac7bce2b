// Many orders at the default success rate (0.7), no outcome overrides: every order reaches a final
// status, each order's outcome is the one its id decides (so retries never re-rolled a failure),
// about 70% are fulfilled, and every FAILED order has exactly one failed row (and no other order has one).
import { afterAll, beforeAll, expect, it } from "vitest";
import { simulatedOutcome } from "../../../functions/orders/outcome";
import type { Harness } from "./harness";
import { startHarness } from "./harness";

const ORDERS = 120;
const RATE = 0.7;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { fulfillmentSuccessRate: String(RATE), maxConcurrency: "6" } });
});
afterAll(async () => {
  await h?.stop();
});

it(`${ORDERS} orders at ${RATE}: all final, outcomes as decided by id, one failed row per FAILED order`, { timeout: 180_000 }, async () => {
  const ids: string[] = [];
  for (let i = 0; i < ORDERS; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, ORDERS - i) }, (_, j) =>
        h.request("POST", "/order", { body: { customer_id: `cust-load-${(i + j) % 17}`, items: [{ product_id: `prod-item-${j}`, quantity: 1 + j }] } }),
      ),
    );
    for (const response of batch) {
      expect(response.status).toBe(200);
      ids.push(response.body.order_id as string);
    }
  }
  const orders = await h.waitFor("every order to reach a final status", async () => {
    const all = await Promise.all(ids.map((id) => h.getOrder(id)));
    return all.every((o) => o && o.status !== "PENDING") ? all.map((o) => o!) : undefined;
  }, 150_000);

  for (const order of orders) {
    expect(order.status, order.order_id).toBe(simulatedOutcome(order.order_id, order.customer_id, RATE));
  }
  const fulfilled = orders.filter((o) => o.status === "FULFILLED").length;
  expect(fulfilled / ORDERS).toBeGreaterThan(RATE - 0.15);
  expect(fulfilled / ORDERS).toBeLessThan(RATE + 0.15);

  // Every message handled (a FAILED order's DLQ message is deleted only after its row is written),
  // none left to the DLQ-failures queue; then count rows.
  await h.waitForQueuesDrained("the fulfillment queue and its DLQ to drain");
  expect((await h.queueCounts()).dlqFailures).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  const failedCount = orders.filter((o) => o.status === "FAILED").length;
  expect(h.handled.dlq.deleted).toBe(failedCount); // one DLQ message per FAILED order, each handled once
  const rows = await h.failedRows();
  const failed = orders.filter((o) => o.status === "FAILED").map((o) => o.order_id).sort();
  expect(rows.map((r) => r.order_id).sort()).toEqual(failed);
  expect(new Set(rows.map((r) => r.order_id)).size).toBe(rows.length);
  console.log(`many orders: ${fulfilled}/${ORDERS} fulfilled, ${failed.length} failed; bundle bytes ${JSON.stringify(h.bundleBytes)}`);
});
