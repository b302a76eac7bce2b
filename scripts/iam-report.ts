/**
 * `npm run iam-report [-- --stack <name>] [-- --usage <file> ...] [-- --fail-on-denied]`: what each
 * role of a local cloud run used, what was refused, and what it was granted and never used.
 *
 *   npm run iam-report                              # .local/dev/iam-usage.json (live while it runs)
 *   npm run iam-report -- --stack staging
 *   npm run iam-report -- --usage a.json --usage b.json   # merged, e.g. one per integration file
 *
 * The local cloud writes `iam-usage.json` beside its outputs file while it runs (at most half a
 * second behind) and when it stops, and leaves it there: the report works during a run and after
 * it. `--fail-on-denied` exits 1 when any call was refused (for CI).
 *
 * Exit codes: 0 printed, 1 a denied call with --fail-on-denied, or no usage file, 2 usage.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { formatReport, mergeUsage, parseUsageFile } from "../local/iam/report";
import { iamUsagePath, localOutputsPath, startCommand } from "../local/outputs";
import { unknownStackMessage } from "../runner/stack-config";

const USAGE = `usage: npm run iam-report [-- --stack <name>] [--usage <file> ...] [--fail-on-denied]
  --stack           the local cloud's stack whose .local/<stack>/iam-usage.json is read, default dev
  --usage           a usage file instead (repeatable: the files are merged)
  --fail-on-denied  exit 1 when any call was denied`;

export interface IamReportOptions {
  files: string[];
  failOnDenied: boolean;
}

/** Parses the command line; throws with what is wrong. */
export function parseIamReportArgs(argv: string[]): IamReportOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { stack: { type: "string" }, usage: { type: "string", multiple: true }, "fail-on-denied": { type: "boolean", default: false } },
  });
  if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values.stack && values.usage?.length) throw new Error("give --stack or --usage, not both");
  let files = values.usage ?? [];
  if (!files.length) {
    const stack = values.stack ?? "dev";
    const unknown = unknownStackMessage(stack);
    if (unknown) throw new Error(unknown);
    files = [iamUsagePath(localOutputsPath(stack))];
  }
  return { files, failOnDenied: values["fail-on-denied"] ?? false };
}

function main(): number {
  let options: IamReportOptions;
  try {
    options = parseIamReportArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const missing = options.files.find((f) => !fs.existsSync(f));
  if (missing) {
    console.error(`No IAM usage file ${path.relative(process.cwd(), missing)}: run the local cloud first (\`${startCommand("dev")}\`; it writes iam-usage.json beside its outputs), or pass --usage <file>`);
    return 1;
  }
  const usage = options.files.map((f) => parseUsageFile(fs.readFileSync(f, "utf8"), f));
  process.stdout.write(formatReport(usage));
  const denied = mergeUsage(usage).some((p) => p.denied.length > 0);
  return options.failOnDenied && denied ? 1 : 0;
}

if (require.main === module) process.exit(main());
