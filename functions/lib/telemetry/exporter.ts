/**
 * The OTLP/HTTP trace exporter, with its HTTP agent watched by the collector's circuit breaker
 * (`collector.ts`). Loaded by `collector.ts`'s `lazyOtlpExporter` on the first export, with
 * `import()`: esbuild keeps it in the bundle but evaluates it (and the OTLP packages) only then.
 */
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { SpanExporter } from "@opentelemetry/sdk-trace";
import type { Agent } from "node:http";
import type { CollectorBreaker } from "./collector";
import { unreachableCode } from "./collector";
import { FLUSH_TIMEOUT_MS } from "./constants";

/**
 * The OTLP/HTTP exporter (its URL from the environment, as `otlpTracesEndpoint` reads it). Its HTTP agent reports connection errors to the
 * breaker as soon as the socket fails: the exporter itself would retry a refused connection with
 * backoff until its timeout (seconds) before reporting anything.
 */
export function otlpTraceExporter(breaker: CollectorBreaker): SpanExporter {
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
  return new OTLPTraceExporter({
    // Retrying longer than a flush may wait only keeps timers alive (a CLI would not exit).
    timeoutMillis: FLUSH_TIMEOUT_MS,
    httpAgentOptions: async (protocol: string) => {
      const module = protocol === "https:" ? await import("node:https") : await import("node:http");
      return watch(new module.Agent({ keepAlive: true }));
    },
  });
}
