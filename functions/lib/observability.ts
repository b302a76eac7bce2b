/**
 * One Powertools logger and one metrics instance per function (service), as Powertools advises:
 * created at module load so cold-start keys are set once and reused by every invocation.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

/** Keys never written to a log line, whatever object they appear in. */
export const SENSITIVE_KEYS = new Set(["account_number", "routing_number", "accountNumber", "routingNumber", "apiKey", "api_key", "x-api-key"]);

/** Replaces sensitive values anywhere in a log entry. */
function redact(key: string, value: unknown): unknown {
  return SENSITIVE_KEYS.has(key) ? "[REDACTED]" : value;
}

/** The function's logger: structured JSON, with sensitive fields redacted. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redact });
}

/**
 * The function's metrics (EMF), under `POWERTOOLS_METRICS_NAMESPACE` (set from the stack's
 * `metricsNamespace`).
 */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "OTEL/UtilityCustomer/Enhanced" });
}
