/**
 * Invocation spans: `withInvocationSpan` wraps one invocation (FaaS semantic conventions) and
 * flushes the spans before returning: Lambda freezes the process between invocations, so nothing
 * may stay buffered. `traceApiInvocation` and `traceTaskInvocation` are its API Gateway and Step
 * Functions task forms; `withSqsInvocationSpan` (in `sqs.ts`) is its SQS form.
 *
 * Holds the process's cold-start flag (`faas.coldstart`, `isColdStart`).
 */
import { SpanKind, SpanStatusCode, context } from "@opentelemetry/api";
import type { Attributes, Context, Link, Span } from "@opentelemetry/api";
import { markInvoked } from "../observability";
import { ATTR, businessAttributes, dropUndefined } from "./attributes";
import { extractFromHeaders, extractFromPayload } from "./propagation";
import { flushTelemetry, getTracer } from "./provider";
import { runInSpan } from "./spans";

/** `faas.trigger`: what kind of event started the invocation. */
export type FaasTrigger = "datasource" | "http" | "pubsub" | "timer" | "other";

/** The one cold-start flag: whether this process has not started an invocation yet. */
let coldStart = true;

/** The part of the Lambda context the invocation span reads. */
export interface InvocationContext {
  awsRequestId: string;
  invokedFunctionArn?: string;
  functionName?: string;
}

/** What `withInvocationSpan` needs to know about the invocation. */
export interface InvocationSpanOptions {
  /** Span name, e.g. the function name or `POST /order`. */
  name: string;
  /** `faas.trigger`: `pubsub` for SQS, `http` for API Gateway, `other` for Step Functions tasks. */
  trigger: FaasTrigger;
  /** The Lambda context. */
  context: InvocationContext;
  /** @default SERVER for http, CONSUMER for pubsub, else SERVER */
  kind?: SpanKind;
  /** Remote parent context (extracted from the event). @default a new trace */
  parent?: Context;
  /** Links (e.g. to each message's producer context). */
  links?: Link[];
  attributes?: Attributes;
}

/**
 * Runs one invocation in a span and flushes the spans before returning (Lambda freezes the process).
 * Errors are recorded and rethrown.
 *
 * @example
 * export const handler = (event, ctx) => withInvocationSpan({ name: "place-order", trigger: "http", context: ctx }, () => work(event));
 */
export async function withInvocationSpan<T>(options: InvocationSpanOptions, work: (span: Span) => Promise<T> | T): Promise<T> {
  const tracer = getTracer();
  const lambda = options.context;
  const isCold = coldStart;
  coldStart = false;
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    options.name,
    {
      kind: options.kind ?? (options.trigger === "pubsub" ? SpanKind.CONSUMER : SpanKind.SERVER),
      links: options.links,
      attributes: dropUndefined({
        [ATTR.faasTrigger]: options.trigger,
        [ATTR.faasInvocationId]: lambda.awsRequestId,
        [ATTR.faasColdstart]: isCold,
        [ATTR.cloudProvider]: "aws",
        [ATTR.cloudRegion]: process.env.AWS_REGION,
        [ATTR.cloudResourceId]: lambda.invokedFunctionArn,
        [ATTR.cloudAccountId]: lambda.invokedFunctionArn?.split(":")[4],
        ...options.attributes,
      }),
    },
    parent,
  );
  try {
    return await runInSpan(span, work, parent);
  } finally {
    markInvoked();
    await flushTelemetry();
  }
}

/** The fields of an API Gateway REST proxy event the API span reads. */
export interface TracedApiEvent {
  httpMethod: string;
  /** Resource template, e.g. `/order/{id}`. */
  resource: string;
  path?: string;
  headers?: Record<string, string | undefined> | null;
}

/**
 * Runs one API Gateway (REST proxy) invocation in a SERVER span named `<METHOD> <resource>`, child
 * of the caller's `traceparent` header when it sent one, with `http.*` attributes and the response
 * status; a 5XX answer marks the span as an error. Flushes before returning.
 *
 * @example
 * return (event, context) => traceApiInvocation(event, context, () => invoke(event, context));
 */
export function traceApiInvocation<R extends { statusCode: number }>(event: TracedApiEvent, lambdaContext: InvocationContext, work: (span: Span) => Promise<R>): Promise<R> {
  return withInvocationSpan(
    {
      name: `${event.httpMethod} ${event.resource}`,
      trigger: "http",
      kind: SpanKind.SERVER,
      context: lambdaContext,
      parent: extractFromHeaders(event.headers),
      attributes: dropUndefined({ [ATTR.httpMethod]: event.httpMethod, [ATTR.httpRoute]: event.resource, "url.path": event.path }),
    },
    async (span) => {
      const result = await work(span);
      span.setAttribute(ATTR.httpStatus, result.statusCode);
      if (result.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${result.statusCode}` });
      return result;
    },
  );
}

/**
 * Runs one Step Functions task invocation in a SERVER span named after the function, child of the
 * context in the input's `_trace` field (put there by `injectIntoPayload` when the execution was
 * started), with the input's business ids. Keep `_trace` in the state (use `ResultPath` for task
 * results) so every task finds it. Flushes before returning.
 *
 * @example
 * return (event, context) => traceTaskInvocation(definition.name, event, context, () => invoke(event, context));
 */
export function traceTaskInvocation<T>(name: string, input: unknown, lambdaContext: InvocationContext, work: (span: Span) => Promise<T>): Promise<T> {
  const ids = input && typeof input === "object" ? businessAttributes(input as Record<string, unknown>) : {};
  return withInvocationSpan({ name, trigger: "other", kind: SpanKind.SERVER, context: lambdaContext, parent: extractFromPayload(input), attributes: ids }, work);
}

/** Whether this process has not finished an invocation yet (for the `cold_start` log key). */
export function isColdStart(): boolean {
  return coldStart;
}
