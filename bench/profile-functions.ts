/**
 * `tsx bench/profile-functions.ts [--orders <n>] [--customers <n>] [--payments <n>] [--keep <dir>] [--no-profiles]`:
 * what one order and one bus transaction cost in CPU, and where it goes, in the function
 * environments and in the local cloud's own process. Starts a cloud as `npm run bench -- --latency`
 * does, with every function environment under V8's CPU profiler (`LOCAL_FUNCTION_CPU_PROFILE_DIR`)
 * and the cloud's process too (`--cpu-prof`); warms every function up; then, in two timed phases,
 * places `--orders` orders one at a time, 400 ms apart, and publishes a bank setup and `--payments`
 * payments for each of `--customers` customers and waits for their ledgers. It stops the cloud (each
 * profile is written as its process exits) and prints, for each phase, the CPU the cloud's process
 * and its environments used by the kernel's accounting (`bench/process-cpu.ts`: the total, per order
 * or per transaction, and the rate it allows on the machine's cores), then how the profiles share
 * it out: every process's samples in the phase (placed on the machine's monotonic clock, which the
 * profiles and this process share) by package (a bundle's frames through its source map) or by the
 * cloud's own module. DynamoDB's thread (dynalite, started without the cloud's Node options) is in
 * the kernel's total but not profiled. Figures are of this machine as it is: run it with nothing
 * else running. Before the phases, 5 s of nothing measure what the idle cloud burns (its pollers'
 * long polls, timers; and the profilers' own sampling, which `--no-profiles` leaves out: the kernel's
 * figures then are those of the cloud as `npm start` runs it), and each phase's CPU is also given
 * above that.
 */
import * as fs from "node:fs";
import { SourceMap } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { publishTransactions, transactionsFor, untilLedgersComplete } from "./bus";
import { api, BENCH_CLOUD_ARGS, warmUp } from "./latency";
import { startCloudProcess } from "./load";
import { OWN_CODE, packageOf } from "./module-load";
import type { CpuProfile } from "./module-load";
import { processTreeCpuMs } from "./process-cpu";

const ROOT = path.resolve(__dirname, "..");
const BUILD = path.join(ROOT, ".build", "functions");

/** A stretch of the run, on the monotonic clock in µs (`process.hrtime`, the profiles' clock). */
interface Phase {
  name: string;
  from: number;
  to: number;
  /** Orders or transactions in it. */
  events: number;
  /** CPU the cloud's process and its environments used in it (ms, the kernel's accounting). */
  cpuMs: number;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** A profile's samples with their time (µs, monotonic) and the frame each sampled. */
function timedSamples(profile: CpuProfile & { startTime: number }): { at: number; ms: number; frame: CpuProfile["nodes"][number]["callFrame"] | undefined }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let at = profile.startTime;
  return profile.samples.map((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    return { at, ms: delta / 1000, frame: byId.get(id)?.callFrame };
  });
}

/** Who a frame's time belongs to, outside a function's bundle: V8 and Node's own parts. */
function runtimeOwner(frame: { url: string; functionName: string } | undefined): string {
  if (!frame || frame.functionName === "(program)") return "(V8: compile, native)";
  if (frame.functionName === "(garbage collector)") return "(garbage collector)";
  if (frame.url.startsWith("node:")) return `node:${frame.url.slice(5).split("/")[0]}`;
  if (frame.url.endsWith("function-worker.cjs")) return "(local runtime's worker)";
  if (frame.url === "") return "(V8 builtins: JSON, RegExp, …)";
  return "(other)";
}

/** CPU (ms) by owner of `profile`'s samples in `phase`, outside `(idle)`; `ownerOf` names a frame's owner. */
function phaseShare(samples: ReturnType<typeof timedSamples>, phase: Phase, ownerOf: (frame: CpuProfile["nodes"][number]["callFrame"] | undefined) => string): Map<string, number> {
  const byOwner = new Map<string, number>();
  for (const { at, ms, frame } of samples) {
    if (at < phase.from || at > phase.to || frame?.functionName === "(idle)") continue;
    const owner = ownerOf(frame);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + ms);
  }
  return byOwner;
}

/** Owner of a function environment's frame: the bundle's package (through its source map), or the runtime's part. */
function functionOwner(bundle: string): (frame: { url: string; functionName: string; lineNumber: number; columnNumber: number } | undefined) => string {
  const map = new SourceMap(JSON.parse(fs.readFileSync(`${bundle}.map`, "utf8")) as never);
  const url = `file://${bundle}`;
  return (frame) => {
    if (frame?.url !== url) return runtimeOwner(frame);
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
    return entry.originalSource ? packageOf(entry.originalSource) : OWN_CODE;
  };
}

/** Owner of a cloud frame: an npm package, the repository folder of its own code (`local/services`), or the runtime's part. */
function cloudOwner(frame: { url: string; functionName: string } | undefined): string {
  const url = frame?.url.replace(/^file:\/\//, "") ?? "";
  if (url.includes("node_modules/")) return packageOf(url);
  if (url.startsWith(ROOT)) return path.relative(ROOT, path.dirname(url));
  return runtimeOwner(frame);
}

/** The function bundle a function environment's profile ran (the `index.js` under .build/functions its frames point to). */
function bundleOf(profile: CpuProfile): string | undefined {
  const prefix = `file://${BUILD}/`;
  const url = profile.nodes.map((n) => n.callFrame.url).find((u) => u.startsWith(prefix) && u.endsWith("/index.js"));
  return url?.slice("file://".length);
}

function total(byOwner: Map<string, number>): number {
  let sum = 0;
  for (const ms of byOwner.values()) sum += ms;
  return sum;
}

function add(into: Map<string, number>, from: Map<string, number>): void {
  for (const [owner, ms] of from) into.set(owner, (into.get(owner) ?? 0) + ms);
}

/** `owner share%` for the largest owners, the rest summed. */
function top(byOwner: Map<string, number>, count: number): string {
  const sum = total(byOwner);
  const sorted = [...byOwner].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, count).map(([owner, ms]) => `${owner} ${((100 * ms) / sum).toFixed(0)}%`);
  const rest = sorted.slice(count).reduce((n, [, ms]) => n + ms, 0);
  return [...shown, ...(rest > 0 ? [`others ${((100 * rest) / sum).toFixed(0)}%`] : [])].join(", ");
}

function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { orders: { type: "string", default: "60" }, customers: { type: "string", default: "60" }, payments: { type: "string", default: "5" }, keep: { type: "string" }, "no-profiles": { type: "boolean", default: false } },
  });
  const orderCount = positiveInteger("orders", values.orders);
  const customerCount = positiveInteger("customers", values.customers);
  const paymentsEach = positiveInteger("payments", values.payments);
  const dir = values.keep ? path.resolve(values.keep) : fs.mkdtempSync(path.join(os.tmpdir(), "bench-profiles-"));
  const functionsDir = path.join(dir, "functions");
  const cloudDir = path.join(dir, "cloud");
  fs.mkdirSync(functionsDir, { recursive: true });
  fs.mkdirSync(cloudDir, { recursive: true });
  const profiling = !values["no-profiles"];
  if (profiling) process.env.LOCAL_FUNCTION_CPU_PROFILE_DIR = functionsDir;
  const cloud = await startCloudProcess(BENCH_CLOUD_ARGS, undefined, undefined, profiling ? ["--cpu-prof", "--cpu-prof-dir", cloudDir] : []);
  let idleMsPerSecond: number | undefined;
  const phases: Phase[] = [];
  try {
    const orders = api(cloud.outputs);
    await warmUp(cloud, orders);
    const warmBus = transactionsFor(1, 1);
    await publishTransactions(cloud.outputs, warmBus.transactions);
    await untilLedgersComplete(cloud.outputs, warmBus.customers, 1, 120_000);
    await sleep(1000);

    let from = nowUs();
    let cpuFrom = processTreeCpuMs(cloud.pid);
    await sleep(5000);
    idleMsPerSecond = (processTreeCpuMs(cloud.pid) - cpuFrom) / ((nowUs() - from) / 1e6);
    console.log(`idle: ${idleMsPerSecond.toFixed(0)} ms CPU a second (the cloud's process and its environments)`);

    from = nowUs();
    cpuFrom = processTreeCpuMs(cloud.pid);
    for (let i = 0; i < orderCount; i++) {
      await orders.post(i);
      await sleep(400);
    }
    // The last orders' workflows, and the retries of the fulfillments that failed (their backoff is
    // a few seconds), finish inside the phase.
    await sleep(8000);
    phases.push({ name: "orders, one at a time", from, to: nowUs(), events: orderCount, cpuMs: processTreeCpuMs(cloud.pid) - cpuFrom });
    console.log(`${orderCount} orders placed one at a time in ${((nowUs() - from) / 1e6).toFixed(1)} s`);

    const { customers, transactions } = transactionsFor(customerCount, paymentsEach);
    from = nowUs();
    cpuFrom = processTreeCpuMs(cloud.pid);
    await publishTransactions(cloud.outputs, transactions);
    await untilLedgersComplete(cloud.outputs, customers, paymentsEach, 600_000);
    phases.push({ name: "bus transactions", from, to: nowUs(), events: transactions.length, cpuMs: processTreeCpuMs(cloud.pid) - cpuFrom });
    console.log(`${transactions.length} transactions through the bus in ${((nowUs() - from) / 1e6).toFixed(1)} s (${(transactions.length / ((nowUs() - from) / 1e6)).toFixed(1)} tx/s)`);
  } finally {
    await cloud.stop();
  }

  type Loaded = { name: string; samples: ReturnType<typeof timedSamples>; ownerOf: (frame: CpuProfile["nodes"][number]["callFrame"] | undefined) => string };
  const read = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile & { startTime: number };
  const environments: Loaded[] = fs.readdirSync(functionsDir).flatMap((file) => {
    const profile = read(path.join(functionsDir, file));
    const bundle = bundleOf(profile);
    return bundle ? [{ name: path.basename(path.dirname(bundle)), samples: timedSamples(profile), ownerOf: functionOwner(bundle) }] : [];
  });
  const cloudThreads: Loaded[] = fs.readdirSync(cloudDir).map((file, i) => ({ name: `cloud thread ${i + 1}`, samples: timedSamples(read(path.join(cloudDir, file))), ownerOf: cloudOwner }));

  for (const phase of phases) {
    const seconds = (phase.to - phase.from) / 1e6;
    console.log(`\n${phase.name}: ${phase.events} in ${seconds.toFixed(1)} s`);
    let allMs = 0;
    const lines: string[] = [];
    for (const group of [environments, cloudThreads]) {
      const byName = new Map<string, { environments: number; byOwner: Map<string, number> }>();
      for (const loaded of group) {
        const share = phaseShare(loaded.samples, phase, loaded.ownerOf);
        if (total(share) === 0) continue;
        const entry = byName.get(loaded.name) ?? { environments: 0, byOwner: new Map() };
        entry.environments += 1;
        add(entry.byOwner, share);
        byName.set(loaded.name, entry);
      }
      for (const [name, { environments: count, byOwner }] of [...byName].sort((a, b) => total(b[1].byOwner) - total(a[1].byOwner))) {
        const ms = total(byOwner);
        allMs += ms;
        const processes = group === environments ? ` (${count} environment${count === 1 ? "" : "s"})` : "";
        lines.push(`  ${name}${processes}: ${ms.toFixed(0)} ms CPU, ${(ms / phase.events).toFixed(1)} ms per ${phase.name.startsWith("orders") ? "order" : "transaction"}, ${((100 * ms) / (seconds * 1000)).toFixed(0)}% of a core`);
        lines.push(`      ${top(byOwner, group === environments ? 7 : 12)}`);
      }
    }
    const cores = os.availableParallelism();
    const aboveIdle = phase.cpuMs - (idleMsPerSecond ?? 0) * seconds;
    console.log(
      `  the cloud's process and its environments (the kernel's accounting, dynalite's thread included): ${phase.cpuMs.toFixed(0)} ms CPU, ${(phase.cpuMs / phase.events).toFixed(1)} ms per event, ${((100 * phase.cpuMs) / (seconds * 1000 * cores)).toFixed(0)}% of ${cores} cores: at most ${((cores * 1000 * phase.events) / phase.cpuMs).toFixed(0)} a second on them`,
    );
    console.log(`  above idle: ${aboveIdle.toFixed(0)} ms CPU, ${(aboveIdle / phase.events).toFixed(1)} ms per event`);
    if (!profiling) continue;
    // A sample's interval is wall time: a thread waiting for a core while runnable has the wait
    // counted to its frame, so on a busy machine the profiles sum to more than the kernel counted.
    console.log(`  the profiles' samples (shares below): ${allMs.toFixed(0)} ms, ${(allMs / phase.cpuMs).toFixed(2)}x the kernel's figure (above 1: threads waited for a core)`);
    for (const line of lines) console.log(line);
  }
  if (values.keep) console.log(`\nprofiles kept in ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
