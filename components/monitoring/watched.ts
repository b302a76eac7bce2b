/** What Monitoring watches of each system: the names its alarms and dashboard are built from. */
import type * as pulumi from "@pulumi/pulumi";

/** The seed's namespace. */
export const DEFAULT_NAMESPACE = "OTEL/UtilityCustomer/Enhanced";

/** An API Gateway REST API stage. */
export interface WatchedApi {
  /** The REST API's name (CloudWatch dimension `ApiName`). */
  name: pulumi.Input<string>;
  /** The stage name (dimension `Stage`). */
  stage: pulumi.Input<string>;
}

/** The resources of one system, by a short label used in alarm and resource names. */
export interface WatchedSystem {
  /** Section title on the dashboard. @example "FifoTransactionBus" */
  title: string;
  /** Which business metrics to chart for it. @default none */
  businessMetrics?: "transactions" | "orders";
  /** SNS topics (name), charted as the start of the flow. @default {} */
  topics?: Record<string, pulumi.Input<string>>;
  /** API Gateway REST APIs. @default {} */
  apis?: Record<string, WatchedApi>;
  /** State machines (ARN). @default {} */
  stateMachines?: Record<string, pulumi.Input<string>>;
  /** Queues consumed by functions (name): oldest-message age alarm. @default {} */
  sourceQueues?: Record<string, pulumi.Input<string>>;
  /** Dead-letter queues (name): alarm on any visible message, and on an oldest message near expiry. @default {} */
  deadLetterQueues?: Record<string, pulumi.Input<string>>;
  /**
   * EMF metrics (in the namespace) that count failed attempts, with their exact dimensions: alarmed
   * when failures persist (`failurePeriods` periods of 5 minutes in a row).
   * @default {}
   * @example { payment: { metricName: "TransactionsFailed", dimensions: { service: "payment-processing", transaction_type: "payment" } } }
   */
  failureMetrics?: Record<string, { metricName: string; dimensions: Record<string, pulumi.Input<string>> }>;
  /** Lambda functions (name): errors and throttles alarms. @default {} */
  functions?: Record<string, pulumi.Input<string>>;
}
