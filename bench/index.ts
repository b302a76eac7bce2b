/**
 * `npm run bench`: prints figures and ratios (never pass/fail). See README "Benchmarks" for the
 * latest numbers and what they mean. `npm run bench -- --functions` or `--flows` runs one part.
 */
import { benchFlows } from "./flows";
import { benchFunctions } from "./functions";

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

async function functions() {
  const { baseline, functions } = await benchFunctions();
  console.log("Functions (bundle = the deploy artifact, run in a fresh Node process):");
  console.log(`  baseline (empty handler): cold ${fmt(baseline.coldMs)} ms, warm ${fmt(baseline.warmMs, 2)} ms`);
  console.log("  function                                          KiB   gzip KiB  esbuild ms  cold ms  cold/baseline  warm ms");
  for (const f of functions) {
    console.log(
      `  ${f.name.padEnd(48)} ${fmt(f.kib).padStart(5)} ${fmt(f.gzipKib).padStart(9)} ${fmt(f.buildMs).padStart(11)} ${fmt(f.coldMs).padStart(8)} ${fmt(f.coldMs / baseline.coldMs, 1).padStart(13)}x ${fmt(f.warmMs, 2).padStart(8)}`,
    );
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
  const [off, on] = runs as [(typeof runs)[0], (typeof runs)[0]];
  console.log(`  throughput with tracing / without: transactions ${fmt(on.transactions.perSecond / off.transactions.perSecond, 2)}, orders ${fmt(on.orders.perSecond / off.orders.perSecond, 2)}`);
}

async function main() {
  const only = process.argv.slice(2);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  if (!only.length || only.includes("--functions")) await functions();
  if (!only.length || only.includes("--flows")) await flows();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
