/**
 * The DOFS order contract: the `POST /order` body, the workflow's input, the fulfillment message
 * and the stored order.
 *
 * The body is checked in two layers, each reporting what it can report correctly:
 * - `OrderShape` (types and required fields only) is what API Gateway's request model is generated
 *   from (`components/orders/api-model.ts`): a body of the wrong shape never reaches a Lambda, but
 *   the gateway's answer cannot say which field is wrong (gateway response templates get no VTL,
 *   see the model file);
 * - `OrderRequest` refines `OrderShape` field by field with the value rules (lengths, patterns,
 *   ranges, item counts, no unknown fields), checked by the API handler, whose 400 names each
 *   offending field and why.
 * Every body `OrderShape` refuses, `OrderRequest` refuses too (tests/functions/orders/orders.test.ts).
 */
import * as z from "../lib/zod-mini";

/** Most lines an order may have. */
export const MAX_ITEMS = 50;
/** Most units of one line. */
export const MAX_QUANTITY = 1000;

/** A customer id: 1–64 letters, digits and `_ . : -`, starting with a letter or digit. */
export const CustomerId = z
  .string()
  .check(
    z.minLength(1, "must not be empty"),
    z.maxLength(64, "must be at most 64 characters"),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, "must start with a letter or digit and hold only letters, digits and _ . : -"),
  );

/** A product id: `prod-` then lowercase words joined by dashes, at most 64 characters (`prod-widget-staging`). */
export const ProductId = z
  .string()
  .check(
    z.maxLength(64, "must be at most 64 characters"),
    z.regex(/^prod-[a-z0-9]+(-[a-z0-9]+)*$/, "must look like prod-<name>: lowercase letters and digits in dash-separated words"),
  );

/** The shape of an order line: the fields it must have and their types, no value rules. */
export const OrderItemShape = z.object({ product_id: z.string(), quantity: z.number().check(z.int()) });

/**
 * The shape of the `POST /order` body: a JSON object with `customer_id` (a string) and `items` (an
 * array of `OrderItemShape`). No value rules and unknown fields allowed: API Gateway's model is
 * generated from it, and the value rules are `OrderRequest`'s.
 */
export const OrderShape = z.object({ customer_id: z.string(), items: z.array(OrderItemShape) });

/**
 * The fields of a schema refining `S`: exactly `S`'s fields (the compiler refuses a missing or an
 * extra one), each producing what `S`'s field produces. So a field added to one of `OrderShape` and
 * `OrderRequest` but not the other does not compile.
 */
type Refining<S extends z.ZodMiniObject> = { [K in keyof S["shape"]]: z.ZodMiniType<z.output<S["shape"][K]>> };

export const OrderItem = z.strictObject({
  product_id: ProductId,
  quantity: z
    .number({ error: "must be a number" })
    .check(z.int("must be a whole number"), z.gte(1, "must be at least 1"), z.lte(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`)),
} satisfies Refining<typeof OrderItemShape>);
export type OrderItem = z.infer<typeof OrderItem>;

/**
 * The body of `POST /order`: `OrderShape` with the value rules. Unknown fields are refused (a typo
 * must not be silently dropped).
 */
export const OrderRequest = z.strictObject({
  customer_id: CustomerId,
  items: z.array(OrderItem).check(z.minLength(1, "must hold at least 1 item"), z.maxLength(MAX_ITEMS, `must hold at most ${MAX_ITEMS} items`)),
} satisfies Refining<typeof OrderShape>);
export type OrderRequest = z.infer<typeof OrderRequest>;

/** Order ids are UUIDs (random v4, chosen by the API handler). */
export const OrderId = z.uuid("must be a UUID");

/** What the state machine receives (the execution input) and passes to its tasks. */
export const WorkflowOrder = z.object({
  order_id: OrderId,
  customer_id: CustomerId,
  items: OrderRequest.shape.items,
  /** When the API accepted the order (ISO-8601). */
  received_at: z.iso.datetime(),
});
export type WorkflowOrder = z.infer<typeof WorkflowOrder>;

/** The fulfillment queue's message, written by the state machine's `sqs:sendMessage` Task. */
export const FulfillmentMessage = z.object({ order_id: OrderId, customer_id: CustomerId });
export type FulfillmentMessage = z.infer<typeof FulfillmentMessage>;

/**
 * An order's status. `PENDING` is the only one that changes: to `FULFILLED`, `FAILED` or
 * `REJECTED`, each final.
 */
export const ORDER_STATUSES = ["PENDING", "FULFILLED", "FAILED", "REJECTED"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export type FinalStatus = Exclude<OrderStatus, "PENDING">;

/** A row of `dofs-<stack>-orders`. */
export interface OrderRecord {
  order_id: string;
  customer_id: string;
  items: OrderItem[];
  status: OrderStatus;
  /** Why the order was rejected or failed. */
  status_reason?: string;
  /** When the API accepted the order (the index's sort key). */
  created_at: string;
  updated_at: string;
}

/** A row of `dofs-<stack>-failed-orders`: one per `FAILED` order. */
export interface FailedOrderRecord {
  order_id: string;
  customer_id?: string;
  failure_reason: string;
  failed_at: string;
}
