import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { link } from "../../lib/links";
import { FulfillmentMessage } from "../schemas";

/**
 * Consumes the fulfillment DLQ: marks each order `FAILED` and writes its one failed row. Its own
 * `deadLetter` is a separate queue with no consumer (`dofs-<stack>-fulfillment-dlq-failures`), so a
 * failing DLQ message is parked for an operator instead of looping.
 */
export const handleFailedFulfillment = defineFunction({
  name: "orders-dlq",
  description: "Records orders whose fulfillment failed for good: status FAILED and one failed_orders row",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "sqs", fifo: false, message: FulfillmentMessage },
  links: { orders: link.table("readWrite"), failedOrders: link.table("write") },
  settings: z.object({}),
});
