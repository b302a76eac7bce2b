/**
 * Where a bundle's size and its module load go, by npm package:
 * - `packageBytes`: esbuild's metafile, the bytes each package contributes to the minified output;
 * - `measureLoad`: `require` of the bundle in fresh Node processes (nothing else loaded), timed,
 *   and once under the V8 CPU profiler (`--cpu-prof`, 100 µs samples) whose self time is mapped
 *   through the bundle's source map back to the package each sampled function came from.
 *
 * Source parsing and compilation, the garbage collector and Node's own module loader show up as
 * `(node: parse, compile, GC)`: time the require costs that no package's code runs in.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { SourceMap } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import type { Metafile } from "esbuild";

/** One package's share of a bundle. */
export interface PackageShare {
  /** npm package name (`@aws-sdk/client-sqs`), or `(own code)` for the repository's sources. */
  name: string;
  /** Bytes in the minified bundle (esbuild metafile), in KiB. */
  kib: number;
  /** CPU self time during `require` attributed to it (profile), in ms; 0 when never sampled. */
  loadMs: number;
}

export const OWN_CODE = "(own code)";
export const NODE_INTERNALS = "(node: parse, compile, GC)";

/** The npm package a source path belongs to: the last `node_modules/<name>` (or `@scope/name`) in it. */
export function packageOf(source: string): string {
  const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source.replaceAll("\\", "/"));
  return match ? match[1]! : OWN_CODE;
}

/** Bytes per package in the output of `entryFile`'s bundle. */
export function packageBytes(metafile: Metafile): Map<string, number> {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }
  return bytes;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Runs `node -e <script>` with only the environment the bundle needs; returns its stdout (stderr, the handler's error logs, is dropped). */
function node(script: string, args: string[] = [], environment: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [...args, "-e", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...environment },
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/** `node` as a child that does not block this process: its spans go to an OTLP receiver running here. */
function nodeAsync(script: string, environment: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ["-e", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...environment } }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
    child.stdin?.end();
  });
}

/** A V8 CPU profile (`--cpu-prof`'s `.cpuprofile`), the parts read here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}
type CallFrame = { url: string; functionName: string; lineNumber: number; columnNumber: number };

/**
 * Self time (ms) per package of the samples `counts` accepts: a frame in the bundle is mapped
 * through its source map (`<bundleFile>.map`) to the package it came from, anything else (Node's
 * own code, parsing, compiling, the garbage collector) is {@link NODE_INTERNALS}.
 */
export function selfTimeByPackage(profile: CpuProfile, bundleFile: string, counts: (id: number, frame: CallFrame | undefined) => boolean): Map<string, number> {
  const map = new SourceMap(JSON.parse(fs.readFileSync(`${bundleFile}.map`, "utf8")) as never);
  const bundleUrl = `file://${bundleFile}`;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (!counts(id, frame)) return;
    let owner = NODE_INTERNALS;
    if (frame?.url === bundleUrl) {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
      owner = entry.originalSource ? packageOf(entry.originalSource) : OWN_CODE;
    }
    self.set(owner, (self.get(owner) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return self;
}

/**
 * Self time per package from one CPU profile of `node -e "require(bundle)"`. Only samples under the
 * `[eval]` script count (the require and everything it does: reading, compiling and running the
 * bundle), not Node's own start-up; the garbage collector, sampled outside any stack, counts as
 * Node's too.
 */
function profileLoad(bundleFile: string, environment: Record<string, string>): Map<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-load-profile-"));
  try {
    node(`require(${JSON.stringify(bundleFile)})`, ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", dir], environment);
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) return new Map();
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
    const underEval = (id: number): boolean => {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) if (byId.get(at)?.callFrame.url === "[eval]") return true;
      return false;
    };
    const self = selfTimeByPackage(profile, bundleFile, (id, frame) => frame?.functionName === "(garbage collector)" || underEval(id));
    return self;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The module load of a bundle: the median `require` time over `runs` fresh processes, and one CPU
 * profile of it attributed to packages.
 *
 * @param bundleFile - the bundle's `index.js` (its `index.js.map` beside it).
 * @param environment - the function's environment (a bundle may read it at load).
 * @param runs - fresh processes timed. @default 5
 */
export function measureLoad(bundleFile: string, environment: Record<string, string>, runs = 5): { loadMs: number; profileMs: Map<string, number> } {
  const script = `const t = performance.now(); require(${JSON.stringify(bundleFile)}); process.stdout.write(String(performance.now() - t));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(Number(node(script, [], environment)));
  return { loadMs: median(times), profileMs: profileLoad(bundleFile, environment) };
}

/**
 * The bundle's packages, largest first: bytes from the metafile, load time from the profile
 * (Node's own parse/compile/GC share listed as a package of its own, with no bytes).
 */
export function packageShares(bytes: Map<string, number>, profileMs: Map<string, number>): PackageShare[] {
  const names = new Set([...bytes.keys(), ...profileMs.keys()]);
  return [...names]
    .map((name) => ({ name, kib: (bytes.get(name) ?? 0) / 1024, loadMs: profileMs.get(name) ?? 0 }))
    .sort((a, b) => b.kib - a.kib || b.loadMs - a.loadMs);
}

/**
 * A cold start in a plain fresh Node process, as Lambda's runtime does it: from the process's start
 * (`performance.timeOrigin`) through loading the bundle and answering `event` (its spans exported
 * before the handler returns), without the local cloud's host in between. Median of `runs`.
 *
 * @param bundleFile - the bundle's `index.js`.
 * @param environment - the function's environment (the OTLP endpoint of a receiver included).
 * @param event - the first event.
 * @param runs - fresh processes. @default 5
 */
export async function measureColdStart(bundleFile: string, environment: Record<string, string>, event: unknown, runs = 5): Promise<number> {
  const script = [
    `const { handler } = require(${JSON.stringify(bundleFile)});`,
    `const context = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "bench", functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:bench",`,
    `  memoryLimitInMB: "256", awsRequestId: "bench-cold-start", logGroupName: "/aws/lambda/bench", logStreamName: "bench", getRemainingTimeInMillis: () => 30000 };`,
    `Promise.resolve().then(() => handler(${JSON.stringify(event)}, context)).catch(() => undefined)`,
    `  .then(() => { process.stdout.write("\\n" + performance.now()); process.exit(0); });`,
  ].join("\n");
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // The handler's log lines come first; the figure is the last line.
    const stdout = await nodeAsync(script, { AWS_LAMBDA_FUNCTION_NAME: "bench", AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand", ...environment });
    times.push(Number(stdout.trim().split("\n").pop()));
  }
  return median(times);
}
