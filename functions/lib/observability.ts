/**
 * One Powertools logger and one metrics instance per function (service), as Powertools advises:
 * created at module load so cold-start keys are set once and reused by every invocation.
 *
 * Every log line is JSON with the Powertools keys (level, message, timestamp, service, cold_start,
 * function_name, function_request_id, xray_trace_id, ...) plus `trace_id`/`span_id` of the active
 * OpenTelemetry span, and whatever business keys the handler appended (`transaction_id`,
 * `order_id`, `customer_id`). Sensitive values are redacted at every depth (`redactValue`).
 */
import { LogFormatter, LogItem, Logger } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { trace } from "@opentelemetry/api";

/** The seed's namespace, used when `POWERTOOLS_METRICS_NAMESPACE` is not set. */
export const DEFAULT_METRICS_NAMESPACE = "OTEL/UtilityCustomer/Enhanced";

/** Text that replaces a sensitive value. */
export const REDACTED = "[REDACTED]";

/**
 * Keys whose values are never written to a log line or a span, whatever object they appear in,
 * compared without case, `_` or `-`: `account_number`, `accountNumber`, `x-api-key`, `API_KEY`, ...
 */
export const SENSITIVE_KEYS = new Set([
  "accountnumber",
  "routingnumber",
  "bankaccountnumber",
  "apikey",
  "xapikey",
  "apikeyvalue",
  "authorization",
  "password",
  "secret",
  "accountfingerprintkey",
]);

/** `account_number` → `accountnumber`. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_\-\s]/g, "");
}

/** Whether a key names a sensitive value. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(normalizeKey(key));
}

/**
 * Sensitive `key: value` / `"key":"value"` / `key=value` pairs embedded in text (an error message
 * quoting a body, a logged raw payload): digits after an account or routing number key, a token of
 * 8+ characters after an API key key. Prose such as "routing_number: fails the checksum" is kept.
 */
const EMBEDDED_NUMBER = /((?:account|routing)[_-]?number"?\s*[:=]\s*"?)(\d[\d -]*\d)/gi;
const EMBEDDED_KEY = /((?:x-)?api[_-]?key"?\s*[:=]\s*"?)([A-Za-z0-9._~+/=-]{8,})/gi;

/** Redacts sensitive pairs inside a string. */
export function redactText(text: string): string {
  let out = text;
  if (/number/i.test(out)) out = out.replace(EMBEDDED_NUMBER, `$1${REDACTED}`);
  if (/api.?key/i.test(out)) out = out.replace(EMBEDDED_KEY, `$1${REDACTED}`);
  return out;
}

/**
 * `JSON.stringify` replacer for log entries: JSON.stringify calls it for every key at every depth,
 * so nested objects and arrays are covered; string values are scanned for embedded pairs.
 */
export function redactValue(key: string, value: unknown): unknown {
  if (key && isSensitiveKey(key)) return REDACTED;
  if (typeof value === "string") return redactText(value);
  return value;
}

/**
 * The Powertools log format plus the active span's `trace_id` and `span_id`, so a log line leads to
 * its trace (and `npm run traces`) and back. `cold_start` is always present: true until this
 * environment finished its first invocation. Not Powertools' own flag: that one is per logger, and
 * every child logger (one per SQS record, `sqs-handler.ts`) would start cold.
 */
class TracedLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const spanContext = trace.getActiveSpan()?.spanContext();
    const traced = spanContext && trace.isSpanContextValid(spanContext);
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: !invoked,
      function_arn: attributes.lambdaContext?.invokedFunctionArn,
      function_memory_size: attributes.lambdaContext?.memoryLimitInMB,
      function_name: attributes.lambdaContext?.functionName,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      sampling_rate: attributes.sampleRateValue,
      xray_trace_id: attributes.xRayTraceId,
      trace_id: traced ? spanContext.traceId : undefined,
      span_id: traced ? spanContext.spanId : undefined,
    };
    return new LogItem({ attributes: base }).addAttributes(additional);
  }
}

let invoked = false;
/** Marks an invocation as finished: the `cold_start` fallback turns false (`withInvocationSpan` calls it). */
export function markInvoked(): void {
  invoked = true;
}

/** The function's logger: structured JSON, trace ids, sensitive fields redacted at every depth. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redactValue, logFormatter: new TracedLogFormatter() });
}

/**
 * The function's metrics (EMF), under `POWERTOOLS_METRICS_NAMESPACE` (set from the stack's
 * `metricsNamespace`), the seed's namespace by default.
 */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE });
}
