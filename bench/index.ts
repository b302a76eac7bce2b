/**
 * `npm run bench`: prints figures and ratios (never pass/fail). See README "Benchmarks" for the
 * latest numbers and what they mean. `npm run bench -- --functions` or `--flows` runs one part;
 * anything else is refused with the usage (exit 2).
 */
import { benchFlows } from "./flows";
import { benchFunctions } from "./functions";

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

async function functions() {
  const { baseline, functions } = await benchFunctions();
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
  const [off, on] = runs as [(typeof runs)[0], (typeof runs)[0]];
  console.log(`  throughput with tracing / without: transactions ${fmt(on.transactions.perSecond / off.transactions.perSecond, 2)}, orders ${fmt(on.orders.perSecond / off.orders.perSecond, 2)}`);
}

export const USAGE = `usage: npm run bench [-- --functions | --flows]
  (no option)   both parts
  --functions   the function bundles: size, build time, module load by package, cold and warm invocation in a fresh Node process
  --flows       end to end through a local cloud, with tracing off and on
  -h, --help    this text`;

/** The parts to run, from the command line; `help` for -h/--help; throws naming an unknown argument. */
export function parseBenchArgs(argv: string[]): { functions: boolean; flows: boolean } | "help" {
  const known = new Set(["--functions", "--flows"]);
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") return "help";
    if (!known.has(arg)) throw new Error(`unknown ${arg.startsWith("-") ? "option" : "argument"} "${arg}"`);
  }
  const all = argv.length === 0;
  return { functions: all || argv.includes("--functions"), flows: all || argv.includes("--flows") };
}

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
