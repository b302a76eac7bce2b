/**
 * Reads and guarded writes of the orders and failed-orders tables, shared by the task, fulfillment
 * and DLQ functions.
 *
 * The guard: an order is created once (`attribute_not_exists(order_id)`) and its status changes
 * only from `PENDING` (`#status = :pending`), so a redelivered or late message can never overwrite
 * a final status. A failed order gets exactly one failed row (`attribute_not_exists(order_id)` on
 * the failed-orders table), written only once the order is `FAILED`: it is never written for an
 * order that ended otherwise, and a retry after a crash between the two writes completes the pair.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient, writeIfConditionHolds } from "../lib/aws/dynamodb";
import type { FailedOrderRecord, FinalStatus, OrderRecord, OrderStatus, WorkflowOrder } from "./schemas";

/** Reasons are cut to this length: they come from error messages of unbounded size. */
export const MAX_REASON_LENGTH = 1000;

/** Reads an order (strongly consistent: status checks must see the latest write). */
export async function getOrder(table: string, orderId: string): Promise<OrderRecord | undefined> {
  const result = await documentClient().send(new GetCommand({ TableName: table, Key: { order_id: orderId }, ConsistentRead: true }));
  return result.Item as OrderRecord | undefined;
}

/**
 * Creates the order with its first status (`PENDING`, or `REJECTED` with the validator's reason).
 * Safe to repeat: if the order already exists (a retried Task whose first attempt wrote it), the
 * stored order is returned unchanged.
 */
export async function createOrder(table: string, order: WorkflowOrder, status: "PENDING" | "REJECTED", reason?: string | null): Promise<OrderRecord> {
  const now = new Date().toISOString();
  const item: OrderRecord = {
    order_id: order.order_id,
    customer_id: order.customer_id,
    items: order.items,
    status,
    ...(reason ? { status_reason: reason.slice(0, MAX_REASON_LENGTH) } : {}),
    created_at: order.received_at,
    updated_at: now,
  };
  try {
    await documentClient().send(new PutCommand({ TableName: table, Item: item, ConditionExpression: "attribute_not_exists(order_id)" }));
    return item;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await getOrder(table, order.order_id);
    if (!existing) throw error;
    return existing;
  }
}

/**
 * Moves a `PENDING` order to a final status.
 * @returns `true` if this call made the change; `false` if the order was not `PENDING` (already
 *   final, or absent), in which case nothing was written.
 */
export async function finishOrder(table: string, orderId: string, status: FinalStatus, reason?: string): Promise<boolean> {
  return writeIfConditionHolds(
    documentClient().send(
      new UpdateCommand({
        TableName: table,
        Key: { order_id: orderId },
        UpdateExpression: reason ? "SET #status = :status, updated_at = :now, status_reason = :reason" : "SET #status = :status, updated_at = :now",
        ConditionExpression: "#status = :pending",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":status": status,
          ":pending": "PENDING" satisfies OrderStatus,
          ":now": new Date().toISOString(),
          ...(reason ? { ":reason": reason.slice(0, MAX_REASON_LENGTH) } : {}),
        },
      }),
    ),
  );
}

export interface FailureOutcome {
  /** The order's status after the call (`undefined`: no such order and none was created). */
  status: OrderStatus | undefined;
  /** Whether this call wrote the failed row (false: it existed already, or the order did not fail). */
  failedRowWritten: boolean;
  /** When the order was accepted (its `created_at`), when it exists: for the latency metric. */
  createdAt?: string;
}

/**
 * Records that an order failed: `PENDING` → `FAILED` with the reason, then its one failed row.
 *
 * @param tables - the orders and failed-orders table names.
 * @param orderId - the order.
 * @param reason - why it failed (cut to `MAX_REASON_LENGTH`).
 * @param orderIfAbsent - when given and the order was never stored (the workflow failed before its
 *   store step), it is created as `FAILED` so the client still finds a final status.
 */
export async function recordFailure(
  tables: { orders: string; failedOrders: string },
  orderId: string,
  reason: string,
  orderIfAbsent?: WorkflowOrder,
): Promise<FailureOutcome> {
  const cut = reason.slice(0, MAX_REASON_LENGTH);
  let order = await getOrder(tables.orders, orderId);
  if (!order && orderIfAbsent) {
    order = await createOrder(tables.orders, orderIfAbsent, "PENDING");
  }
  if (!order) return { status: undefined, failedRowWritten: false };
  if (order.status === "PENDING") {
    const changed = await finishOrder(tables.orders, orderId, "FAILED", cut);
    // Lost a race with another final write: read which one won.
    order = changed ? { ...order, status: "FAILED" } : ((await getOrder(tables.orders, orderId)) ?? order);
  }
  // Only a FAILED order gets a failed row; this also completes the pair after a crash between writes.
  if (order.status !== "FAILED") return { status: order.status, failedRowWritten: false, createdAt: order.created_at };
  const row: FailedOrderRecord = { order_id: orderId, customer_id: order.customer_id, failure_reason: order.status_reason ?? cut, failed_at: new Date().toISOString() };
  try {
    await documentClient().send(new PutCommand({ TableName: tables.failedOrders, Item: row, ConditionExpression: "attribute_not_exists(order_id)" }));
    return { status: "FAILED", failedRowWritten: true, createdAt: order.created_at };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return { status: "FAILED", failedRowWritten: false, createdAt: order.created_at };
    throw error;
  }
}
