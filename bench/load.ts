/**
 * What the latency benchmarks share: percentiles, an open-loop driver (requests start on schedule,
 * whatever the earlier ones are doing: a closed loop's latency is only its client count divided by
 * the throughput), and a local cloud started as a user starts it (`npm start`, its own process), so
 * its event loop is not the benchmark's and its status endpoint reports the cloud's alone.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackOutputsFile } from "../local/outputs";
import type { LocalStatus } from "../local/runtime/status";

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `values` (milliseconds), rounded to 0.1. */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    if (sorted.length === 0) return Number.NaN;
    return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! * 10) / 10;
  };
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export interface OpenLoopResult<T> {
  /** Latency of every request, from its scheduled start (so a late start counts against it). */
  latencies: number[];
  /** What each successful request returned. */
  results: T[];
  /** Requests that threw, with their messages (first ten). */
  errors: number;
  errorSamples: string[];
  /** How late the driver itself started requests, p99 (ms): above a few ms, the client was the bottleneck. */
  startLagP99: number;
}

/**
 * Starts `request(i)` at `rate` per second for `seconds`, each on its schedule; resolves when all
 * have answered.
 * @param rate - requests per second (> 0).
 * @param seconds - how long requests start (> 0).
 */
export async function openLoop<T>(rate: number, seconds: number, request: (i: number) => Promise<T>): Promise<OpenLoopResult<T>> {
  if (!(rate > 0) || !(seconds > 0)) throw new Error(`openLoop needs a positive rate and duration, got ${rate}/s for ${seconds} s`);
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  const results: T[] = [];
  const errorSamples: string[] = [];
  const lags: number[] = [];
  let errors = 0;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const at = started + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    lags.push(performance.now() - at);
    pending.push(
      request(i).then(
        (result) => {
          latencies.push(performance.now() - at);
          results.push(result);
        },
        (error: unknown) => {
          latencies.push(performance.now() - at);
          errors += 1;
          if (errorSamples.length < 10) errorSamples.push(error instanceof Error ? error.message : String(error));
        },
      ),
    );
  }
  await Promise.all(pending);
  return { latencies, results, errors, errorSamples, startLagP99: percentiles(lags).p99 };
}

/** Runs `request` `count` times one after another (one client); returns each latency. */
export async function oneClient(count: number, request: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await request(i);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

export interface CloudProcess {
  outputs: StackOutputsFile;
  /** The cloud's process id (its function environments are its children). */
  pid: number;
  /** The cloud's status now; `reset` starts a fresh event-loop window. */
  status(reset?: boolean): Promise<LocalStatus>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, "..");

/**
 * Starts `npm start`'s program (`local/main.ts`) in its own process with its own state directory,
 * and waits for its outputs file.
 * @param args - extra command-line arguments, e.g. `["--config", "maxConcurrency=5"]`.
 * @param timeoutMs - how long the cloud may take to be ready. @default 180000
 * @param root - the checkout whose `local/main.ts` runs (another worktree, to compare commits under the same load). @default this one
 * @param nodeArgs - Node options for the cloud's process, e.g. `["--cpu-prof"]` (which `NODE_OPTIONS` refuses). @default none
 */
export async function startCloudProcess(args: string[], timeoutMs = 180_000, root = ROOT, nodeArgs: string[] = []): Promise<CloudProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-cloud-"));
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, "--import", "tsx", path.join(root, "local", "main.ts"), "--stack", "dev", ...args], {
    cwd: root,
    env: { ...process.env, LOCAL_CLOUD_DIR: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const outputsFile = path.join(dir, "dev", "outputs.json");
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(outputsFile)) {
    if (child.exitCode !== null) throw new Error(`the local cloud exited (${child.exitCode}) before it was ready: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the local cloud was not ready within ${timeoutMs / 1000} s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 100)); // the file is written whole before the lock is released; give it a moment
  const outputs = JSON.parse(fs.readFileSync(outputsFile, "utf8")) as StackOutputsFile;
  if (!outputs.localStatusUrl) throw new Error(`the local cloud's outputs have no localStatusUrl (${outputsFile})`);
  const statusUrl = outputs.localStatusUrl;
  return {
    outputs,
    pid: child.pid ?? 0,
    async status(reset = false) {
      const response = await fetch(`${statusUrl}${reset ? "?reset=1" : ""}`);
      return (await response.json()) as LocalStatus;
    },
    async stop() {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
