/**
 * The OTLP collector as the provider sees it, without the OTLP exporter's code: its URL from the
 * environment, the circuit breaker in front of it, and `lazyOtlpExporter`, which loads the
 * OTLP/HTTP exporter (`exporter.ts`, its HTTP and serialisation modules) on the first export. A
 * function that never ends a span never evaluates it, and no cold start waits for it before the
 * handler runs.
 *
 * It sends to `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`):
 * on AWS the collector layer on localhost:4318, locally the local cloud's OTLP receiver.
 *
 * A collector that cannot be reached (connection refused, unknown host, ...) costs one failed
 * export, not a flush timeout per invocation: the first connection error opens a circuit breaker
 * (one warning in the log); for the next 60 s spans are dropped at once and flushes do not wait;
 * then export is tried again.
 *
 * Used by `provider.ts` only; handlers never import it.
 */
import { ExportResultCode } from "@opentelemetry/core";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";

/** Socket errors that mean "no collector there" (not a slow or busy one). */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EADDRNOTAVAIL"]);

export function unreachableCode(error: unknown): string | undefined {
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
export class CollectorBreaker {
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

/** An exporter behind the breaker: drops at once while it is open, feeds it the outcomes. */
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
export function otlpTracesEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * An exporter that loads its implementation on the first export (or flush). A failed load fails
 * that export (spans lost, never the invocation) and is tried again on the next one.
 */
class LazyExporter implements SpanExporter {
  private loading?: Promise<SpanExporter>;

  constructor(private readonly load: () => Promise<SpanExporter>) {}

  private inner(): Promise<SpanExporter> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner().then(
      (inner) => inner.export(spans, done),
      (error: unknown) => done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  async forceFlush(): Promise<void> {
    if (this.loading) await (await this.loading).forceFlush?.();
  }

  async shutdown(): Promise<void> {
    if (this.loading) await (await this.loading).shutdown();
  }
}

/**
 * The OTLP/HTTP exporter behind a circuit breaker, loaded on the first export (`exporter.ts`).
 *
 * @param endpoint - the OTLP traces URL (`otlpTracesEndpoint`).
 * @param retryMs - how long the breaker stays open after a connection error.
 */
export function lazyOtlpExporter(endpoint: string, retryMs: number): { exporter: SpanExporter; breaker: CollectorBreaker } {
  const breaker = new CollectorBreaker(endpoint, retryMs);
  const otlp = new LazyExporter(async () => (await import("./exporter")).otlpTraceExporter(breaker));
  return { exporter: new BreakerExporter(otlp, breaker), breaker };
}
