/**
 * `npm run graph`: the resource graph a stack declares, as JSON: every resource's URN, the URNs it
 * answers to through aliases, its type, logical name, physical name and inputs (resolved under the
 * mock runtime, no AWS). Two of these are equal when a change is a pure refactor; `npm run
 * graph:diff -- <git rev>` compares the working tree's graph with a revision's.
 *
 *   npm run graph [-- --stack staging] [--out file.json]
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { runProgram } from "../runner/run-program";

/** Fixed settings so two runs are comparable (the secret is the one setting without a default). */
export const GRAPH_CONFIG = { accountFingerprintKey: "graph-only-placeholder-0123456789abcdef" };

export interface GraphEntry {
  urn: string;
  aliases: string[];
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** The graph of a stack, sorted by URN; inputs with local build paths made relative. */
export async function resourceGraph(stack: string): Promise<GraphEntry[]> {
  const run = await runProgram({ stack, config: GRAPH_CONFIG });
  const root = process.cwd();
  const relative = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null).replaceAll(root, "<root>"));
  return run.resources
    .map((r) => ({ urn: r.urn, aliases: r.aliases, type: r.type, name: r.name, inputs: relative(r.inputs) as Record<string, unknown> }))
    .sort((a, b) => a.urn.localeCompare(b.urn));
}

async function main() {
  const { values } = parseArgs({ options: { stack: { type: "string", default: "dev" }, out: { type: "string" } } });
  const json = JSON.stringify(await resourceGraph(values.stack!), null, 2);
  if (values.out) fs.writeFileSync(values.out, json + "\n");
  else process.stdout.write(json + "\n");
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
