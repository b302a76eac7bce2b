import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { WorkflowOrder } from "../schemas";

/** The workflow's first step: applies the business rules (`functions/orders/rules.ts`) to an order. */
export const validateOrder = defineFunction({
  name: "orders-validate",
  description: "Applies the DOFS business rules to an order (step 1 of the order workflow)",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "task", input: WorkflowOrder },
  links: {},
  settings: z.object({}),
});
