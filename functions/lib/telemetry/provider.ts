/**
 * Tracing for the functions: a small OpenTelemetry setup, no auto-instrumentation.
 *
 * - One tracer provider per process (sdk-trace 3.x), created on first use: AsyncLocalStorage context
 *   manager, W3C trace-context propagator, X-Ray-compatible trace ids, a batch processor and the
 *   OTLP/HTTP (JSON) exporter. The exporter sends to `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`:
 *   on AWS the collector layer on localhost:4318, locally the local cloud's OTLP receiver.
 * - Spans are exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set;
 *   without it tracing stays in-process: spans and their contexts exist (so `traceparent` and
 *   `_trace` still propagate), nothing is sent and a flush costs nothing.
 * - A collector that cannot be reached (connection refused, unknown host, ...) costs one failed
 *   export, not a flush timeout per invocation: the first connection error opens a circuit breaker
 *   (one warning in the log); for the next 60 s spans are dropped at once and flushes do not wait;
 *   then export is tried again.
 * - `withInvocationSpan` wraps one invocation (FaaS semantic conventions) and flushes the spans
 *   before returning: Lambda freezes the process between invocations, so nothing may stay buffered.
 * - `withMessageSpan` wraps one SQS record (messaging semantic conventions); its parent is the
 *   context the producer injected into the record (see "Parent or link" below).
 * - Context crosses hops as a `traceparent` (and `tracestate`) message attribute on SNS/SQS, and as
 *   a `_trace` field in JSON payloads (Step Functions input).
 * - AWS SDK calls become child spans through `tracingMiddleware`, added to the shared clients in
 *   `aws.ts`; it also injects the context into SNS/SQS publishes that do not carry one yet.
 *
 * Parent or link. The messaging conventions allow either. A transaction or an order is one business
 * operation and must read as one trace, so a message's processing span is a *child* of the context
 * its producer injected. The invocation span is a child of that context too when every traced
 * record of the batch belongs to one trace (the usual FIFO case), and a root otherwise; it always
 * carries a *link* to each record's context, as the conventions recommend for batches.
 *
 * Set `OTEL_SDK_DISABLED=true` to turn tracing off (the wrappers still run the work; no spans).
 */
import { SpanKind, SpanStatusCode, context, propagation, trace } from "@opentelemetry/api";
import type { Attributes, Context, Link, Span, TextMapGetter, TextMapSetter, Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import type { ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { IdGenerator, ReadableSpan, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";
import type { Agent } from "node:http";
import { markInvoked, redactText } from "../observability";

export { SpanKind, SpanStatusCode };
export type { Attributes, Context, Span };

/** Name of the message attribute / payload field carrying W3C trace context. */
export const TRACEPARENT = "traceparent";
export const TRACESTATE = "tracestate";
/** Field of a JSON payload (Step Functions input) that carries the trace context. */
export const TRACE_FIELD = "_trace";
/** SNS and SQS allow at most 10 message attributes; `traceparent` counts as one of them. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

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

export type FaasTrigger = "datasource" | "http" | "pubsub" | "timer" | "other";

export interface TelemetryOptions {
  /**
   * Where spans go.
   * @default the OTLP/HTTP exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` or
   *   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; otherwise none (spans stay in-process)
   */
  exporter?: SpanExporter;
  /** Export each span as it ends (tests) instead of batching until `flushTelemetry`. @default false */
  simple?: boolean;
  /** `service.name`. @default `OTEL_SERVICE_NAME`, else `AWS_LAMBDA_FUNCTION_NAME`, else "unknown_service" */
  serviceName?: string;
  /**
   * How long spans are dropped (and flushes do not wait) after the OTLP collector could not be
   * reached, before export is tried again. Applies to the default OTLP exporter only.
   * @default 60000
   */
  collectorRetryMs?: number;
}

/** Where the spans of this process go, and whether the collector is currently skipped. */
export interface TelemetryStatus {
  /** `otlp`: the OTLP/HTTP exporter; `custom`: an exporter given to `setupTelemetry`; `none`: in-process only. */
  exporter: "otlp" | "custom" | "none";
  /** The OTLP traces URL (`otlp` only). */
  endpoint?: string;
  /** While the collector is considered unreachable: when export will be tried again (epoch ms). */
  pausedUntil?: number;
}

interface State {
  provider: TracerProvider;
  tracer: Tracer;
  exporter: TelemetryStatus["exporter"];
  endpoint?: string;
  breaker?: CollectorBreaker;
}

/** How long `flushTelemetry` waits at most, by default. */
export const FLUSH_TIMEOUT_MS = 2000;
/** How long the collector is skipped after a connection error, by default. */
export const COLLECTOR_RETRY_MS = 60_000;

/** Socket errors that mean "no collector there" (not a slow or busy one). */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EADDRNOTAVAIL"]);

function unreachableCode(error: unknown): string | undefined {
  const code = error && typeof error === "object" ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && UNREACHABLE_CODES.has(code) ? code : undefined;
}

/**
 * The circuit breaker in front of the OTLP collector. Closed: spans are exported and flushes wait
 * (up to their timeout). The first connection error opens it, at once (seen on the socket, before
 * the exporter's own retries): for `retryMs` spans are dropped without a network call and flushes
 * return immediately. Then the next export tries again: success closes it, another connection error
 * opens it again. One warning per outage.
 */
class CollectorBreaker {
  private openUntil = 0;
  private warned = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly endpoint: string,
    private readonly retryMs: number,
  ) {}

  get pausedUntil(): number | undefined {
    return this.isOpen() ? this.openUntil : undefined;
  }

  isOpen(): boolean {
    return Date.now() < this.openUntil;
  }

  /** A connection to the collector failed with `code`. */
  trip(code: string): void {
    if (this.isOpen()) return;
    this.openUntil = Date.now() + this.retryMs;
    if (!this.warned) {
      this.warned = true;
      console.warn(
        JSON.stringify({
          level: "WARN",
          message: `OTLP collector unreachable (${code}); spans are dropped and not waited for, export is retried every ${Math.round(this.retryMs / 1000)} s`,
          otlp_endpoint: this.endpoint,
          error_code: code,
          timestamp: new Date().toISOString(),
        }),
      );
    }
    for (const listener of this.listeners) listener();
  }

  /** An export succeeded: the collector is there (again). */
  succeeded(): void {
    this.openUntil = 0;
    this.warned = false;
  }

  /** Calls `listener` on the next trip; returns the unsubscribe function. */
  onTrip(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The OTLP exporter behind the breaker: drops at once while it is open, feeds it the outcomes. */
class BreakerExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly breaker: CollectorBreaker,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.breaker.isOpen()) {
      done({ code: ExportResultCode.FAILED, error: new Error("OTLP collector unreachable: spans dropped") });
      return;
    }
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.breaker.succeeded();
      else {
        const code = unreachableCode(result.error);
        if (code) this.breaker.trip(code);
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** The OTLP traces URL from the environment, as the exporter resolves it; `undefined` when none is set. */
function otlpTracesEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * The OTLP/HTTP exporter behind a circuit breaker. Its HTTP agent reports connection errors to the
 * breaker as soon as the socket fails: the exporter itself would retry a refused connection with
 * backoff until its timeout (seconds) before reporting anything.
 */
function otlpExporter(endpoint: string, retryMs: number): { exporter: SpanExporter; breaker: CollectorBreaker } {
  const breaker = new CollectorBreaker(endpoint, retryMs);
  const watch = (agent: Agent): Agent => {
    const createConnection = agent.createConnection.bind(agent);
    agent.createConnection = (options, callback) => {
      const socket = createConnection(options, callback);
      socket?.once("error", (error) => {
        const code = unreachableCode(error);
        if (code) breaker.trip(code);
      });
      return socket;
    };
    return agent;
  };
  const inner = new OTLPTraceExporter({
    // Retrying longer than a flush may wait only keeps timers alive (a CLI would not exit).
    timeoutMillis: FLUSH_TIMEOUT_MS,
    httpAgentOptions: async (protocol: string) => {
      const module = protocol === "https:" ? await import("node:https") : await import("node:http");
      return watch(new module.Agent({ keepAlive: true }));
    },
  });
  return { exporter: new BreakerExporter(inner, breaker), breaker };
}

let state: State | undefined;
let contextManagerSet = false;
let coldStart = true;
const propagator = new W3CTraceContextPropagator();

/** Time spent creating the provider, for the cold-start measurement. */
export let lastSetupMs = 0;

/**
 * X-Ray-compatible ids: the trace id starts with the epoch seconds (8 hex digits), as the collector's
 * X-Ray exporter expects; still a valid W3C trace id.
 */
class XRayIdGenerator implements IdGenerator {
  generateTraceId(): string {
    return Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + randomHex(24);
  }
  generateSpanId(): string {
    return randomHex(16);
  }
}
function randomHex(length: number): string {
  let out = "";
  while (out.length < length) out += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
  out = out.slice(0, length);
  return /^0+$/.test(out) ? randomHex(length) : out;
}

/**
 * (Re)creates the tracer provider. Called on first use with the defaults; tests call it with an
 * in-memory exporter. Replacing a provider shuts the old one down (after flushing it).
 */
export function setupTelemetry(options: TelemetryOptions = {}): Tracer {
  const started = performance.now();
  if (!contextManagerSet) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(propagator);
    contextManagerSet = true;
  }
  if (state) {
    void state.provider.shutdown();
    trace.disable();
  }
  const env = process.env;
  const endpoint = options.exporter ? undefined : otlpTracesEndpoint(env);
  const otlp = endpoint ? otlpExporter(endpoint, options.collectorRetryMs ?? COLLECTOR_RETRY_MS) : undefined;
  const exporter = options.exporter ?? otlp?.exporter;
  const processors: SpanProcessor[] = !exporter
    ? []
    : [options.simple ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000, maxExportBatchSize: 256 })];
  const resource = resourceFromAttributes(
    dropUndefined({
      "service.name": options.serviceName ?? env.OTEL_SERVICE_NAME ?? env.AWS_LAMBDA_FUNCTION_NAME ?? "unknown_service",
      [ATTR.cloudProvider]: "aws",
      "cloud.platform": "aws_lambda",
      [ATTR.cloudRegion]: env.AWS_REGION,
      [ATTR.faasName]: env.AWS_LAMBDA_FUNCTION_NAME,
      [ATTR.faasVersion]: env.AWS_LAMBDA_FUNCTION_VERSION,
      "faas.max_memory": env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ? Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) * 1024 * 1024 : undefined,
    }),
  );
  const provider = new TracerProvider({ resource, idGenerator: new XRayIdGenerator(), spanProcessors: processors });
  trace.setGlobalTracerProvider(provider);
  state = {
    provider,
    tracer: provider.getTracer("utility-serverless"),
    exporter: options.exporter ? "custom" : otlp ? "otlp" : "none",
    endpoint,
    breaker: otlp?.breaker,
  };
  lastSetupMs = performance.now() - started;
  return state.tracer;
}

/** The tracer, creating the provider on first use. A no-op tracer when `OTEL_SDK_DISABLED=true`. */
export function getTracer(): Tracer {
  if (state) return state.tracer;
  if (process.env.OTEL_SDK_DISABLED === "true") return trace.getTracer("disabled");
  return setupTelemetry();
}

/** Where this process's spans go (for diagnostics and tests). */
export function telemetryStatus(): TelemetryStatus {
  getTracer();
  if (!state) return { exporter: "none" }; // OTEL_SDK_DISABLED
  const pausedUntil = state.breaker?.pausedUntil;
  return { exporter: state.exporter, ...(state.endpoint ? { endpoint: state.endpoint } : {}), ...(pausedUntil ? { pausedUntil } : {}) };
}

/**
 * Exports every finished span now. Called at the end of each invocation by `withInvocationSpan`;
 * call it yourself at the end of a script (a publisher CLI). Never throws; bounded by `timeoutMs`.
 * Returns at once when nothing is exported (no endpoint) or the collector is known to be
 * unreachable (the buffered spans are dropped), and as soon as a connection error shows it is.
 */
export async function flushTelemetry(timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
  if (!state || state.exporter === "none") return;
  const { provider, breaker } = state;
  if (breaker?.isOpen()) {
    // Empties the buffer: the exporter drops the spans without a network call.
    provider.forceFlush({ timeoutMillis: timeoutMs }).catch(() => undefined);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  try {
    await Promise.race([
      provider.forceFlush({ timeoutMillis: timeoutMs }),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ...(breaker ? [new Promise<void>((resolve) => (unsubscribe = breaker.onTrip(resolve)))] : []),
    ]);
  } catch {
    // Losing spans must never fail the invocation.
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }
}

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

/** The active span's trace id (32 hex), for logs. */
export function currentTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** Ends `span` with the outcome of `work`, recording an exception as an error. */
async function runInSpan<T>(span: Span, work: (span: Span) => Promise<T> | T, ctx: Context): Promise<T> {
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

/** The part of the Lambda context the invocation span reads. */
export interface InvocationContext {
  awsRequestId: string;
  invokedFunctionArn?: string;
  functionName?: string;
}

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

// ---------------------------------------------------------------------------------------------
// Propagation: SNS/SQS message attributes, Lambda SQS records, JSON payloads, HTTP headers.

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

// ---------------------------------------------------------------------------------------------
// SQS records.

/** The fields of a Lambda SQS record the message span reads. */
export interface TracedRecord {
  messageId: string;
  body: string;
  eventSourceARN?: string;
  attributes: { MessageGroupId?: string; ApproximateReceiveCount?: string };
  messageAttributes?: Record<string, EventMessageAttribute>;
}

/**
 * The producer's context for a record: its `traceparent` message attribute, else a `_trace` field
 * in its JSON body (what a Step Functions `sqs:sendMessage` task forwards from its input).
 */
export function extractFromRecord(record: TracedRecord): Context | undefined {
  const fromAttributes = extractFromMessageAttributes(record.messageAttributes);
  if (fromAttributes) return fromAttributes;
  if (!record.body.includes(TRACE_FIELD)) return undefined;
  try {
    return extractFromPayload(JSON.parse(record.body));
  } catch {
    return undefined;
  }
}

/** `arn:aws:sqs:us-east-2:123:name.fifo` → `name.fifo`. */
export function queueNameFromArn(arn: string | undefined): string | undefined {
  return arn?.split(":").pop();
}

/**
 * Runs one SQS invocation: the invocation span (child of the batch's trace when all its traced
 * records share one, a root otherwise; linked to every record's context), with `work` inside it.
 */
export function withSqsInvocationSpan<T>(
  name: string,
  records: TracedRecord[],
  lambdaContext: InvocationContext,
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const contexts = records.map(extractFromRecord).filter((c): c is Context => c !== undefined);
  const traceIds = new Set(contexts.map((c) => trace.getSpanContext(c)!.traceId));
  return withInvocationSpan(
    {
      name,
      trigger: "pubsub",
      context: lambdaContext,
      kind: SpanKind.CONSUMER,
      parent: traceIds.size === 1 ? contexts[0] : undefined,
      links: contexts.map((c) => ({ context: trace.getSpanContext(c)! })),
      attributes: dropUndefined({
        [ATTR.messagingSystem]: "aws_sqs",
        [ATTR.messagingOperationType]: "process",
        [ATTR.messagingDestination]: queueNameFromArn(records[0]?.eventSourceARN),
        [ATTR.messagingBatchCount]: records.length,
      }),
    },
    work,
  );
}

/**
 * Runs the processing of one SQS record in a `process <queue>` span. Parent: the invocation span
 * when the record's producer context is in the same trace (or there is none); otherwise the
 * producer's context, with a link to the invocation span.
 */
export function withMessageSpan<T>(record: TracedRecord, work: (span: Span) => Promise<T> | T): Promise<T> {
  const invocation = trace.getActiveSpan();
  const producer = extractFromRecord(record);
  const producerTrace = producer ? trace.getSpanContext(producer)?.traceId : undefined;
  const sameTrace = !producer || producerTrace === invocation?.spanContext().traceId;
  const queue = queueNameFromArn(record.eventSourceARN);
  return withSpan(
    `process ${queue ?? "message"}`,
    {
      kind: SpanKind.CONSUMER,
      parent: sameTrace ? undefined : producer,
      links: !sameTrace && invocation ? [{ context: invocation.spanContext() }] : undefined,
      attributes: dropUndefined({
        [ATTR.messagingSystem]: "aws_sqs",
        [ATTR.messagingOperationType]: "process",
        [ATTR.messagingOperationName]: "process",
        [ATTR.messagingDestination]: queue,
        [ATTR.messagingMessageId]: record.messageId,
        [ATTR.messagingGroup]: record.attributes.MessageGroupId,
        "messaging.aws.sqs.receive_count": record.attributes.ApproximateReceiveCount ? Number(record.attributes.ApproximateReceiveCount) : undefined,
      }),
    },
    work,
  );
}

// ---------------------------------------------------------------------------------------------
// AWS SDK v3: one CLIENT (or PRODUCER) span per command.

/** The name under which `aws.ts` (`traced`) adds `tracingMiddleware` to a client. */
export const TRACING_MIDDLEWARE_NAME = "otelTracing";

/**
 * Whether `client` carries `tracingMiddleware` (the shared clients of `aws.ts` do): its sends are
 * spans of their own and inject their context into SNS/SQS messages. A caller holding a client of
 * its own (a CLI) injects with `injectIntoMessageAttributes` when this is false.
 */
export function hasTracingMiddleware(client: { middlewareStack: { identify(): string[] } }): boolean {
  return client.middlewareStack.identify().some((entry) => entry.split(" ")[0] === TRACING_MIDDLEWARE_NAME);
}

/** Commands that send messages: PRODUCER spans that inject their context into the messages. */
const PRODUCER_COMMANDS = new Set(["PublishCommand", "PublishBatchCommand", "SendMessageCommand", "SendMessageBatchCommand"]);

interface MiddlewareContext {
  clientName?: string;
  commandName?: string;
}
type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: { $metadata?: { requestId?: string; httpStatusCode?: number } } }>;

/**
 * An AWS SDK v3 `initialize` middleware: a span per command (`SQS.SendMessage`, `DynamoDB.PutItem`)
 * covering its retries, with `rpc.*` attributes and the request id; errors are recorded. For SNS
 * `Publish`/`PublishBatch` and SQS `SendMessage`/`SendMessageBatch` the span is a PRODUCER span and
 * its context is injected into each message's attributes (unless one is there, or the 10-attribute
 * limit is reached).
 *
 * @example
 * client.middlewareStack.add(tracingMiddleware(), { step: "initialize", name: TRACING_MIDDLEWARE_NAME });
 */
export function tracingMiddleware() {
  return (next: Handler, ctx: MiddlewareContext): Handler =>
    async (args) => {
      if (process.env.OTEL_SDK_DISABLED === "true") return next(args);
      const service = (ctx.clientName ?? "AWS").replace(/Client$/, "").replace(/^DynamoDBDocument$/, "DynamoDB");
      const operation = (ctx.commandName ?? "Command").replace(/Command$/, "");
      const producer = PRODUCER_COMMANDS.has(ctx.commandName ?? "");
      const attributes: Attributes = {
        [ATTR.rpcSystem]: "aws-api",
        [ATTR.rpcService]: service,
        [ATTR.rpcMethod]: operation,
        [ATTR.cloudRegion]: process.env.AWS_REGION,
      };
      if (producer) {
        attributes[ATTR.messagingSystem] = service === "SNS" ? "aws_sns" : "aws_sqs";
        attributes[ATTR.messagingOperationType] = "send";
        const destination = (args.input.TopicArn as string | undefined)?.split(":").pop() ?? (args.input.QueueUrl as string | undefined)?.split("/").pop();
        if (destination) attributes[ATTR.messagingDestination] = destination;
        Object.assign(attributes, idsOfMessages(args.input));
      }
      const table = args.input.TableName;
      if (typeof table === "string") attributes["aws.dynamodb.table_names"] = [table];
      return withSpan(`${service}.${operation}`, { kind: producer ? SpanKind.PRODUCER : SpanKind.CLIENT, attributes: dropUndefined(attributes) }, async (span) => {
        const input = producer ? injectIntoCommand(args.input) : args.input;
        try {
          const result = await next({ ...args, input });
          const meta = result.output.$metadata;
          if (meta?.requestId) span.setAttribute(ATTR.awsRequestId, meta.requestId);
          if (meta?.httpStatusCode) span.setAttribute(ATTR.httpStatus, meta.httpStatusCode);
          return result;
        } catch (error) {
          const meta = (error as { $metadata?: { requestId?: string; httpStatusCode?: number } }).$metadata;
          if (meta?.requestId) span.setAttribute(ATTR.awsRequestId, meta.requestId);
          if (meta?.httpStatusCode) span.setAttribute(ATTR.httpStatus, meta.httpStatusCode);
          throw error;
        }
      });
    };
}

/** Business ids of the message(s) being sent, when the body is JSON carrying them (single sends only). */
function idsOfMessages(input: Record<string, unknown>): Attributes {
  const body = input.Message ?? input.MessageBody;
  if (typeof body !== "string" || body.length > 262_144 || !body.startsWith("{")) return {};
  try {
    return businessAttributes(JSON.parse(body) as Record<string, unknown>);
  } catch {
    return {};
  }
}

/** Copies a send/publish input with trace context in each message's attributes. */
function injectIntoCommand(input: Record<string, unknown>): Record<string, unknown> {
  const inject = (message: Record<string, unknown>) => ({
    ...message,
    MessageAttributes: injectIntoMessageAttributes((message.MessageAttributes ?? {}) as Record<string, SdkMessageAttribute>),
  });
  for (const batchField of ["PublishBatchRequestEntries", "Entries"]) {
    if (Array.isArray(input[batchField])) {
      return { ...input, [batchField]: (input[batchField] as Record<string, unknown>[]).map(inject) };
    }
  }
  return inject(input);
}

function dropUndefined(attributes: Record<string, Attributes[string] | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}
