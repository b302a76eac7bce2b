/**
 * `tsx bench/one-client.ts [--root <checkout>] [--samples <n>] [--json <file>]`: only the idle and
 * one-client steps of `npm run bench -- --latency` (one `GetItem` and one `StartExecution` at a
 * time against the idle cloud, `POST /order` and `GET /order/{id}` at one client), against a fresh
 * cloud started from `--root` (default this checkout). Takes about a minute, so two commits can be
 * measured in turns under the same load: run it from one checkout with `--root` pointing at the
 * other's worktree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { api, BENCH_CLOUD_ARGS, idleAndOneClient, warmUp } from "./latency";
import { startCloudProcess } from "./load";
import type { Percentiles } from "./load";

const fmt = (p: Percentiles) => `p50 ${p.p50.toFixed(1)}  p90 ${p.p90.toFixed(1)}  p99 ${p.p99.toFixed(1)}  max ${p.max.toFixed(1)} ms (n=${p.count})`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { root: { type: "string" }, samples: { type: "string", default: "100" }, json: { type: "string" } } });
  const root = path.resolve(values.root ?? path.join(__dirname, ".."));
  const samples = Number(values.samples);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`--samples must be a positive integer, got ${values.samples}`);
  const cloud = await startCloudProcess(BENCH_CLOUD_ARGS, 180_000, root);
  try {
    const orders = api(cloud.outputs);
    const warm = await warmUp(cloud, orders);
    const figures = await idleAndOneClient(cloud, orders, warm, samples);
    console.log(`cloud from ${root}`);
    console.log(`  idle GetItem         ${fmt(figures.idle.getItem)}`);
    console.log(`  idle StartExecution  ${fmt(figures.idle.startExecution)}; event loop p99 ${figures.idle.eventLoopDelayMs.p99} ms`);
    console.log(`  one client POST      ${fmt(figures.oneClient.post)}`);
    console.log(`  one client GET       ${fmt(figures.oneClient.get)}; event loop p99 ${figures.oneClient.eventLoopDelayMs.p99} ms`);
    if (values.json) fs.writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), root, idle: figures.idle, oneClient: figures.oneClient }, null, 2)}\n`);
  } finally {
    await cloud.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
