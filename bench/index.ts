/**
 * `npm run bench`: prints figures and ratios (never pass/fail). See README "Benchmarks" for the
 * latest numbers and what they mean.
 */
import { benchFunctions } from "./functions";

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

async function main() {
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
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

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
