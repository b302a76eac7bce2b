/**
 * Where spans go, and what a missing collector costs. Without `OTEL_EXPORTER_OTLP_ENDPOINT` spans
 * stay in-process (context still propagates, a flush costs nothing). With an endpoint nobody
 * listens on, the first connection error opens the circuit breaker: that flush and every flush
 * after it return at once instead of waiting out their timeout; after the retry period export is
 * tried again, and a collector that appeared meanwhile receives the spans.
 */
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { trace } from "@opentelemetry/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FLUSH_TIMEOUT_MS } from "../../../functions/lib/telemetry/constants";
import { withInvocationSpan } from "../../../functions/lib/telemetry/invocation";
import { extractFromPayload, injectIntoPayload } from "../../../functions/lib/telemetry/propagation";
import { flushTelemetry, setupTelemetry, telemetryStatus } from "../../../functions/lib/telemetry/provider";

const lambdaContext = (requestId: string) => ({ awsRequestId: requestId, functionName: "export-test" });
const ENV_KEYS = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An OTLP/HTTP receiver on `port` that records the invocation id (`faas.invocation_id`) of each span it is sent. */
async function receiver(port: number): Promise<{ server: Server; invocations: () => string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpBody;
      for (const r of body.resourceSpans)
        for (const s of r.scopeSpans)
          for (const span of s.spans) received.push(span.attributes.find((a) => a.key === "faas.invocation_id")?.value.stringValue ?? "?");
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, invocations: () => [...received] };
}
type OtlpBody = { resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] };

/**
 * Whether a flush finishes without waiting for any I/O: it settles before a `setImmediate` callback,
 * which runs only once the event loop has gone round (an export's request, or a timer, would not).
 * An order of events, not a duration, so a loaded machine cannot make it flaky.
 */
async function flushesWithoutIo(): Promise<boolean> {
  trace.getTracer("export-test").startSpan("pending").end();
  const first = await Promise.race([flushTelemetry().then(() => "flush"), new Promise<string>((resolve) => setImmediate(() => resolve("event loop")))]);
  return first === "flush";
}

/** Runs one invocation (which flushes before returning) and measures it. */
async function timedInvocation(requestId: string): Promise<number> {
  const started = performance.now();
  await withInvocationSpan({ name: "invocation", trigger: "other", context: lambdaContext(requestId) }, () => undefined);
  return performance.now() - started;
}

let warnings: string[];
beforeEach(() => {
  for (const key of ENV_KEYS) delete process.env[key];
  warnings = [];
  vi.spyOn(console, "warn").mockImplementation((line: unknown) => void warnings.push(String(line)));
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe("without OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it("exports nothing, still propagates context, and flushes at once", async () => {
    setupTelemetry();
    expect(telemetryStatus()).toEqual({ exporter: "none" });
    let payload: object = {};
    let injected: { traceId: string; spanId: string } | undefined;
    const elapsed = await withInvocationSpan({ name: "api", trigger: "http", context: lambdaContext("r-1") }, async (span) => {
      payload = injectIntoPayload({ order_id: "o-1" });
      injected = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
      expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      return flushesWithoutIo();
    });
    expect(injected!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.getSpanContext(extractFromPayload(payload)!)).toMatchObject({ ...injected, isRemote: true });
    expect(elapsed).toBe(true);
    expect(warnings).toEqual([]);
  });
});

describe("with an endpoint nobody listens on", () => {
  it("opens the breaker on the first connection error: one warning, and later flushes return fast", async () => {
    const port = await closedPort();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
    setupTelemetry();
    expect(telemetryStatus()).toMatchObject({ exporter: "otlp", endpoint: `http://127.0.0.1:${port}/v1/traces` });
    expect(telemetryStatus().pausedUntil).toBeUndefined();

    const first = await timedInvocation("r-1");
    const status = telemetryStatus();
    expect(status.pausedUntil).toBeGreaterThan(Date.now() + 50_000); // open for about 60 s
    const durations = [];
    for (let i = 2; i <= 5; i++) durations.push(await timedInvocation(`r-${i}`));

    // Before the fix each of these waited out the 2 s flush timeout. The first flush tried the
    // collector and stopped at the refusal: under the timeout, the whole point (no tighter bound:
    // a loaded CI machine only adds to it). While the breaker is open a flush tries no export at
    // all: it finishes before the event loop turns (an order of events, not a duration).
    expect(first).toBeLessThan(FLUSH_TIMEOUT_MS);
    for (const ms of durations) expect(ms).toBeLessThan(FLUSH_TIMEOUT_MS);
    expect(await flushesWithoutIo()).toBe(true);
    expect(telemetryStatus().pausedUntil).toBe(status.pausedUntil); // not re-armed while open
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: "WARN", error_code: "ECONNREFUSED", otlp_endpoint: `http://127.0.0.1:${port}/v1/traces` });
  });

  it("tries again after the retry period: still refused stays quiet, a collector that appeared gets the spans", async () => {
    const port = await closedPort();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
    setupTelemetry({ collectorRetryMs: 300 });
    await timedInvocation("r-1");
    const firstPause = telemetryStatus().pausedUntil;
    expect(firstPause).toBeDefined();

    // Retry period over, still nobody there: opened again, no second warning.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(telemetryStatus().pausedUntil).toBeUndefined();
    await timedInvocation("r-2");
    expect(telemetryStatus().pausedUntil).toBeGreaterThan(firstPause!);
    expect(warnings).toHaveLength(1);

    // A collector comes up: the next export after the period goes through and closes the breaker.
    const collector = await receiver(port);
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await timedInvocation("r-3");
      expect(collector.invocations()).toContain("r-3");
      expect(telemetryStatus().pausedUntil).toBeUndefined();
      await timedInvocation("r-4");
      expect(collector.invocations()).toContain("r-4");
      // Each span arrives once. r-1's or r-2's may arrive too, late: the exporter's own retry of a
      // refused request (within its 2 s timeout) can reach the collector after it came up.
      const seen = collector.invocations();
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => id !== "r-1" && id !== "r-2").sort()).toEqual(["r-3", "r-4"]);
    } finally {
      await new Promise<void>((resolve) => collector.server.close(() => resolve()));
      collector.server.closeAllConnections();
    }
  });

  it("the flush timeout still bounds a collector that accepts but never answers", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      setupTelemetry();
      const elapsed = await timedInvocation("r-1");
      expect(elapsed).toBeGreaterThanOrEqual(FLUSH_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(FLUSH_TIMEOUT_MS + 3000); // bounded by the flush timeout, with room for a loaded CI machine
      expect(telemetryStatus().pausedUntil).toBeUndefined(); // slow is not absent
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
