/**
 * `tsx bench/profile-functions.ts [--orders <n>] [--customers <n>] [--payments <n>] [--keep <dir>]`:
 * where the CPU of the order path and of the bus goes, in the function environments and in the local
 * cloud's own process. Starts a cloud as `npm run bench -- --latency` does, with every function
 * environment under V8's CPU profiler (`LOCAL_FUNCTION_CPU_PROFILE_DIR`) and the cloud's process
 * too (`NODE_OPTIONS=--cpu-prof`); places `--orders` orders one at a time, 400 ms apart (so one
 * order's workflow seldom overlaps the next POST), then publishes a bank
 * setup and `--payments` payments for each of `--customers` customers and waits for their ledgers;
 * stops the cloud (each profile is written as its process exits) and prints, per function, its CPU
 * by package (through the bundle's source map) and per event, and the cloud's CPU by module.
 * Figures are of this machine as it is: run it with nothing else running.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { publishTransactions, transactionsFor, untilLedgersComplete } from "./bus";
import { api, BENCH_CLOUD_ARGS, warmUp } from "./latency";
import { startCloudProcess } from "./load";
import { NODE_INTERNALS, packageOf, selfTimeByPackage } from "./module-load";
import type { CpuProfile } from "./module-load";

const ROOT = path.resolve(__dirname, "..");
const BUILD = path.join(ROOT, ".build", "functions");

/** Self time of one profile outside `(idle)`, by owner, and the profile's wall time (ms). */
interface ProfileShare {
  file: string;
  busyMs: number;
  wallMs: number;
  byOwner: Map<string, number>;
}

const isIdle = (frame: { functionName: string } | undefined) => frame?.functionName === "(idle)";

/** The function bundle a function environment's profile ran (the `index.js` under .build/functions its frames point to). */
function bundleOf(profile: CpuProfile): string | undefined {
  const prefix = `file://${BUILD}/`;
  const url = profile.nodes.map((n) => n.callFrame.url).find((u) => u.startsWith(prefix) && u.endsWith("/index.js"));
  return url?.slice("file://".length);
}

function functionShare(file: string, profile: CpuProfile, bundle: string): ProfileShare {
  const byOwner = selfTimeByPackage(profile, bundle, (_id, frame) => !isIdle(frame));
  return { file, busyMs: sum(byOwner), wallMs: sum(profile.timeDeltas) / 1000, byOwner };
}

/** The cloud's profile by module: an npm package, or the repository folder (`local/services`) of its own code. */
function cloudShare(file: string, profile: CpuProfile): ProfileShare {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byOwner = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (isIdle(frame)) return;
    const url = frame?.url.replace(/^file:\/\//, "") ?? "";
    let owner = NODE_INTERNALS;
    if (url.includes("node_modules/")) owner = packageOf(url);
    else if (url.startsWith(ROOT)) owner = path.relative(ROOT, path.dirname(url));
    else if (url.startsWith("node:")) owner = `node:${url.slice(5).split("/")[0]}`;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return { file, busyMs: sum(byOwner), wallMs: sum(profile.timeDeltas) / 1000, byOwner };
}

function sum(values: Map<string, number> | number[]): number {
  let total = 0;
  for (const v of values.values()) total += v;
  return total;
}

function merge(shares: ProfileShare[]): Map<string, number> {
  const merged = new Map<string, number>();
  for (const share of shares) for (const [owner, ms] of share.byOwner) merged.set(owner, (merged.get(owner) ?? 0) + ms);
  return merged;
}

/** `owner share%` for the largest owners, the rest summed. */
function top(byOwner: Map<string, number>, count = 8): string {
  const total = sum(byOwner);
  const sorted = [...byOwner].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, count).map(([owner, ms]) => `${owner} ${((100 * ms) / total).toFixed(0)}%`);
  const rest = sorted.slice(count).reduce((n, [, ms]) => n + ms, 0);
  return [...shown, ...(rest > 0 ? [`others ${((100 * rest) / total).toFixed(0)}%`] : [])].join(", ");
}

function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { orders: { type: "string", default: "60" }, customers: { type: "string", default: "20" }, payments: { type: "string", default: "5" }, keep: { type: "string" } },
  });
  const orderCount = positiveInteger("orders", values.orders);
  const customerCount = positiveInteger("customers", values.customers);
  const paymentsEach = positiveInteger("payments", values.payments);
  const dir = values.keep ? path.resolve(values.keep) : fs.mkdtempSync(path.join(os.tmpdir(), "bench-profiles-"));
  const functionsDir = path.join(dir, "functions");
  const cloudDir = path.join(dir, "cloud");
  fs.mkdirSync(functionsDir, { recursive: true });
  fs.mkdirSync(cloudDir, { recursive: true });
  process.env.LOCAL_FUNCTION_CPU_PROFILE_DIR = functionsDir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${cloudDir}`.trim();
  const cloud = await startCloudProcess(BENCH_CLOUD_ARGS);
  delete process.env.NODE_OPTIONS;
  try {
    const orders = api(cloud.outputs);
    await warmUp(cloud, orders);
    const started = performance.now();
    for (let i = 0; i < orderCount; i++) {
      await orders.post(i);
      await new Promise((r) => setTimeout(r, 400));
    }
    console.log(`${orderCount} orders placed one at a time in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const { customers, transactions } = transactionsFor(customerCount, paymentsEach);
    const busStarted = performance.now();
    await publishTransactions(cloud.outputs, transactions);
    await untilLedgersComplete(cloud.outputs, customers, paymentsEach, 600_000);
    console.log(`${transactions.length} transactions through the bus in ${((performance.now() - busStarted) / 1000).toFixed(1)} s`);
  } finally {
    await cloud.stop();
  }

  const byFunction = new Map<string, ProfileShare[]>();
  for (const file of fs.readdirSync(functionsDir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(fs.readFileSync(path.join(functionsDir, file), "utf8")) as CpuProfile;
    const bundle = bundleOf(profile);
    if (!bundle) continue;
    const name = path.basename(path.dirname(bundle));
    byFunction.set(name, [...(byFunction.get(name) ?? []), functionShare(file, profile, bundle)]);
  }
  // Events each function handled: one POST per order (and the warm-up's), validate and store once per
  // order; the bus: one setup per customer and `paymentsEach` payments each.
  const events: Record<string, number> = {
    "orders-api": orderCount + 1,
    "orders-validate": orderCount + 1,
    "orders-store": orderCount + 1,
    "bank-account-setup": customerCount,
    "payment-processing": customerCount * paymentsEach,
  };
  console.log("\nfunction environments (CPU outside idle; module load included):");
  for (const [name, shares] of [...byFunction].sort()) {
    const busy = shares.reduce((n, s) => n + s.busyMs, 0);
    const perEvent = events[name] ? `, ${(busy / events[name]).toFixed(1)} ms per event (${events[name]})` : "";
    console.log(`  ${name}: ${shares.length} environment(s), ${busy.toFixed(0)} ms CPU${perEvent}`);
    console.log(`    ${top(merge(shares))}`);
  }
  const cloudShares = fs
    .readdirSync(cloudDir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => cloudShare(f, JSON.parse(fs.readFileSync(path.join(cloudDir, f), "utf8")) as CpuProfile))
    .sort((a, b) => b.busyMs - a.busyMs);
  console.log("\nthe local cloud's process and threads (CPU outside idle):");
  for (const share of cloudShares) {
    console.log(`  ${share.file}: ${share.busyMs.toFixed(0)} ms CPU of ${share.wallMs.toFixed(0)} ms (${((100 * share.busyMs) / share.wallMs).toFixed(0)}% busy)`);
    console.log(`    ${top(share.byOwner, 12)}`);
  }
  if (values.keep) console.log(`\nprofiles kept in ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
