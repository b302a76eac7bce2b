/**
 * The DOFS API.
 *
 * `POST /order`: checks the body (the same schema the gateway's model was generated from), picks the
 * order id, starts the workflow and answers at once `{ order_id, status: "PENDING" }` without waiting
 * for fulfillment. Idempotency, two layers:
 * - with an `Idempotency-Key` header, a conditional put claims the key for a new order id and the
 *   body's fingerprint; a retry with the same key and body gets the same order id (and the header
 *   `idempotent-replayed: true`), the same key with another body gets 422;
 * - the execution is named after the order id and its input is the same on a retry, so
 *   StartExecution cannot start a second workflow for one order (the running one is returned, a
 *   finished one answers ExecutionAlreadyExists, which means "already started").
 *
 * `GET /order/{id}`: the stored order; while the workflow has not stored it yet (the first
 * milliseconds), the running execution answers for it as `PENDING`; otherwise 404.
 *
 * Telemetry: both routes put `order.id` (and `customer.id` when known) on the API span; the POST
 * passes its trace context to the workflow in the execution input's `_trace` field, so every Task
 * and the fulfillment message continue the order's one trace, and counts `OrdersPlaced` once the
 * execution has started (a replay whose first attempt started it counts nothing).
 */
import { createHash, randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand, ExecutionAlreadyExists, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "../../lib/zod-mini";
import { HttpError, apiHandler, badRequest } from "../../lib/api-handler";
import { documentClient } from "../../lib/aws/dynamodb";
import { sfnClient } from "../../lib/aws/sfn";
import { recordOrderPlaced } from "../../lib/metrics";
import { setBusinessAttributes } from "../../lib/telemetry/attributes";
import { injectIntoPayload } from "../../lib/telemetry/propagation";
import { getOrder } from "../order-table";
import { OrderId, OrderRequest, WorkflowOrder } from "../schemas";
import type { OrderRecord } from "../schemas";
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_TTL_SECONDS, ordersApi } from "./definition";

const IdempotencyKey = z.string().check(z.regex(/^[A-Za-z0-9_.:-]{1,128}$/, "must be 1-128 letters, digits or _ . : -"));

interface IdempotencyRecord {
  idempotency_key: string;
  order_id: string;
  fingerprint: string;
  received_at: string;
  expires_at: number;
}

/** The execution ARN of an order's workflow (named after the order id). */
export function executionArn(stateMachineArn: string, orderId: string): string {
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${orderId}`;
}

/** What the API answers for an order. */
function present(order: OrderRecord) {
  const { order_id, customer_id, items, status, status_reason, created_at, updated_at } = order;
  return { order_id, customer_id, items, status, ...(status_reason ? { status_reason } : {}), created_at, updated_at };
}

export const handler = apiHandler(ordersApi, {
  "POST /order": async (request, { links, logger, metrics }) => {
    const parsed = OrderRequest.safeParse(request.body);
    if (!parsed.success) throw badRequest(parsed.error, "Invalid order");
    const body = parsed.data;

    let orderId: string = randomUUID();
    let receivedAt = new Date().toISOString();
    let replayed = false;
    const rawKey = request.headers[IDEMPOTENCY_HEADER];
    if (rawKey !== undefined) {
      const key = IdempotencyKey.safeParse(rawKey);
      if (!key.success) throw new HttpError(400, "Invalid order", { errors: [{ field: "Idempotency-Key", message: key.error.issues[0]!.message }] });
      const claimed = await claimIdempotencyKey(links.idempotency.name, key.data, fingerprint(body), orderId, receivedAt);
      ({ order_id: orderId, received_at: receivedAt } = claimed.record);
      replayed = claimed.replayed;
    }
    logger.appendKeys({ order_id: orderId, customer_id: body.customer_id, replayed });
    setBusinessAttributes({ order_id: orderId, customer_id: body.customer_id });

    const input: WorkflowOrder = WorkflowOrder.parse({ order_id: orderId, customer_id: body.customer_id, items: body.items, received_at: receivedAt });
    try {
      await sfnClient().send(new StartExecutionCommand({ stateMachineArn: links.workflow.arn, name: orderId, input: JSON.stringify(injectIntoPayload(input)) }));
      recordOrderPlaced(metrics); // this call started the workflow (a replay usually did not, see below)
    } catch (error) {
      // The workflow of this order id already started: a replay whose first attempt started it
      // (its input differs from this one at least by `_trace`, so Step Functions refuses it even
      // while the first execution runs).
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
    let status = "PENDING";
    if (replayed) status = (await getOrder(links.orders.name, orderId))?.status ?? "PENDING";
    const headers: Record<string, string> = replayed ? { "idempotent-replayed": "true" } : {};
    return { statusCode: 200, body: { order_id: orderId, status }, headers };
  },

  "GET /order/{id}": async (request, { links }) => {
    const id = OrderId.safeParse(request.pathParameters.id);
    if (!id.success) throw new HttpError(400, "Invalid order id", { errors: [{ field: "id", message: id.error.issues[0]!.message }] });
    setBusinessAttributes({ order_id: id.data });
    const order = await getOrder(links.orders.name, id.data);
    if (order) setBusinessAttributes({ customer_id: order.customer_id });
    if (order) return { statusCode: 200, body: present(order) };
    const running = await runningWorkflow(links.workflow.arn, id.data);
    if (running) return { statusCode: 200, body: { order_id: running.order_id, customer_id: running.customer_id, items: running.items, status: "PENDING", created_at: running.received_at } };
    throw new HttpError(404, `Order ${id.data} not found`);
  },
}, { allowedOrigins: (settings) => settings.corsAllowOrigins });

/** SHA-256 of the validated body: the same order sent twice has the same fingerprint. */
function fingerprint(body: OrderRequest): string {
  return createHash("sha256").update(JSON.stringify(body)).digest("hex");
}

/**
 * Claims `key` for a new order, or finds who claimed it. An expired record (TTL deletion is lazy)
 * may be claimed again.
 */
async function claimIdempotencyKey(table: string, key: string, print: string, orderId: string, receivedAt: string): Promise<{ record: IdempotencyRecord; replayed: boolean }> {
  const now = Math.floor(Date.now() / 1000);
  const record: IdempotencyRecord = { idempotency_key: key, order_id: orderId, fingerprint: print, received_at: receivedAt, expires_at: now + IDEMPOTENCY_TTL_SECONDS };
  try {
    await documentClient().send(
      new PutCommand({
        TableName: table,
        Item: record,
        ConditionExpression: "attribute_not_exists(idempotency_key) OR expires_at < :now",
        ExpressionAttributeValues: { ":now": now },
      }),
    );
    return { record, replayed: false };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const existing = (await documentClient().send(new GetCommand({ TableName: table, Key: { idempotency_key: key }, ConsistentRead: true }))).Item as IdempotencyRecord | undefined;
  if (!existing) throw new HttpError(409, "Idempotency-Key is being claimed by a concurrent request; retry");
  if (existing.fingerprint !== print) {
    throw new HttpError(422, "Idempotency-Key was already used with a different order", { errors: [{ field: "Idempotency-Key", message: "already used with a different body" }] });
  }
  return { record: existing, replayed: true };
}

/** The order as its running workflow holds it, before the store step wrote it. */
async function runningWorkflow(stateMachineArn: string, orderId: string): Promise<WorkflowOrder | undefined> {
  try {
    const execution = await sfnClient().send(new DescribeExecutionCommand({ executionArn: executionArn(stateMachineArn, orderId) }));
    if (execution.status !== "RUNNING" || !execution.input) return undefined;
    const input = WorkflowOrder.safeParse(JSON.parse(execution.input));
    return input.success ? input.data : undefined;
  } catch (error) {
    // No such execution, or an Express workflow (not describable): the order is simply unknown.
    if (error instanceof Error && ["ExecutionDoesNotExist", "InvalidArn", "StateMachineTypeNotSupported"].includes(error.name)) return undefined;
    throw error;
  }
}
