/**
 * `npm run cost`: what the two systems cost on AWS per million transactions and per million orders,
 * and a month's fixed costs, for a region's published prices (`scripts/cost/prices/<region>.json`,
 * dated and sourced). Request counts come from the handlers and the program (`scripts/cost/model.ts`
 * says where each one comes from and which are assumptions); durations from `npm run bench`
 * (`--bench <file>`) or the built-in figures of the latest benchmark run. Then it varies one input
 * at a time (memory, batch fill, STANDARD vs EXPRESS, KMS data-key reuse) to show what moves the
 * cost most. Anything it cannot use is refused with the usage (exit 2) before anything runs.
 *
 *   npm run cost [-- --stack staging --memory-mb 512 --batch-fill 10 --bench bench.json --json]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { runProgram } from "../runner/run-program";
import { deployedFrom } from "./cost/deployed";
import { DEFAULT_ASSUMPTIONS, lineCost, monthlyLines, orderLines, perMillion, transactionLines } from "./cost/model";
import type { Assumptions, Deployed, FunctionName, Line, Measured, PriceTable } from "./cost/model";

export const USAGE = `usage: npm run cost [-- options]
  --stack <name>                 the stack whose settings and resources are priced (default dev)
  --prices <file>                price table (default scripts/cost/prices/us-east-1.json)
  --bench <file>                 durations from \`npm run bench\` JSON: { functions: [{ name, warmMs, loadMs }] }
  --memory-mb <128..10240>       function memory instead of the stack's functionMemoryMb
  --workflow <STANDARD|EXPRESS>  the order workflow's type instead of the stack's
  --batch-fill <n>               messages per invocation, 1..batchSize (default 1: a quiet queue)
  --cold-start-rate <0..1>       share of invocations that are cold (default 0.01)
  --aws-call-ms <n>              one DynamoDB/SQS call from a function, ms (default 8)
  --kms-reuse-seconds <60..86400> SQS data-key reuse instead of the program's
  --gets-per-order <n>           GET /order/{id} calls per order (default 1)
  --transactions-per-month <n>   volume the monthly costs are spread over (default 1000000)
  --orders-per-month <n>         (default 1000000)
  --json                         the figures as JSON
  -h, --help                     this text`;

/** The latest `npm run bench -- --functions` figures (README), used when no --bench file is given. */
export const LATEST_MEASURED: Measured = {
  warmMs: { "payment-processing": 3.3, "bank-account-setup": 8.7, "orders-api": 4.9, "orders-validate": 6.8, "orders-store": 3.5, "orders-fulfillment": 12.3, "orders-dlq": 3.7 },
  initMs: { "payment-processing": 120, "bank-account-setup": 150, "orders-api": 110, "orders-validate": 40, "orders-store": 105, "orders-fulfillment": 120, "orders-dlq": 115 },
};

const FUNCTIONS: FunctionName[] = ["payment-processing", "bank-account-setup", "orders-api", "orders-validate", "orders-store", "orders-fulfillment", "orders-dlq"];

export interface CostArgs {
  stack: string;
  prices: string;
  bench?: string;
  memoryMb?: number;
  workflow?: "STANDARD" | "EXPRESS";
  kmsReuseSeconds?: number;
  assumptions: Assumptions;
  json: boolean;
}

function number(name: string, raw: string | undefined, min: number, max: number, integer = false): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** The options, validated; `help` for -h/--help; throws naming the first bad argument. */
export function parseCostArgs(argv: string[]): CostArgs | "help" {
  if (argv.includes("-h") || argv.includes("--help")) return "help";
  const str = { type: "string" } as const;
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      stack: str, prices: str, bench: str, "memory-mb": str, workflow: str, "batch-fill": str, "cold-start-rate": str, "aws-call-ms": str,
      "kms-reuse-seconds": str, "gets-per-order": str, "transactions-per-month": str, "orders-per-month": str, json: { type: "boolean" },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values.workflow !== undefined && values.workflow !== "STANDARD" && values.workflow !== "EXPRESS") throw new Error(`--workflow must be STANDARD or EXPRESS, got "${values.workflow}"`);
  for (const file of [values.prices, values.bench]) if (file !== undefined && !fs.existsSync(file)) throw new Error(`no such file: ${file}`);
  const a = DEFAULT_ASSUMPTIONS;
  return {
    stack: values.stack ?? "dev",
    prices: values.prices ?? path.join(__dirname, "cost", "prices", "us-east-1.json"),
    bench: values.bench,
    memoryMb: number("memory-mb", values["memory-mb"], 128, 10240, true),
    workflow: values.workflow as CostArgs["workflow"],
    kmsReuseSeconds: number("kms-reuse-seconds", values["kms-reuse-seconds"], 60, 86400, true),
    assumptions: {
      ...a,
      batchFill: number("batch-fill", values["batch-fill"], 1, 10) ?? a.batchFill,
      coldStartRate: number("cold-start-rate", values["cold-start-rate"], 0, 1) ?? a.coldStartRate,
      awsCallMs: number("aws-call-ms", values["aws-call-ms"], 0, 10000) ?? a.awsCallMs,
      getsPerOrder: number("gets-per-order", values["gets-per-order"], 0, 1000) ?? a.getsPerOrder,
      transactionsPerMonth: number("transactions-per-month", values["transactions-per-month"], 1, 1e13) ?? a.transactionsPerMonth,
      ordersPerMonth: number("orders-per-month", values["orders-per-month"], 1, 1e13) ?? a.ordersPerMonth,
    },
    json: values.json ?? false,
  };
}

/** Durations from a bench JSON file: physical names (`dofs-dev-orders-api`) matched to definitions by suffix. */
export function measuredFromBench(file: string): Measured {
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as { functions?: unknown };
  const list = Array.isArray(json.functions) ? json.functions : (json.functions as { functions?: unknown } | undefined)?.functions;
  if (!Array.isArray(list)) throw new Error(`${file}: no "functions" list of { name, warmMs, loadMs }`);
  const measured: Measured = { warmMs: {}, initMs: {} };
  for (const entry of list as { name?: unknown; warmMs?: unknown; loadMs?: unknown }[]) {
    const fn = FUNCTIONS.find((f) => typeof entry.name === "string" && entry.name.endsWith(f));
    if (!fn) continue;
    if (typeof entry.warmMs === "number") measured.warmMs[fn] = entry.warmMs;
    if (typeof entry.loadMs === "number") measured.initMs[fn] = entry.loadMs;
  }
  if (Object.keys(measured.warmMs).length === 0) throw new Error(`${file}: no figures of any of ${FUNCTIONS.join(", ")}`);
  return measured;
}

/** The report: cost per million transactions and orders, the month's fixed costs, and the sensitivities. */
export function costReport(deployed: Deployed, measured: Measured, a: Assumptions, prices: PriceTable) {
  const tx = transactionLines(deployed, measured, a);
  const orders = orderLines(deployed, measured, a);
  const monthly = monthlyLines(deployed, a);
  const monthlyUsd = monthly.reduce((sum, line) => sum + lineCost(line, prices), 0);
  const total = (d: Deployed, aa: Assumptions) =>
    (perMillion(transactionLines(d, measured, aa), prices) * aa.transactionsPerMonth + perMillion(orderLines(d, measured, aa), prices) * aa.ordersPerMonth) / 1e6 +
    monthlyLines(d, aa).reduce((sum, line) => sum + lineCost(line, prices), 0);
  const base = total(deployed, a);
  const variants: [string, Deployed, Assumptions][] = [
    ["memory 128 MB", { ...deployed, memoryMb: 128 }, a],
    ["memory 1024 MB", { ...deployed, memoryMb: 1024 }, a],
    [`batches full (${deployed.batchSize} messages per invocation)`, deployed, { ...a, batchFill: deployed.batchSize }],
    [`workflow ${deployed.workflowType === "STANDARD" ? "EXPRESS" : "STANDARD"}`, { ...deployed, workflowType: deployed.workflowType === "STANDARD" ? "EXPRESS" : "STANDARD" }, a],
    ["KMS data-key reuse 60 s", { ...deployed, kmsReuseSeconds: 60 }, a],
    ["KMS data-key reuse 24 h", { ...deployed, kmsReuseSeconds: 86400 }, a],
    ["every cold start (no reuse of environments)", deployed, { ...a, coldStartRate: 1 }],
  ];
  return {
    region: prices.region,
    pricesRead: prices.read,
    deployed,
    perMillionTransactionsUsd: perMillion(tx, prices),
    perMillionOrdersUsd: perMillion(orders, prices),
    monthlyFixedUsd: monthlyUsd,
    monthTotalUsd: base,
    lines: {
      transaction: tx.map((l) => ({ ...l, perMillionUsd: lineCost(l, prices) * 1e6 })),
      order: orders.map((l) => ({ ...l, perMillionUsd: lineCost(l, prices) * 1e6 })),
      monthly: monthly.map((l) => ({ ...l, usd: lineCost(l, prices) })),
    },
    sensitivities: variants.map(([what, d, aa]) => ({ what, monthTotalUsd: total(d, aa), ratio: total(d, aa) / base })),
  };
}

const usd = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(4));

function print(report: ReturnType<typeof costReport>, a: Assumptions): void {
  const table = (title: string, lines: (Line & { perMillionUsd: number })[], sum: number) => {
    console.log(`\n${title}: $${usd(sum)}`);
    const byService = new Map<string, number>();
    for (const l of lines) byService.set(l.service, (byService.get(l.service) ?? 0) + l.perMillionUsd);
    for (const [service, cost] of [...byService].sort((x, y) => y[1] - x[1])) console.log(`  ${service.padEnd(16)} $${usd(cost).padStart(9)}  ${((cost / sum) * 100).toFixed(0).padStart(3)}%`);
    for (const l of lines) console.log(`    ${l.service}: ${l.what} — ${l.quantity.toPrecision(3)} per unit, $${usd(l.perMillionUsd)} (${l.basis})`);
  };
  console.log(`Prices: ${report.region}, read ${report.pricesRead}. Program: ${report.deployed.workflowType}, ${report.deployed.memoryMb} MB, batch size ${report.deployed.batchSize}, batch fill ${a.batchFill}.`);
  table("Per million transactions", report.lines.transaction, report.perMillionTransactionsUsd);
  table("Per million orders", report.lines.order, report.perMillionOrdersUsd);
  console.log(`\nEvery month, whatever the volume: $${usd(report.monthlyFixedUsd)}`);
  for (const l of report.lines.monthly) console.log(`  ${`${l.service}: ${l.what}`.padEnd(72)} $${usd(l.usd).padStart(8)}  (${l.basis})`);
  console.log(`\nA month of ${a.transactionsPerMonth.toLocaleString("en-US")} transactions and ${a.ordersPerMonth.toLocaleString("en-US")} orders: $${usd(report.monthTotalUsd)}`);
  console.log("What changes it most (one input changed, the month's total):");
  for (const s of [...report.sensitivities].sort((x, y) => Math.abs(Math.log(y.ratio)) - Math.abs(Math.log(x.ratio)))) {
    console.log(`  ${s.what.padEnd(48)} $${usd(s.monthTotalUsd).padStart(8)}  x${s.ratio.toFixed(2)}`);
  }
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCostArgs>;
  try {
    args = parseCostArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  const prices = JSON.parse(fs.readFileSync(args.prices, "utf8")) as PriceTable;
  const measured = args.bench ? measuredFromBench(args.bench) : LATEST_MEASURED;
  const run = await runProgram({ stack: args.stack, config: { accountFingerprintKey: "cost-only-placeholder-0123456789abcdef0123" } });
  const fromProgram = deployedFrom(run);
  const deployed: Deployed = {
    ...fromProgram,
    memoryMb: args.memoryMb ?? fromProgram.memoryMb,
    workflowType: args.workflow ?? fromProgram.workflowType,
    kmsReuseSeconds: args.kmsReuseSeconds ?? fromProgram.kmsReuseSeconds,
  };
  if (args.assumptions.batchFill > deployed.batchSize) {
    console.error(`--batch-fill ${args.assumptions.batchFill} exceeds the stack's batchSize ${deployed.batchSize}\n${USAGE}`);
    return 2;
  }
  const report = costReport(deployed, measured, args.assumptions, prices);
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else print(report, args.assumptions);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
