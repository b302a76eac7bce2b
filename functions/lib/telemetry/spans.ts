/**
 * Span helpers: run work in a child span (`withSpan`), record an error on a span (`markError`), and
 * read the active trace id (`currentTraceId`). Also re-exports the OpenTelemetry names a caller
 * needs with them (`SpanKind`, `SpanStatusCode`, `Span`, `Attributes`, `Context`).
 */
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import type { Attributes, Context, Link, Span } from "@opentelemetry/api";
import { redactText } from "../observability";
import { ATTR } from "./attributes";
import { getTracer } from "./provider";

export { SpanKind, SpanStatusCode };
export type { Attributes, Context, Span };

/**
 * Runs `work` in a child span of the active context (or of `options.parent`). Use it for a unit of
 * work worth seeing in the trace, e.g. publishing one transaction from a script.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context; links?: Link[] },
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = getTracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links }, parent);
  return runInSpan(span, work, parent);
}

/** The active span's trace id (32 hex), for logs. */
export function currentTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * Ends `span` with the outcome of `work`, recording an exception as an error. Shared by the
 * telemetry modules (`withSpan`, `withInvocationSpan`); handlers use those.
 */
export async function runInSpan<T>(span: Span, work: (span: Span) => Promise<T> | T, ctx: Context): Promise<T> {
  try {
    return await context.with(trace.setSpan(ctx, span), () => work(span));
  } catch (error) {
    markError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Records `error` on `span` and sets its status to ERROR. */
export function markError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  const message = redactText(err.message);
  // Redacted like the logs: an error message may quote a payload.
  span.recordException({ name: err.name, message, stack: err.stack ? redactText(err.stack) : undefined });
  span.setAttribute(ATTR.errorType, err.name || "Error");
  span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 500) });
}
