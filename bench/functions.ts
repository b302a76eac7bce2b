/**
 * Function benchmarks: for every function the program declares, the bundle's size (raw and
 * gzipped, what Lambda unpacks and what it uploads), the esbuild time, and the cold and warm
 * invocation times of the bundle in a fresh Node process (the local Lambda host), against a
 * baseline bundle that does nothing, so the cold-start cost of our code reads as a ratio; and the
 * module load (`require` in a fresh process) with its breakdown by package (`module-load.ts`).
 * Returns plain figures (JSON-serialisable): `bench/index.ts` prints them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { buildSync } from "esbuild";
import { BUILD_DIR, buildOptions } from "../components/lib/bundle";
import { runProgram } from "../runner/run-program";
import { startOtlpReceiver } from "../local/otlp-receiver";
import { FunctionHost } from "../local/runtime/function-host";
import { measureColdStart, measureLoad, packageBytes, packageShares } from "./module-load";
import type { PackageShare } from "./module-load";

export interface FunctionFigures {
  name: string;
  kib: number;
  gzipKib: number;
  buildMs: number;
  /** Median `require` of the bundle in a fresh Node process (nothing else loaded). */
  loadMs: number;
  /** Fresh process, bundle loaded, first (empty) event answered, its spans exported: through the local cloud's host. */
  coldMs: number;
  /** The same in a plain `node` process (no host, no loader), from the process's start. */
  plainColdMs: number;
  warmMs: number;
  /** Bytes and module-load CPU time per package, largest first. */
  packages: PackageShare[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function timeInvocations(name: string, bundleDir: string, environment: Record<string, string>, event: unknown, warmRuns: number) {
  const host = new FunctionHost({ name, bundleDir, environment, timeoutSeconds: 30, onLog: () => undefined });
  try {
    let started = performance.now();
    await host.invoke(event).catch(() => undefined); // an event the handler rejects still measures start-up
    const coldMs = performance.now() - started;
    const warm: number[] = [];
    for (let i = 0; i < warmRuns; i++) {
      started = performance.now();
      await host.invoke(event).catch(() => undefined);
      warm.push(performance.now() - started);
    }
    return { coldMs, warmMs: median(warm) };
  } finally {
    await host.stop();
  }
}

/** A trivial event per trigger: enough to run the handler's wrapper without touching any service. */
function eventFor(environment: Record<string, string>): unknown {
  if (environment.FUNCTION_TRIGGER) return { Records: [] };
  return {};
}

export async function benchFunctions(warmRuns = 20): Promise<{ baseline: { coldMs: number; plainColdMs: number; warmMs: number }; functions: FunctionFigures[] }> {
  const run = await runProgram({ stack: "dev", config: { accountFingerprintKey: "bench-fingerprint-key-0123456789abcdef0123" } });

  const baselineDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-baseline-"));
  fs.writeFileSync(path.join(baselineDir, "index.js"), "exports.handler = async () => ({});\n");
  const baseline = { ...(await timeInvocations("baseline", baselineDir, {}, {}, warmRuns)), plainColdMs: await measureColdStart(path.join(baselineDir, "index.js"), {}, {}) };

  // The functions export their spans as on AWS, to a receiver standing in for the collector layer.
  const receiver = await startOtlpReceiver({ stack: "bench", dir: fs.mkdtempSync(path.join(os.tmpdir(), "bench-spans-")) });
  const functions: FunctionFigures[] = [];
  for (const fn of run.resources.filter((r) => r.type === "aws:lambda/function:Function")) {
    const environment: Record<string, string> = {
      ...(fn.inputs.environment as { variables: Record<string, string> }).variables,
      AWS_REGION: run.settings.region,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    };
    const definitionName = environment.POWERTOOLS_SERVICE_NAME!;
    const bundleDir = path.join(BUILD_DIR, definitionName);
    const bundle = fs.readFileSync(path.join(bundleDir, "index.js"));

    // Rebuild once from the bundle's own entry to time esbuild alone (the program run reused its cache).
    const meta = JSON.parse(fs.readFileSync(path.join(bundleDir, "index.js.map"), "utf8")) as { sources: string[] };
    const entry = meta.sources.map((s) => path.resolve(bundleDir, s)).find((s) => s.endsWith(`${path.sep}handler.ts`));
    let buildMs = NaN;
    let bytes = new Map<string, number>();
    if (entry) {
      const started = performance.now();
      const result = buildSync(buildOptions(entry, path.join(os.tmpdir(), "bench-build", "index.js")));
      buildMs = performance.now() - started;
      bytes = packageBytes(result.metafile);
    }
    const load = measureLoad(path.join(bundleDir, "index.js"), environment);
    const plainColdMs = await measureColdStart(path.join(bundleDir, "index.js"), environment, eventFor(environment));
    const timing = await timeInvocations(fn.inputs.name as string, bundleDir, environment, eventFor(environment), warmRuns);
    functions.push({
      name: fn.inputs.name as string,
      kib: bundle.byteLength / 1024,
      gzipKib: gzipSync(bundle).byteLength / 1024,
      buildMs,
      loadMs: load.loadMs,
      plainColdMs,
      ...timing,
      packages: packageShares(bytes, load.profileMs),
    });
  }
  await receiver.close();
  fs.rmSync(baselineDir, { recursive: true, force: true });
  return { baseline, functions };
}
