/**
 * The tracer provider: one per process (sdk-trace 3.x), created on first use (`getTracer`), with
 * its flush (`flushTelemetry`) and status (`telemetryStatus`). Part of the functions' tracing, a
 * small OpenTelemetry setup with no auto-instrumentation.
 *
 * - The provider comes with an AsyncLocalStorage context manager, the W3C trace-context propagator
 *   (`propagation.ts`), X-Ray-compatible trace ids, a batch processor and the OTLP/HTTP (JSON)
 *   exporter (`exporter.ts`, behind its circuit breaker).
 * - Spans are exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set;
 *   without it tracing stays in-process: spans and their contexts exist (so `traceparent` and
 *   `_trace` still propagate), nothing is sent and a flush costs nothing.
 *
 * Holds the process's telemetry state (the provider, its exporter and breaker, `lastSetupMs`): the
 * other modules reach the tracer through `getTracer`, never a provider of their own.
 *
 * Set `OTEL_SDK_DISABLED=true` to turn tracing off (the wrappers still run the work; no spans).
 */
import { context, propagation, trace } from "@opentelemetry/api";
import type { Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { IdGenerator, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";
import { ATTR, dropUndefined } from "./attributes";
import { COLLECTOR_RETRY_MS, FLUSH_TIMEOUT_MS } from "./constants";
import { lazyOtlpExporter, otlpTracesEndpoint } from "./collector";
import type { CollectorBreaker } from "./collector";
import { propagator } from "./propagation";

/** How `setupTelemetry` builds the provider. */
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

/** This process's provider and exporter: the one instance, set by `setupTelemetry`. */
let state: State | undefined;
let contextManagerSet = false;

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
  const otlp = endpoint ? lazyOtlpExporter(endpoint, options.collectorRetryMs ?? COLLECTOR_RETRY_MS) : undefined;
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
