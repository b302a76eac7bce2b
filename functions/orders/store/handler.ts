/**
 * Store step: writes the order once (conditional put; a retried Task finds its own earlier write
 * and answers with it), and, on the workflow's failure path, marks the order `FAILED` with its one
 * failed row (creating the order if the failure came before it was stored). An order the workflow
 * failed is counted in `OrdersCompleted` (`FAILED`) by the call that wrote its failed row.
 */
import { recordOrderCompleted } from "../../lib/metrics";
import { createMetrics } from "../../lib/observability";
import { taskHandler } from "../../lib/task-handler";
import { setBusinessAttributes } from "../../lib/telemetry/attributes";
import { createOrder, recordFailure } from "../order-table";
import type { OrderStatus } from "../schemas";
import { storeOrder } from "./definition";

const metrics = createMetrics(storeOrder.name);

export const handler = taskHandler(storeOrder, async (input, { links, logger }): Promise<{ order_id: string; status: OrderStatus }> => {
  logger.appendKeys({ order_id: input.order.order_id, customer_id: input.order.customer_id });
  setBusinessAttributes({ order_id: input.order.order_id, customer_id: input.order.customer_id });
  if (input.action === "store") {
    const stored = await createOrder(links.orders.name, input.order, input.status, input.reason);
    logger.info("Order stored", { status: stored.status });
    return { order_id: stored.order_id, status: stored.status };
  }
  const outcome = await recordFailure({ orders: links.orders.name, failedOrders: links.failedOrders.name }, input.order.order_id, input.reason, input.order);
  logger.warn("Workflow failure recorded", { status: outcome.status, failed_row_written: outcome.failedRowWritten, reason: input.reason });
  if (outcome.failedRowWritten) recordOrderCompleted(metrics, "FAILED", outcome.createdAt ? Date.now() - Date.parse(outcome.createdAt) : undefined);
  return { order_id: input.order.order_id, status: outcome.status ?? "FAILED" };
});
