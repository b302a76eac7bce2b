/**
 * Business and technical metrics, written as CloudWatch EMF lines by Powertools Metrics under the
 * stack's namespace (`POWERTOOLS_METRICS_NAMESPACE`, the seed's `OTEL/UtilityCustomer/Enhanced` by
 * default). Each call emits its own EMF line at once (`singleMetric`), so one batch can carry several
 * transaction types, and nothing waits for a flush that a crash would skip.
 *
 * Metrics and their dimensions (besides `service`, the function's short name):
 *
 * | Metric                          | Unit         | Dimensions          |
 * |---------------------------------|--------------|---------------------|
 * | `TransactionsProcessed`         | Count        | `transaction_type`  |
 * | `TransactionsFailed`            | Count        | `transaction_type`  | (a failed attempt; it is retried)
 * | `TransactionsDeadLettered`      | Count        | `transaction_type`  |
 * | `TransactionProcessingLatency`  | Milliseconds | `transaction_type`  | (publish → processed, from SentTimestamp)
 * | `MessagesProcessed` / `MessagesFailed` / `MessagesDeadLettered` | Count | (none) | (SQS messages that are not transactions)
 * | `MessageProcessingLatency`      | Milliseconds | (none)              |
 * | `OrdersPlaced`                  | Count        | (none)              |
 * | `OrdersCompleted`               | Count        | `status` (`FULFILLED`, `FAILED`) |
 * | `OrderProcessingLatency`        | Milliseconds | `status`            | (order placed → final status)
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { MetricUnit as MetricUnitValue } from "@aws-lambda-powertools/metrics/types";

export { MetricUnit };

/** Metric names: the dashboard and the alarms use these. */
export const METRIC = {
  transactionsProcessed: "TransactionsProcessed",
  transactionsFailed: "TransactionsFailed",
  transactionsDeadLettered: "TransactionsDeadLettered",
  transactionLatency: "TransactionProcessingLatency",
  messagesProcessed: "MessagesProcessed",
  messagesFailed: "MessagesFailed",
  messagesDeadLettered: "MessagesDeadLettered",
  messageLatency: "MessageProcessingLatency",
  ordersPlaced: "OrdersPlaced",
  ordersCompleted: "OrdersCompleted",
  orderLatency: "OrderProcessingLatency",
} as const;

export type MessageOutcome = "processed" | "failed" | "dead_lettered";

/**
 * Emits one metric as its own EMF line, with `dimensions` besides `service`. A fresh single-metric
 * instance each time: Powertools flushes a single metric on `addMetric` and then clears its dimensions.
 */
function emit(metrics: Metrics, name: string, unit: MetricUnitValue, value: number, dimensions: Record<string, string> = {}): void {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, unit, value);
}

/**
 * Records the outcome of one SQS message. Transactions (a known `transactionType`) are counted per
 * type; other messages (orders to fulfil, ...) as `Messages*`.
 *
 * @param latencyMs - time from the message's publication to this outcome; recorded for `processed` only.
 */
export function recordMessageOutcome(metrics: Metrics, outcome: MessageOutcome, options: { transactionType?: string; latencyMs?: number } = {}): void {
  const type = options.transactionType;
  const dimensions: Record<string, string> = type ? { transaction_type: type } : {};
  const name = type
    ? { processed: METRIC.transactionsProcessed, failed: METRIC.transactionsFailed, dead_lettered: METRIC.transactionsDeadLettered }[outcome]
    : { processed: METRIC.messagesProcessed, failed: METRIC.messagesFailed, dead_lettered: METRIC.messagesDeadLettered }[outcome];
  emit(metrics, name, MetricUnit.Count, 1, dimensions);
  if (outcome === "processed" && options.latencyMs !== undefined && Number.isFinite(options.latencyMs)) {
    emit(metrics, type ? METRIC.transactionLatency : METRIC.messageLatency, MetricUnit.Milliseconds, Math.max(0, options.latencyMs), dimensions);
  }
}

/** Records a placed order (call it in the API handler once the execution has started). */
export function recordOrderPlaced(metrics: Metrics): void {
  emit(metrics, METRIC.ordersPlaced, MetricUnit.Count, 1);
}

/**
 * Records an order reaching its final status (`FULFILLED` in the fulfillment function, `FAILED` in
 * the DLQ handler), with the time since it was placed when known.
 */
export function recordOrderCompleted(metrics: Metrics, status: "FULFILLED" | "FAILED" | (string & {}), latencyMs?: number): void {
  emit(metrics, METRIC.ordersCompleted, MetricUnit.Count, 1, { status });
  if (latencyMs !== undefined && Number.isFinite(latencyMs)) emit(metrics, METRIC.orderLatency, MetricUnit.Milliseconds, Math.max(0, latencyMs), { status });
}
