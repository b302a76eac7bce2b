import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { link } from "../../lib/links";
import { WorkflowOrder } from "../schemas";

/** Input of the store Task: store a new order, or record that the workflow failed it. */
export const StoreInput = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("store"),
    order: WorkflowOrder,
    /** `PENDING` for an accepted order, `REJECTED` for one that broke a business rule. */
    status: z.enum(["PENDING", "REJECTED"]),
    /** The validator's reason (rejected orders). */
    reason: z.nullish(z.string()),
  }),
  z.object({
    action: z.literal("fail"),
    order: WorkflowOrder,
    /** Why the workflow could not process the order. */
    reason: z.string().check(z.minLength(1)),
  }),
]);

/** Writes orders for the workflow: the conditional store of a new order, and the failure path. */
export const storeOrder = defineFunction({
  name: "orders-store",
  description: "Stores new orders (conditional write) and records workflow failures (step 2 of the order workflow)",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "task", input: StoreInput },
  links: { orders: link.table("readWrite"), failedOrders: link.table("write") },
  settings: z.object({}),
});
