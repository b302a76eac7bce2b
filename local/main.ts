/**
 * `npm start [-- --stack staging] [-- --config key=value ...] [-- --faults <spec>] [-- --no-iam] [-- --concurrency n]`: the local cloud.
 *
 * Deploys the stack's program onto local emulators (127.0.0.1 only), writes
 * `.local/<stack>/outputs.json` (guarded by the `cloud.pid` lock beside it: one cloud per stack),
 * prints one ready line with the API URL and serves until SIGINT (Ctrl-C), SIGTERM or SIGHUP, or
 * until its parent process goes away; then shuts down cleanly (pollers finish their in-flight
 * batch, servers close) and removes the outputs file and the lock.
 *
 * `npm start` runs this file with `exec node --import tsx`, so npm's own signal forwarding reaches
 * this process directly (no shell or tsx relay in between).
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT } from "../components/lib/settings";
import { readStackConfig, unknownStackMessage } from "../runner/stack-config";
import type { LocalCloud } from "./cloud";
import { startLocalCloud } from "./cloud";
import { parseFaultSpec } from "./faults/spec";
import type { FaultSpec } from "./faults/spec";
import { defaultAccountConcurrency, parseAccountConcurrency } from "./runtime/account-concurrency";
import { LocalCloudRunningError, localOutputsPath, localStateDir } from "./outputs";

// fauxqs loads node:sqlite, whose ExperimentalWarning would be the first thing a user reads.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning instanceof Error ? warning.message : warning).includes("SQLite is an experimental feature")) return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

const USAGE = `usage: npm start [-- --stack <name>] [--config key=value ...] [--faults <spec>] [--no-iam] [--concurrency <n>]
  --stack   the stack to run (Pulumi.<stack>.yaml), default dev
  --config  a config override, like \`pulumi config set key value\` (repeatable)
  --faults  faults to inject, e.g. "functions=crash:0.05,throttle:0.05;dynamodb=throttle:0.1;seed=42"
            (targets: functions, function:<name>, dynamodb, sqs, sns, stepfunctions; see docs/local-cloud.md)
  --no-iam  do not enforce IAM: every call is let through, whatever the roles grant (enforced by default)
  --concurrency  most function environments alive at once, all functions together (1..1000),
            default ${defaultAccountConcurrency()} on this machine (4 per core, within half its memory)`;

export interface CliOptions {
  stack: string;
  config: Record<string, string>;
  /** Faults from the start; none when the option is absent. */
  faults?: FaultSpec;
  /** Enforce IAM (`--no-iam` turns it off). */
  iam: boolean;
  /** The account's concurrency; the machine's default when absent. */
  concurrency?: number;
}

/** Parses the command line; throws a usage error. */
export function parseCli(argv: string[]): CliOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stack: { type: "string", default: "dev" },
      config: { type: "string", multiple: true, default: [] },
      faults: { type: "string" },
      "no-iam": { type: "boolean", default: false },
      concurrency: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config: Record<string, string> = {};
  for (const pair of values.config ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--config expects key=value, got "${pair}"`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  let faults: FaultSpec | undefined;
  if (values.faults !== undefined) {
    try {
      faults = parseFaultSpec(values.faults);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    try {
      concurrency = parseAccountConcurrency(values.concurrency);
    } catch (error) {
      throw new UsageError(`--${(error as Error).message}`);
    }
  }
  return { stack: values.stack ?? "dev", config, ...(faults ? { faults } : {}), iam: !values["no-iam"], ...(concurrency !== undefined ? { concurrency } : {}) };
}

export class UsageError extends Error {}

/**
 * A fresh clone has no secret: when neither an override nor the stack file (in plain text) gives
 * `accountFingerprintKey`, a throwaway one is generated for this run.
 */
export function withFingerprintKey(stack: string, config: Record<string, string>): { config: Record<string, string>; generated: boolean } {
  const given = config.accountFingerprintKey ?? config[`${PROJECT}:accountFingerprintKey`] ?? readStackConfig(stack)[`${PROJECT}:accountFingerprintKey`];
  if (given) return { config, generated: false };
  return { config: { ...config, accountFingerprintKey: randomBytes(32).toString("hex") }, generated: true };
}

function summarize(counts: Map<string, number>): string {
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => (n > 1 ? `${type} x${n}` : type))
    .join(", ");
}

/**
 * Resolves once the cloud should stop: on SIGINT, SIGTERM or SIGHUP, or when the parent process
 * goes away (this process is re-parented: `npm` was killed, or the terminal closed), checked every
 * `pollMs`. The same SIGINT often arrives twice within milliseconds (the terminal signals the
 * whole process group, and npm forwards its own copy): one within `duplicateMs` of the first is
 * the same Ctrl-C; a later one calls `exitNow` (a second Ctrl-C exits at once).
 */
export function waitForStop(options: {
  pollMs?: number;
  duplicateMs?: number;
  exitNow?: () => void;
  proc?: NodeJS.Process;
} = {}): Promise<string> {
  const proc = options.proc ?? process;
  const { pollMs = 1000, duplicateMs = 1000 } = options;
  const exitNow = options.exitNow ?? (() => proc.exit(130));
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const parent = proc.ppid;
  return new Promise((resolve) => {
    let stoppedAt: number | undefined;
    const stop = (reason: string) => {
      if (stoppedAt !== undefined) return;
      stoppedAt = Date.now();
      clearInterval(watch);
      resolve(reason);
    };
    for (const signal of signals) {
      proc.on(signal, () => {
        if (stoppedAt === undefined) return stop(signal);
        if (signal === "SIGINT" && Date.now() - stoppedAt > duplicateMs) exitNow();
      });
    }
    const watch = setInterval(() => {
      if (proc.ppid !== parent) stop(`parent process ${parent} exited`);
    }, pollMs);
    watch.unref();
  });
}

async function main(): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error && error.message ? `${error.message}\n` : ""}${USAGE}`);
    return error instanceof UsageError && error.message === "" ? 0 : 2;
  }
  const noStack = unknownStackMessage(cli.stack);
  if (noStack) {
    console.error(noStack);
    return 2;
  }
  const { config, generated } = withFingerprintKey(cli.stack, cli.config);
  console.log(`Starting the local cloud for stack "${cli.stack}"...`);
  if (generated) {
    console.log(`  accountFingerprintKey: none in Pulumi.${cli.stack}.yaml, generated a throwaway one for this run (pass --config accountFingerprintKey=<64 hex> to keep fingerprints stable across runs)`);
  }

  // Listening from here on: a signal during boot stops the cloud as soon as it is up.
  let stopReason: string | undefined;
  const stopRequested = waitForStop().then((reason) => (stopReason = reason));
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({ stack: cli.stack, config, outputsFile: localOutputsPath(cli.stack), spansDir: localStateDir(), faults: cli.faults, iam: cli.iam, concurrency: cli.concurrency });
  } catch (error) {
    if (error instanceof LocalCloudRunningError) {
      console.error(error.message);
      return 1;
    }
    console.error(`Local cloud failed to start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const { outputs } = cloud;
  if (cloud.notEmulated.size) console.log(`  accepted, not emulated: ${summarize(cloud.notEmulated)}`);
  if (cloud.unknown.size) console.warn(`  WARNING: resource types the local cloud does not know (declared, nothing runs for them): ${summarize(cloud.unknown)}`);
  const endpoints = outputs.awsEndpoints ?? {};
  console.log(`  endpoints: ${Object.entries(endpoints).map(([service, url]) => `${service} ${url}`).join(", ")} (region ${outputs.region})`);
  if (cloud.spansFile) {
    console.log(
      `  traces: OTLP receiver ${outputs.otlpEndpoint ?? "(none)"} → ${path.relative(process.cwd(), cloud.spansFile)} (npm run tx exports to it; npm run traces -- <transaction or order id>)`,
    );
  }
  console.log(`  faults: ${cli.faults ? cloud.faults.report().spec : "none"}; control endpoint ${outputs.faultControlUrl} (GET, PUT a spec, DELETE)`);
  console.log(
    cli.iam
      ? `  iam: enforced; each function signs with its own role's credentials (localRoleCredentials in the outputs); refusals are logged as [iam] lines; npm run iam-report lists what each role used`
      : "  iam: NOT enforced (--no-iam): every call is let through, whatever the roles grant",
  );
  const account = cloud.concurrency();
  console.log(
    `  concurrency: at most ${account.limit} invocations in flight (${account.limit - account.reservedForRequests} for SQS pollers; --concurrency), ${account.maxEnvironments} environments alive; status ${outputs.localStatusUrl}`,
  );
  const outputsPath = cloud.outputsFile ? path.relative(process.cwd(), cloud.outputsFile) : "(not written)";
  console.log(
    `Local cloud ready (${cli.stack}) in ${(cloud.bootMs / 1000).toFixed(1)} s — API ${outputs.apiUrl} — outputs ${outputsPath}`,
  );

  const reason = stopReason ?? (await stopRequested);
  console.log(`\n${reason}: stopping the local cloud (pollers finish their in-flight batch; Ctrl-C again to exit at once)...`);
  await cloud.stop();
  console.log(`Local cloud stopped (${outputsPath} removed).`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
