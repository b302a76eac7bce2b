/**
 * Validator step. The shape was checked by API Gateway's model and again by the API handler; this
 * step applies the business rules and answers `{ accepted, reason }`. It writes nothing: the
 * workflow stores the order next, `PENDING` or `REJECTED` with the reason.
 */
import { taskHandler } from "../../lib/task-handler";
import { setBusinessAttributes } from "../../lib/telemetry/attributes";
import type { Verdict } from "../rules";
import { checkBusinessRules } from "../rules";
import { validateOrder } from "./definition";

export const handler = taskHandler(validateOrder, async (order, { logger }): Promise<Verdict> => {
  setBusinessAttributes({ order_id: order.order_id, customer_id: order.customer_id });
  const verdict = checkBusinessRules(order);
  logger.info(verdict.accepted ? "Order accepted" : "Order rejected", { order_id: order.order_id, customer_id: order.customer_id, reason: verdict.reason });
  return verdict;
});
