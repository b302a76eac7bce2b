/**
 * Span attributes: the attribute names the spans use (`ATTR`, after the OpenTelemetry FaaS,
 * messaging, RPC and HTTP semantic conventions, plus the business correlation ids), and helpers
 * that build attribute sets: the business ids of a transaction or an order (`businessAttributes`,
 * `setBusinessAttributes`), and `dropUndefined` for attributes that may be missing.
 */
import { trace } from "@opentelemetry/api";
import type { Attributes, Span } from "@opentelemetry/api";

/**
 * Span attribute names. The semantic-conventions package is not imported: its incubating entry
 * (where `faas.*` and `messaging.*` live) is large, and these are plain strings.
 */
export const ATTR = {
  faasTrigger: "faas.trigger",
  faasInvocationId: "faas.invocation_id",
  faasColdstart: "faas.coldstart",
  faasName: "faas.name",
  faasVersion: "faas.version",
  cloudProvider: "cloud.provider",
  cloudRegion: "cloud.region",
  cloudAccountId: "cloud.account.id",
  cloudResourceId: "cloud.resource_id",
  messagingSystem: "messaging.system",
  messagingOperationType: "messaging.operation.type",
  messagingOperationName: "messaging.operation.name",
  messagingDestination: "messaging.destination.name",
  messagingMessageId: "messaging.message.id",
  messagingBatchCount: "messaging.batch.message_count",
  messagingGroup: "messaging.aws.sqs.message_group_id",
  rpcSystem: "rpc.system",
  rpcService: "rpc.service",
  rpcMethod: "rpc.method",
  awsRequestId: "aws.request_id",
  httpStatus: "http.response.status_code",
  httpMethod: "http.request.method",
  httpRoute: "http.route",
  errorType: "error.type",
  /** Business correlation ids: what `npm run traces -- <id>` searches for. */
  transactionId: "transaction.id",
  transactionType: "transaction.type",
  orderId: "order.id",
  customerId: "customer.id",
} as const;

/** Business ids as span attributes (`transaction.id`, `order.id`, `customer.id`, `transaction.type`). */
export function businessAttributes(ids: {
  transaction_id?: unknown;
  transaction_type?: unknown;
  order_id?: unknown;
  customer_id?: unknown;
}): Attributes {
  const out: Attributes = {};
  if (typeof ids.transaction_id === "string") out[ATTR.transactionId] = ids.transaction_id;
  if (typeof ids.transaction_type === "string") out[ATTR.transactionType] = ids.transaction_type;
  if (typeof ids.order_id === "string") out[ATTR.orderId] = ids.order_id;
  if (typeof ids.customer_id === "string") out[ATTR.customerId] = ids.customer_id;
  return out;
}

/** Sets the business ids on the active span (or `span`). Call it as soon as a handler knows them. */
export function setBusinessAttributes(ids: Parameters<typeof businessAttributes>[0], span: Span | undefined = trace.getActiveSpan()): void {
  span?.setAttributes(businessAttributes(ids));
}

/** `attributes` without the keys whose value is `undefined` (shared by the telemetry modules). */
export function dropUndefined(attributes: Record<string, Attributes[string] | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}
