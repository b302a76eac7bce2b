/**
 * `npm run policy [-- --stack staging] [-- --config key=value ...] [-- --policy-config file.json]`
 *
 * Runs the program for a stack under the mock runtime (runner/run-program.ts), evaluates the policy pack
 * over everything it declares, prints the violations the way `pulumi preview --policy-pack` does
 * (level, policy, resource, description, message) and a summary, and exits 1 when any violation is
 * mandatory. `--config` overrides stack settings like `pulumi config set`; `--policy-config` is the
 * CLI's `--policy-pack-config` file (policy → level or { enforcementLevel, ...config }).
 */
import * as fs from "node:fs";
import type { PolicyPackConfig } from "@pulumi/policy";
import { runProgram } from "../runner/run-program";
import type { Evaluation, Violation } from "./evaluate";
import { evaluatePolicies } from "./evaluate";
import { PACK_NAME, PACK_VERSION, policies } from "./pack";

/**
 * Required secrets get a placeholder unless given: no policy reads their values, and the stack files
 * hold them only encrypted (`secure:`), which the mock run cannot decrypt.
 */
export const SECRET_PLACEHOLDERS: Record<string, string> = { accountFingerprintKey: "policy-run-placeholder-".padEnd(64, "0") };

export interface RunArgs {
  stack: string;
  config: Record<string, string>;
  policyConfig?: PolicyPackConfig;
}

/** Parses `--stack <name>`, `--config key=value` (repeatable) and `--policy-config <file>`. */
export function parseArgs(argv: string[]): RunArgs {
  const args: RunArgs = { stack: "dev", config: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") && arg.startsWith("--") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--stack":
      case "-s":
        args.stack = value();
        break;
      case "--config":
      case "-c": {
        const pair = value();
        const eq = pair.indexOf("=");
        if (eq < 1) throw new Error(`--config expects key=value, got "${pair}"`);
        args.config[pair.slice(0, eq)] = pair.slice(eq + 1);
        break;
      }
      case "--policy-config":
        args.policyConfig = JSON.parse(fs.readFileSync(value(), "utf8")) as PolicyPackConfig;
        break;
      default:
        throw new Error(`Unknown argument "${arg}" (use --stack <name>, --config key=value, --policy-config <file>)`);
    }
  }
  return args;
}

function indent(text: string, prefix: string): string {
  return text.split("\n").map((l) => prefix + l).join("\n");
}

/** The violations in the CLI's form, then a summary line. */
export function formatReport(evaluation: Evaluation, context: { stack: string; resources: number }): string {
  const { violations } = evaluation;
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
  const advisory = violations.filter((v) => v.enforcementLevel === "advisory");
  const lines: string[] = ["Policies:"];
  lines.push(`    ${mandatory.length ? "❌" : "✅"} ${PACK_NAME}@v${PACK_VERSION} (local: policies)`);
  const order = (v: Violation) => (v.enforcementLevel === "mandatory" ? 0 : 1);
  for (const v of [...violations].sort((a, b) => order(a) - order(b))) {
    const where = v.resource ? `  (${v.resource.type}: ${v.resource.name})` : "";
    lines.push(`        - [${v.enforcementLevel}]  ${v.policyName}${where}`);
    lines.push(indent(v.description, "          "));
    lines.push(indent(v.message, "          "));
  }
  lines.push("");
  lines.push(
    `Policy summary for stack "${context.stack}": ${policies.length} policies over ${context.resources} resources: ` +
      `${mandatory.length} mandatory, ${advisory.length} advisory violation${violations.length === 1 ? "" : "s"}.`,
  );
  return lines.join("\n");
}

/** Runs the pack over a stack; returns the process exit code (1 on a mandatory violation). */
export async function main(argv: string[], out: (text: string) => void = (t) => console.log(t)): Promise<number> {
  let args: RunArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    out(`error: ${(e as Error).message}`);
    return 2;
  }
  const run = await runProgram({ stack: args.stack, config: { ...SECRET_PLACEHOLDERS, ...args.config } });
  const evaluation = await evaluatePolicies(policies, run.resources, { stack: args.stack, config: args.policyConfig });
  out(formatReport(evaluation, { stack: args.stack, resources: run.resources.length }));
  return evaluation.violations.some((v) => v.enforcementLevel === "mandatory") ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(2);
    },
  );
}
