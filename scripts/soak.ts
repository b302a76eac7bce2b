/**
 * `npm run soak`: drives both systems through a stack's outputs at volume, with faults injected in a
 * local cloud, and checks that nothing is lost or doubled (scripts/soak/verify.ts lists the checks).
 *
 *   npm start -- --config functionTimeoutSeconds=5      # in one terminal (a short timeout settles crashed batches sooner)
 *   npm run soak                                          # in another: 10,000 transactions, 5,000 orders, 16 clients, faults
 *   npm run soak -- --transactions 500 --customers 50 --orders 200 --faults none
 *   npm run soak -- --outputs outputs.json --success-rate 0.7   # a deployed stack (no fault control there)
 *
 * Exit codes: 0 every invariant holds, 1 a violation (or the stack did not settle), 2 usage.
 */
import { parseArgs } from "node:util";
import { PROJECT } from "../components/lib/settings";
import { notRunningMessage, readStackOutputs } from "../local/outputs";
import { readStackConfig, unknownStackMessage } from "../runner/stack-config";
import { DEFAULT_SOAK_FAULTS, formatReport, runSoak } from "./soak/run";
import type { SoakOptions } from "./soak/run";

export const USAGE = `usage: npm run soak -- [--stack <name> | --outputs <file>] [--transactions n] [--customers n] [--orders n]
       [--clients n] [--faults <spec>|none] [--seed n] [--settle-timeout seconds] [--success-rate p]
defaults: --stack dev, 10000 transactions, 1000 customers, 5000 orders, 16 clients, faults "${DEFAULT_SOAK_FAULTS}",
          a random seed, 1200 s to settle, the stack's fulfillmentSuccessRate (0.7 with --outputs)`;

export class UsageError extends Error {}

const count = (name: string, value: string | undefined, fallback: number, min = 1): number => {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${name} must be an integer of at least ${min}, got "${value}"`);
  return Number(value);
};

/** Parses the command line into what to read and how to run. */
export function parseSoakArgs(argv: string[]): { stack: string; outputs?: string; options: SoakOptions } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stack: { type: "string" },
      outputs: { type: "string" },
      transactions: { type: "string" },
      customers: { type: "string" },
      orders: { type: "string" },
      clients: { type: "string" },
      faults: { type: "string" },
      seed: { type: "string" },
      "settle-timeout": { type: "string" },
      "success-rate": { type: "string" },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.stack && values.outputs) throw new UsageError("give --stack or --outputs, not both");
  const stack = values.stack ?? "dev";
  const transactions = count("transactions", values.transactions, 10_000);
  const customers = count("customers", values.customers, 1000);
  if (customers > transactions) throw new UsageError(`--customers (${customers}) cannot exceed --transactions (${transactions}): each customer's setup is a transaction`);
  let successRate = 0.7;
  if (values["success-rate"] !== undefined) {
    successRate = Number(values["success-rate"]);
    if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(values["success-rate"])) throw new UsageError(`--success-rate must be a number from 0 to 1, got "${values["success-rate"]}"`);
  } else if (!values.outputs) {
    const configured = readStackConfig(stack)[`${PROJECT}:fulfillmentSuccessRate`];
    if (configured !== undefined) successRate = Number(configured);
  }
  return {
    stack,
    ...(values.outputs ? { outputs: values.outputs } : {}),
    options: {
      transactions,
      customers,
      orders: count("orders", values.orders, 5000, 0),
      clients: count("clients", values.clients, 16),
      faults: values.faults === "none" ? false : (values.faults ?? DEFAULT_SOAK_FAULTS),
      seed: count("seed", values.seed, Math.floor(Math.random() * 2 ** 31), 0),
      settleTimeoutMs: count("settle-timeout", values["settle-timeout"], 1200) * 1000,
      successRate,
    },
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseSoakArgs>;
  try {
    parsed = parseSoakArgs(process.argv.slice(2));
    const noStack = parsed.outputs ? undefined : unknownStackMessage(parsed.stack);
    if (noStack) throw new UsageError(noStack);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  let outputs;
  try {
    outputs = readStackOutputs(parsed.outputs, parsed.stack);
  } catch (error) {
    console.error(error instanceof Error ? error.message : notRunningMessage(parsed.stack, String(error)));
    return 1;
  }
  const report = await runSoak(outputs, parsed.options);
  console.log(`\n${formatReport(report)}`);
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
