/**
 * Fulfillment consumer. For each queued order:
 * - an order that is no longer `PENDING` (a redelivery, or a late message) is acknowledged and left
 *   alone: final statuses never change;
 * - otherwise the simulated outcome is decided from the order id (`outcome.ts`): success sets
 *   `FULFILLED` (guarded by `#status = PENDING`); failure throws, so the SQS runtime retries it with
 *   a growing backoff and, on the `maxReceiveCount`-th receive, sends it to the DLQ with the reason.
 * A message for an order that does not exist cannot succeed by retrying: it goes to the DLQ at once.
 *
 * The message's `process` span continues the order's trace (the workflow put `_trace` in the body);
 * an order this call fulfilled is counted in `OrdersCompleted` (`FULFILLED`) with its latency since
 * the API accepted it.
 */
import { recordOrderCompleted } from "../../lib/metrics";
import { createMetrics } from "../../lib/observability";
import { PermanentFailure, sqsHandler } from "../../lib/sqs-handler";
import { finishOrder, getOrder } from "../order-table";
import { simulatedOutcome } from "../outcome";
import { fulfillOrder } from "./definition";

/** The failure reason of a simulated failure (as in the seed's failed-orders table). */
export const SIMULATED_FAILURE = "Fulfillment simulation failed";

const metrics = createMetrics(fulfillOrder.name);

export const handler = sqsHandler(fulfillOrder, async (message, { links, settings, logger, receiveCount }) => {
  logger.appendKeys({ order_id: message.order_id, customer_id: message.customer_id });
  const order = await getOrder(links.orders.name, message.order_id);
  if (!order) throw new PermanentFailure(`order ${message.order_id} does not exist`);
  if (order.status !== "PENDING") {
    logger.info("Order already final; message ignored", { status: order.status });
    return;
  }
  const outcome = simulatedOutcome(order.order_id, order.customer_id, settings.fulfillmentSuccessRate, settings.fulfillmentOverrides);
  if (outcome === "FAILED") throw new Error(SIMULATED_FAILURE);
  const changed = await finishOrder(links.orders.name, order.order_id, "FULFILLED");
  if (changed) recordOrderCompleted(metrics, "FULFILLED", Date.now() - Date.parse(order.created_at));
  logger.info(changed ? "Order fulfilled" : "Order became final meanwhile; left unchanged", { receive_count: receiveCount });
});
