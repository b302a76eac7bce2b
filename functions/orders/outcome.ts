/**
 * The simulated fulfillment outcome (DOFS has no warehouse behind it).
 *
 * An order's outcome is decided once, from its id: `sha256(order_id)` read as a number in
 * [0, 10000) succeeds below `successRate × 10000`. A retry of the same order therefore gets the same
 * answer, so retries do not re-roll a failure into a success and the share of fulfilled orders
 * stays at the configured rate (a per-attempt random draw with 5 receives would fulfil
 * 1 − 0.3⁵ ≈ 99.8% of orders, not 70%).
 *
 * Test hook: `overrides` (customer id → outcome) fixes the outcome for chosen customers. It is a
 * function setting that the deployed stack never sets (OrderFulfillment passes only the success
 * rate), and it comes from the function's environment, never from a request, so no client can use
 * it to force an outcome.
 */
import { createHash } from "node:crypto";

export type FulfillmentOutcome = "FULFILLED" | "FAILED";

/** The order's bucket in [0, 10000): the first 4 bytes of sha256(order id), mod 10000. */
export function outcomeBucket(orderId: string): number {
  return createHash("sha256").update(orderId).digest().readUInt32BE(0) % 10_000;
}

/**
 * @param orderId - the order.
 * @param customerId - its customer (looked up in `overrides`).
 * @param successRate - share of orders that succeed, 0..1.
 * @param overrides - fixed outcomes by customer id (tests only). @default {}
 */
export function simulatedOutcome(orderId: string, customerId: string, successRate: number, overrides: Readonly<Record<string, FulfillmentOutcome>> = {}): FulfillmentOutcome {
  const forced = overrides[customerId];
  if (forced) return forced;
  return outcomeBucket(orderId) < Math.round(successRate * 10_000) ? "FULFILLED" : "FAILED";
}
