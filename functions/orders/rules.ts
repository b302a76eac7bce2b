/**
 * The business rules the validator step applies to an order that already has the right shape
 * (docs/orders.md lists them). An order that breaks one is stored `REJECTED` with the reason and
 * never reaches the fulfillment queue.
 *
 * 1. **One line per product.** A product may appear once: two lines of the same product are
 *    ambiguous (a client bug or a double submit merged into one body), so the order is rejected
 *    rather than guessed at.
 * 2. **At most 1000 units in all.** Each line may hold up to 1000 units; the order as a whole may
 *    not hold more than `MAX_UNITS_PER_ORDER` either (a bulk order goes through sales, not this API).
 * 3. **Test products are refused.** Product ids ending in `-test` are reserved for fixtures and
 *    never fulfilled.
 */
import type { WorkflowOrder } from "./schemas";

/** Most units an order may hold across all its lines. */
export const MAX_UNITS_PER_ORDER = 1000;

/** The validator's answer; `reason` is `null` when the order is accepted. */
export interface Verdict {
  accepted: boolean;
  reason: string | null;
}

/** Applies the rules in order and returns the first one broken. */
export function checkBusinessRules(order: Pick<WorkflowOrder, "items">): Verdict {
  const seen = new Set<string>();
  for (const item of order.items) {
    if (seen.has(item.product_id)) return reject(`product ${item.product_id} appears in more than one line`);
    seen.add(item.product_id);
  }
  const units = order.items.reduce((sum, item) => sum + item.quantity, 0);
  if (units > MAX_UNITS_PER_ORDER) return reject(`the order holds ${units} units; at most ${MAX_UNITS_PER_ORDER} are allowed`);
  const testProduct = order.items.find((item) => item.product_id.endsWith("-test"));
  if (testProduct) return reject(`product ${testProduct.product_id} is a test product and cannot be ordered`);
  return { accepted: true, reason: null };
}

function reject(reason: string): Verdict {
  return { accepted: false, reason };
}
