/**
 * `npm start [-- --stack staging] [-- --config key=value ...]`: the local cloud.
 *
 * Deploys the stack's program onto local emulators (127.0.0.1 only), writes
 * `.local/<stack>/outputs.json`, prints one ready line with the API URL and serves until Ctrl-C
 * or SIGTERM, then shuts down cleanly (pollers finish their in-flight batch, servers close).
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT } from "../components/config";
import type { LocalCloud } from "./cloud";
import { startLocalCloud } from "./cloud";
import { readStackConfig } from "./program";

// fauxqs loads node:sqlite, whose ExperimentalWarning would be the first thing a user reads.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning instanceof Error ? warning.message : warning).includes("SQLite is an experimental feature")) return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

const USAGE = `usage: npm start [-- --stack <name>] [--config key=value ...]
  --stack   the stack to run (Pulumi.<stack>.yaml), default dev
  --config  a config override, like \`pulumi config set key value\` (repeatable)`;

export interface CliOptions {
  stack: string;
  config: Record<string, string>;
}

/** Parses the command line; throws a usage error. */
export function parseCli(argv: string[]): CliOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stack: { type: "string", default: "dev" },
      config: { type: "string", multiple: true, default: [] },
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
  return { stack: values.stack ?? "dev", config };
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

async function main(): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error && error.message ? `${error.message}\n` : ""}${USAGE}`);
    return error instanceof UsageError && error.message === "" ? 0 : 2;
  }
  const { config, generated } = withFingerprintKey(cli.stack, cli.config);
  console.log(`Starting the local cloud for stack "${cli.stack}"...`);
  if (generated) {
    console.log(`  accountFingerprintKey: none in Pulumi.${cli.stack}.yaml, generated a throwaway one for this run (pass --config accountFingerprintKey=<64 hex> to keep fingerprints stable across runs)`);
  }

  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({ stack: cli.stack, config });
  } catch (error) {
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
  const outputsPath = cloud.outputsFile ? path.relative(process.cwd(), cloud.outputsFile) : "(not written)";
  console.log(
    `Local cloud ready (${cli.stack}) in ${(cloud.bootMs / 1000).toFixed(1)} s — API ${outputs.apiUrl ?? "(none declared)"} — outputs ${outputsPath}`,
  );

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      console.log(`\n${signal}: stopping the local cloud (pollers finish their in-flight batch)...`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve();
    };
    const onInt = () => shutdown("SIGINT");
    const onTerm = () => shutdown("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  // A second Ctrl-C while stopping exits at once.
  process.once("SIGINT", () => process.exit(130));
  await cloud.stop();
  console.log("Local cloud stopped.");
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
