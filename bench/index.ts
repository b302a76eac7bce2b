/**
 * `npm run bench`: prints figures and ratios (never pass/fail). See README "Benchmarks" for the
 * latest numbers and what they mean. `npm run bench -- --functions`, `--flows` or `--latency` runs
 * one part; `--json <file>` also writes every figure there, to compare commits; anything else is
 * refused with the usage (exit 2).
 */
import * as fs from "node:fs";
import { benchFlows } from "./flows";
import { benchFunctions } from "./functions";
import { benchLatency, DEFAULT_LATENCY_SIZE } from "./latency";
import type { LatencyFigures, LatencySize } from "./latency";
import type { Percentiles } from "./load";

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Every figure of the run, for `--json`. */
const figures: Record<string, unknown> = {};

async function functions() {
  const { baseline, functions } = await benchFunctions();
  figures.functions = { baseline, functions };
  console.log("Functions (bundle = the deploy artifact, run in a fresh Node process):");
  console.log(`  baseline (empty handler): cold ${fmt(baseline.coldMs)} ms through the host, ${fmt(baseline.plainColdMs)} ms in plain node; warm ${fmt(baseline.warmMs, 2)} ms`);
  console.log("  function                                          KiB   gzip KiB  esbuild ms  load ms  cold ms  cold/baseline  plain cold ms  /baseline  warm ms");
  for (const f of functions) {
    console.log(
      `  ${f.name.padEnd(48)} ${fmt(f.kib).padStart(5)} ${fmt(f.gzipKib).padStart(9)} ${fmt(f.buildMs).padStart(11)} ${fmt(f.loadMs).padStart(8)} ${fmt(f.coldMs).padStart(8)} ${fmt(f.coldMs / baseline.coldMs, 1).padStart(13)}x ${fmt(f.plainColdMs).padStart(14)} ${fmt(f.plainColdMs / baseline.plainColdMs, 1).padStart(9)}x ${fmt(f.warmMs, 2).padStart(8)}`,
    );
  }
  console.log("\n  module load by package (KiB in the bundle / ms of CPU during require, from a profile; the 7 largest, then Node's share):");
  for (const f of functions) {
    const shown = [...f.packages.filter((p) => p.kib > 0).slice(0, 7), ...f.packages.filter((p) => p.kib === 0 && p.loadMs > 0)];
    const top = shown.map((p) => `${p.name} ${fmt(p.kib)}/${fmt(p.loadMs, 1)}`);
    console.log(`  ${f.name}: ${top.join(", ")}`);
  }
}

async function flows() {
  console.log("\nEnd to end through the local cloud (emulators on this machine, not AWS figures):");
  const runs = [await benchFlows(false), await benchFlows(true)];
  console.log("  tracing  boot s  transactions  tx s  tx/s   orders  orders s  orders/s  fulfilled  failed");
  for (const r of runs) {
    console.log(
      `  ${(r.traces ? "on" : "off").padEnd(7)} ${fmt(r.bootMs / 1000, 1).padStart(6)} ${String(r.transactions.count).padStart(13)} ${fmt(r.transactions.seconds, 1).padStart(5)} ${fmt(r.transactions.perSecond, 1).padStart(5)} ${String(r.orders.count).padStart(8)} ${fmt(r.orders.seconds, 1).padStart(9)} ${fmt(r.orders.perSecond, 1).padStart(9)} ${String(r.orders.fulfilled).padStart(10)} ${String(r.orders.failed).padStart(7)}`,
    );
  }
  figures.flows = runs;
  const [off, on] = runs as [(typeof runs)[0], (typeof runs)[0]];
  console.log(`  throughput with tracing / without: transactions ${fmt(on.transactions.perSecond / off.transactions.perSecond, 2)}, orders ${fmt(on.orders.perSecond / off.orders.perSecond, 2)}`);
}

const pct = (p: Percentiles) => `p50 ${fmt(p.p50, 1)}  p90 ${fmt(p.p90, 1)}  p99 ${fmt(p.p99, 1)}  max ${fmt(p.max, 1)} ms (n=${p.count})`;
const loop = (d: { p50: number; p99: number; max: number }) => `event loop p50 ${fmt(d.p50, 1)} p99 ${fmt(d.p99, 1)} max ${fmt(d.max, 1)} ms`;

async function latency(size: LatencySize) {
  console.log("\nWhat a user feels: a local cloud as npm start runs it (own process, dev settings, fault proxy on, no faults):");
  const l: LatencyFigures = await benchLatency(size, (line) => console.log(`  … ${line}`));
  figures.latency = l;
  console.log(`  idle, one at a time: GetItem ${pct(l.idle.getItem)}`);
  console.log(`                       StartExecution ${pct(l.idle.startExecution)}; ${loop(l.idle.eventLoopDelayMs)}`);
  console.log(`  one client: POST /order ${pct(l.oneClient.post)}`);
  console.log(`              GET /order/{id} ${pct(l.oneClient.get)}; ${loop(l.oneClient.eventLoopDelayMs)}`);
  console.log("  offered rate (open loop), POST /order:");
  for (const s of [l.target, ...l.ladder]) {
    console.log(
      `    ${String(s.rate).padStart(3)}/s for ${s.seconds} s: ${pct(s.post)}, ${s.errors} errors; POST → final p50 ${fmt(s.toFinal.p50 / 1000, 2)} s p99 ${fmt(s.toFinal.p99 / 1000, 2)} s (${s.notFinal} not final); ${loop(s.eventLoopDelayMs)}; ${s.concurrency.throttled} throttled so far`,
    );
    for (const sample of s.errorSamples.slice(0, 2)) console.log(`        e.g. ${sample}`);
  }
  console.log(`  highest offered rate with p99 < 250 ms and no errors: ${l.highestRateUnder250ms ?? "none"} orders/s`);
  console.log(`  GET /order/{id} at ${l.get.rate}/s: ${pct(l.get.latency)}, ${l.get.errors} errors`);
  console.log(`  bus: ${l.bus.count} transactions in ${fmt(l.bus.seconds, 1)} s = ${fmt(l.bus.perSecond, 1)} tx/s; raw SQS send → receive → delete on the same emulator ${fmt(l.raw.perSecond, 0)} msg/s; ratio ${fmt(l.busToRaw, 3)}`);
  console.log(
    `  under a backlog of ${l.backlog.transactions} transactions: POST /order ${pct(l.backlog.post)}, ${l.backlog.errors} errors; ${loop(l.backlog.eventLoopDelayMs)}; the backlog drained at ${fmt(l.backlog.drain.perSecond, 1)} tx/s`,
  );
}

export const USAGE = `usage: npm run bench [-- --functions | --flows | --latency] [--quick] [--json <file>]
  (no option)   every part
  --functions   the function bundles: size, build time, module load by package, cold and warm invocation in a fresh Node process
  --flows       end to end through a local cloud, with tracing off and on
  --latency     what a user feels: API latency at one client and at offered rates, POST to final status,
                bus throughput against the raw emulator, the API under a bus backlog, the cloud's event loop
  --quick       --latency with shorter steps (20/s for 20 s, 10 s steps, smaller bus and backlog)
  --json <file> also write every figure to <file> (JSON), to compare commits
  -h, --help    this text`;

export interface BenchArgs {
  functions: boolean;
  flows: boolean;
  latency: boolean;
  quick: boolean;
  json?: string;
}

/** The parts to run, from the command line; `help` for -h/--help; throws naming an unknown or incomplete argument. */
export function parseBenchArgs(argv: string[]): BenchArgs | "help" {
  const parts = new Set(["--functions", "--flows", "--latency"]);
  let json: string | undefined;
  let quick = false;
  const chosen: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") {
      const file = argv[i + 1];
      if (!file || file.startsWith("-")) throw new Error("--json needs a file name");
      json = file;
      i += 1;
    } else if (arg === "--quick") quick = true;
    else if (parts.has(arg)) chosen.push(arg);
    else throw new Error(`unknown ${arg.startsWith("-") ? "option" : "argument"} "${arg}"`);
  }
  const all = chosen.length === 0;
  return { functions: all || chosen.includes("--functions"), flows: all || chosen.includes("--flows"), latency: all || chosen.includes("--latency"), quick, ...(json ? { json } : {}) };
}

const QUICK: LatencySize = { ...DEFAULT_LATENCY_SIZE, samples: 50, targetSeconds: 20, ladder: [5, 10, 40], stepSeconds: 10, busCustomers: 40, backlogCustomers: 100, backlogSeconds: 20 };

async function main(): Promise<number> {
  let parts: ReturnType<typeof parseBenchArgs>;
  try {
    parts = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parts === "help") {
    console.log(USAGE);
    return 0;
  }
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  if (parts.functions) await functions();
  if (parts.flows) await flows();
  if (parts.latency) await latency(parts.quick ? QUICK : DEFAULT_LATENCY_SIZE);
  if (parts.json) {
    fs.writeFileSync(parts.json, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: (await import("node:os")).availableParallelism(), ...figures }, null, 2)}\n`);
    console.log(`\nfigures written to ${parts.json}`);
  }
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
