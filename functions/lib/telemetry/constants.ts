/**
 * Telemetry constants: the names under which trace context travels between hops (the
 * `traceparent`/`tracestate` message attributes, the `_trace` payload field), the SNS/SQS
 * message-attribute limit, and the default timings of the exporter (flush timeout, collector
 * retry period). Plain values, no imports: every other telemetry module may depend on this one.
 */

/** Name of the message attribute / payload field carrying W3C trace context. */
export const TRACEPARENT = "traceparent";
/** Name of the message attribute / payload field carrying W3C trace state. */
export const TRACESTATE = "tracestate";
/** Field of a JSON payload (Step Functions input) that carries the trace context. */
export const TRACE_FIELD = "_trace";
/** SNS and SQS allow at most 10 message attributes; `traceparent` counts as one of them. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

/** How long `flushTelemetry` waits at most, by default. */
export const FLUSH_TIMEOUT_MS = 2000;
/** How long the collector is skipped after a connection error, by default. */
export const COLLECTOR_RETRY_MS = 60_000;
