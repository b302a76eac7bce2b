/**
 * The local cloud's status endpoint (`localStatusUrl` in the outputs file): how busy the cloud's
 * own event loop is (every emulator, the API front, the pollers and the Step Functions runner share
 * it, so its delay is added to every request) and how full the account's concurrency is.
 * `GET /` answers JSON; `GET /?reset=1` also starts a fresh event-loop window (the benchmarks read
 * one window per load step).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ConcurrencySnapshot } from "./account-concurrency";

/** Event-loop delay over a window, in milliseconds (the sampling resolution subtracted). */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
  /** Length of the window, in seconds. */
  seconds: number;
}

export interface LocalStatus {
  eventLoopDelayMs: EventLoopDelay;
  concurrency: ConcurrencySnapshot;
}

export interface StatusServer {
  url: string;
  /** The status now (the same as a GET). */
  read(reset?: boolean): LocalStatus;
  close(): Promise<void>;
}

/** Sampling resolution of the delay monitor: fine enough for a 10 ms target. */
const RESOLUTION_MS = 5;

/**
 * Starts the endpoint on 127.0.0.1 (a free port).
 * @param concurrency - the account's counters, read on each request.
 */
export async function startStatusServer(concurrency: () => ConcurrencySnapshot): Promise<StatusServer> {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let windowStart = Date.now();
  const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);
  const read = (reset = false): LocalStatus => {
    const status: LocalStatus = {
      eventLoopDelayMs: {
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
        seconds: Math.round((Date.now() - windowStart) / 100) / 10,
      },
      concurrency: concurrency(),
    };
    if (reset) {
      histogram.reset();
      windowStart = Date.now();
    }
    return status;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== "/") {
      res.writeHead(req.method === "GET" ? 404 : 405, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: `only GET / is served here, not ${req.method} ${url.pathname}` }));
      return;
    }
    const reset = url.searchParams.get("reset");
    if (reset !== null && reset !== "1") {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: `reset must be 1 when given, got "${reset}"` }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(read(reset === "1")));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    read,
    close: () =>
      new Promise<void>((resolve) => {
        histogram.disable();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
