/**
 * Fulfillment DLQ consumer. The reason comes from the `failure_reason` attribute the SQS runtime
 * put on the message when it dead-lettered it; a message moved by the queue's own redrive policy
 * (the function crashed or timed out on every receive) has none and gets a reason that says so.
 * `recordFailure` is guarded, so a redelivered DLQ message writes nothing twice and never turns a
 * `FULFILLED` order into `FAILED`. The call that writes the failed row counts the order in
 * `OrdersCompleted` (`FAILED`), so a redelivery counts nothing twice.
 */
import { recordOrderCompleted } from "../../lib/metrics";
import { createMetrics } from "../../lib/observability";
import { sqsHandler } from "../../lib/sqs-handler";
import { recordFailure } from "../order-table";
import { handleFailedFulfillment } from "./definition";

/** Reason recorded when the message carries none (moved by the redrive policy, not by the handler). */
export const REDRIVEN_REASON = "Fulfillment did not complete: the message exhausted its receives (moved by the queue's redrive policy)";

const metrics = createMetrics(handleFailedFulfillment.name);

export const handler = sqsHandler(handleFailedFulfillment, async (message, { links, record, logger }) => {
  logger.appendKeys({ order_id: message.order_id, customer_id: message.customer_id });
  const reason = record.messageAttributes?.failure_reason?.stringValue ?? REDRIVEN_REASON;
  const outcome = await recordFailure({ orders: links.orders.name, failedOrders: links.failedOrders.name }, message.order_id, reason);
  if (outcome.status === undefined) logger.warn("Dead-lettered message for an unknown order; nothing to record");
  else if (outcome.status !== "FAILED") logger.info("Order already final; not marked failed", { status: outcome.status });
  else logger.info("Order failed", { failure_reason: reason, failed_row_written: outcome.failedRowWritten });
  if (outcome.failedRowWritten) recordOrderCompleted(metrics, "FAILED", outcome.createdAt ? Date.now() - Date.parse(outcome.createdAt) : undefined);
});
