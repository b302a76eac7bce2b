import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { link } from "../../lib/links";

/** `POST /order` (accept an order, start its workflow) and `GET /order/{id}` (read it). */
export const ordersApi = defineFunction({
  name: "orders-api",
  description: "DOFS API: accepts orders (POST /order) and answers their status (GET /order/{id})",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "api" },
  links: {
    orders: link.table("read"),
    /** Idempotency records, by `Idempotency-Key`. */
    idempotency: link.table("readWrite"),
    /** The order workflow: started per order, described while the order is not stored yet. */
    workflow: link.stateMachine(),
  },
  settings: z.object({
    /** The stack's `corsAllowOrigins`: the origins whose pages may read its answers (`["*"]`: any). */
    corsAllowOrigins: z.array(z.string()),
  }),
});

/** The header that makes a retried `POST /order` return the first answer. */
export const IDEMPOTENCY_HEADER = "idempotency-key";
/** How long an idempotency key is remembered (the record's TTL). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
