/**
 * Context propagation: trace context crosses hops as a `traceparent` (and `tracestate`) message
 * attribute on SNS/SQS, and as a `_trace` field in JSON payloads (Step Functions input); an API
 * caller sends it as a `traceparent` HTTP header. Inject and extract for each carrier: SNS/SQS
 * message attributes (the SDK's shape and the Lambda SQS event's), JSON payloads, HTTP headers.
 */
import { context, trace } from "@opentelemetry/api";
import type { Context, TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { MAX_MESSAGE_ATTRIBUTES, TRACEPARENT, TRACESTATE, TRACE_FIELD } from "./constants";

/** The W3C trace-context propagator: the one instance (`setupTelemetry` registers it globally). */
export const propagator = new W3CTraceContextPropagator();

/** A message attribute as the AWS SDK sends it (SNS and SQS have the same shape). */
export interface SdkMessageAttribute {
  DataType: string | undefined;
  StringValue?: string | undefined;
}
/** A message attribute as a Lambda SQS event delivers it. */
export interface EventMessageAttribute {
  dataType?: string;
  stringValue?: string | undefined;
}

const sdkSetter: TextMapSetter<Record<string, SdkMessageAttribute>> = {
  set: (carrier, key, value) => {
    carrier[key] = { DataType: "String", StringValue: value };
  },
};
const attributeGetter: TextMapGetter<Record<string, SdkMessageAttribute | EventMessageAttribute | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const attribute = carrier[key];
    if (!attribute) return undefined;
    const value = (attribute as EventMessageAttribute).stringValue ?? (attribute as SdkMessageAttribute).StringValue;
    return typeof value === "string" ? value : undefined;
  },
};
const recordSetter: TextMapSetter<Record<string, string>> = { set: (carrier, key, value) => (carrier[key] = value) };
const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key] ?? carrier[key.toLowerCase()] ?? findHeader(carrier, key);
    return typeof value === "string" ? value : undefined;
  },
};
function findHeader(carrier: Record<string, unknown>, key: string): unknown {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(carrier)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * Returns `attributes` plus the current trace context as String message attributes (`traceparent`,
 * and `tracestate` when there is one), for SNS `Publish`/SQS `SendMessage`.
 *
 * SNS and SQS accept at most 10 message attributes and `traceparent` is one of them: when adding it
 * would exceed the limit, nothing is added (publishing matters more than tracing) and the consumer
 * starts a new trace. An existing `traceparent` is kept. The input object is not modified.
 *
 * @example
 * MessageAttributes: injectIntoMessageAttributes({ transaction_type: { DataType: "String", StringValue: tx.transaction_type } })
 */
export function injectIntoMessageAttributes<A extends Record<string, SdkMessageAttribute>>(attributes: A, ctx: Context = context.active()): A {
  if (TRACEPARENT in attributes) return attributes;
  const carrier: Record<string, SdkMessageAttribute> = {};
  propagator.inject(ctx, carrier, sdkSetter);
  if (!carrier[TRACEPARENT]) return attributes;
  if (Object.keys(attributes).length + Object.keys(carrier).length > MAX_MESSAGE_ATTRIBUTES) {
    if (Object.keys(attributes).length + 1 > MAX_MESSAGE_ATTRIBUTES) return attributes;
    delete carrier[TRACESTATE];
  }
  return { ...attributes, ...carrier };
}

/**
 * The trace context carried by message attributes, in either shape: the SDK's (`StringValue`) or a
 * Lambda SQS record's (`stringValue`). Returns `undefined` when there is none.
 */
export function extractFromMessageAttributes(
  attributes: Record<string, SdkMessageAttribute | EventMessageAttribute | undefined> | undefined,
): Context | undefined {
  if (!attributes || !attributeGetter.get(attributes, TRACEPARENT)) return undefined;
  return remoteOnly(propagator.extract(context.active(), attributes, attributeGetter));
}

/** The W3C trace-context fields of a payload's `_trace`. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/**
 * Returns `payload` with the current trace context in its `_trace` field, e.g. for Step Functions
 * `StartExecution` input, so every task of the execution continues the trace.
 *
 * @example
 * input: JSON.stringify(injectIntoPayload({ order_id, customer_id, items }))
 */
export function injectIntoPayload<P extends object>(payload: P, ctx: Context = context.active()): P & { _trace?: TraceCarrier } {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, recordSetter);
  if (!carrier[TRACEPARENT]) return payload;
  return { ...payload, [TRACE_FIELD]: carrier as unknown as TraceCarrier };
}

/** The trace context in a payload's `_trace` field (an object, or a JSON string of one), if any. */
export function extractFromPayload(payload: unknown): Context | undefined {
  if (!payload || typeof payload !== "object") return undefined;
  const carrier = (payload as Record<string, unknown>)[TRACE_FIELD];
  if (!carrier || typeof carrier !== "object") return undefined;
  return extractFromHeaders(carrier as Record<string, unknown>);
}

/** The trace context in HTTP headers (`traceparent`, any case), if any. */
export function extractFromHeaders(headers: Record<string, unknown> | null | undefined): Context | undefined {
  if (!headers || typeof recordGetter.get(headers, TRACEPARENT) !== "string") return undefined;
  return remoteOnly(propagator.extract(context.active(), headers, recordGetter));
}

/** Keeps only the remote span context of an extracted context (nothing else from the active one). */
function remoteOnly(extracted: Context): Context | undefined {
  const spanContext = trace.getSpanContext(extracted);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return trace.setSpanContext(context.active(), spanContext);
}
