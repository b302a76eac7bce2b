/**
 * `npm run graph:diff -- <git rev>`: proves a refactor changes no deployed resource. Builds the
 * resource graph of each stack (`npm run graph`) at `<rev>` (in a temporary git worktree) and in the
 * working tree, then matches every resource of the old graph to the new one by URN or alias, as
 * `pulumi up` would, and compares type, logical name and inputs.
 *
 * Exit 0 when every old resource is matched with identical inputs and every new one is a component
 * (no cloud resource); otherwise each difference is printed and the exit code is 1. A function
 * whose bundle changed (`sourceCodeHash`; moving modules changes the bundled output) is listed as a
 * code update, which `pulumi up` applies in place: it does not fail the comparison.
 *
 *   npm run graph:diff -- main~3 [--stack dev --stack staging]
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import type { GraphEntry } from "./resource-graph";

const ROOT = path.resolve(__dirname, "..");

function graphAt(dir: string, stack: string): GraphEntry[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "graph-")), `${stack}.json`);
  execFileSync(process.execPath, ["--import", "tsx", "scripts/resource-graph.ts", "--stack", stack, "--out", out], { cwd: dir, stdio: ["ignore", "inherit", "inherit"] });
  return JSON.parse(fs.readFileSync(out, "utf8")) as GraphEntry[];
}

/** The differences between two graphs of one stack, as lines; empty when the change is a pure refactor. */
export function compareGraphs(
  before: GraphEntry[],
  after: GraphEntry[],
): { differences: string[]; codeUpdates: string[]; matched: number; viaAlias: number; newComponents: string[] } {
  const differences: string[] = [];
  const codeUpdates: string[] = [];
  const byUrn = new Map<string, GraphEntry>();
  for (const entry of after) for (const urn of [entry.urn, ...entry.aliases]) byUrn.set(urn, entry);
  const used = new Set<GraphEntry>();
  let viaAlias = 0;
  for (const old of before) {
    const now = byUrn.get(old.urn);
    if (!now) {
      differences.push(`gone (would be deleted): ${old.urn}`);
      continue;
    }
    used.add(now);
    if (now.urn !== old.urn) viaAlias++;
    if (now.type !== old.type || now.name !== old.name) differences.push(`${old.urn}: now ${now.type} ${now.name}`);
    for (const key of new Set([...Object.keys(old.inputs), ...Object.keys(now.inputs)])) {
      if (isDeepStrictEqual(old.inputs[key], now.inputs[key])) continue;
      if (key === "sourceCodeHash" && old.type === "aws:lambda/function:Function") codeUpdates.push(`${String(old.inputs.name)}: bundle changed (code updated in place)`);
      else {
        differences.push(`${old.urn}: input ${key} changed\n    before ${JSON.stringify(old.inputs[key])}\n    after  ${JSON.stringify(now.inputs[key])}`);
      }
    }
  }
  const newComponents: string[] = [];
  for (const entry of after) {
    if (used.has(entry)) continue;
    // A new component registers nothing in the cloud; a new custom resource would be created.
    if (entry.type.startsWith("aws:")) differences.push(`new (would be created): ${entry.urn}`);
    else newComponents.push(entry.urn);
  }
  return { differences, codeUpdates, matched: used.size, viaAlias, newComponents };
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { stack: { type: "string", multiple: true } } });
  const rev = positionals[0];
  if (!rev || positionals.length > 1) {
    console.error("usage: npm run graph:diff -- <git rev> [--stack dev --stack staging]");
    process.exitCode = 2;
    return;
  }
  const stacks = values.stack ?? ["dev", "staging"];
  const worktree = fs.mkdtempSync(path.join(os.tmpdir(), "graph-rev-"));
  execFileSync("git", ["worktree", "add", "--detach", worktree, rev], { cwd: ROOT, stdio: "ignore" });
  let failed = false;
  try {
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(worktree, "node_modules"));
    for (const stack of stacks) {
      const result = compareGraphs(graphAt(worktree, stack), graphAt(ROOT, stack));
      console.log(
        `${stack}: ${result.matched} resources at ${rev} matched (${result.viaAlias} through an alias), ` +
          `${result.newComponents.length} new components, ${result.codeUpdates.length} code updates, ${result.differences.length} differences`,
      );
      for (const line of result.newComponents) console.log(`  new component: ${line}`);
      for (const line of result.codeUpdates) console.log(`  code update: ${line}`);
      for (const line of result.differences) console.log(`  ${line}`);
      failed ||= result.differences.length > 0;
    }
  } finally {
    execFileSync("git", ["worktree", "remove", "--force", worktree], { cwd: ROOT, stdio: "ignore" });
  }
  process.exitCode = failed ? 1 : 0;
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
