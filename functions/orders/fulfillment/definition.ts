import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { link } from "../../lib/links";
import { FulfillmentMessage } from "../schemas";

/** Fulfils queued orders (simulated): `PENDING` → `FULFILLED`, or a failure retried through the queue. */
export const fulfillOrder = defineFunction({
  name: "orders-fulfillment",
  description: "Fulfils orders from the fulfillment queue (simulated success rate); failures retry, then reach the DLQ",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "sqs", fifo: false, message: FulfillmentMessage },
  links: { orders: link.table("readWrite") },
  settings: z.object({
    /** Share of orders whose simulated fulfillment succeeds (0..1), decided once per order id. */
    fulfillmentSuccessRate: z.number().check(z.gte(0), z.lte(1)),
    /**
     * Test hook: fixed outcomes by customer id. Never set by the deployed stack (see `outcome.ts`).
     * @default {}
     */
    fulfillmentOverrides: z._default(z.record(z.string(), z.enum(["FULFILLED", "FAILED"])), {}),
  }),
});
