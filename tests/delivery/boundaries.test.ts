// The folder boundaries are lint rules (eslint.config.mjs), so `npm test` fails when one is
// crossed. Each case lints one offending import as if it were in a file of that folder and expects
// the rule's own message; the allowed imports next to them must pass.
import * as path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");
const eslint = new ESLint({ cwd: ROOT });

/** The `no-restricted-imports` messages for `source` as the file `file`. */
async function refusals(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const used = x;\n`, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const refused = (specifier: string, reason: string) => `'${specifier}' import is restricted from being used by a pattern. ${reason}`;

const PULUMI = "functions/ runs in Lambda: it never imports the Pulumi SDK (infrastructure lives in components/).";
const FUNCTIONS = "functions/ runs in Lambda: it imports only functions/ and npm packages.";
const COMPONENTS = "components/ is the infrastructure: it may import functions/ (definitions) but never the local cloud, the runner, the policies, scripts, benchmarks or tests.";
const RUNNER = "runner/ is neutral (it runs the program under the mock runtime for everyone): it imports components/ and functions/ only.";
const PACK = "The policy pack stands alone (the Pulumi CLI loads policies/ on its own): it imports nothing outside policies/.";
const POLICY_RUN = "policies/ may use the runner (npm run policy) but never components/, functions/ or the local cloud: policies judge what the program declares, not how it is built.";
const LOCAL = "local/ is the local cloud: it may import runner/, components/ and functions/, never the policies, scripts, benchmarks or tests.";
const TOOLS = "scripts/ and bench/ never import tests/.";
const EXAMPLES = "examples/ are clients of the deployed API, as a user would write them: they import nothing of the repository.";

describe("folder boundaries", () => {
  it.each([
    ["functions/lib/x.ts", 'import * as x from "@pulumi/pulumi";', "@pulumi/pulumi", PULUMI],
    ["functions/orders/api/x.ts", 'import { x } from "../../../components/lib/naming";', "../../../components/lib/naming", FUNCTIONS],
    ["functions/lib/x.ts", 'import { x } from "../../local/outputs";', "../../local/outputs", FUNCTIONS],
    ["components/orders/x.ts", 'import { x } from "../../local/cloud";', "../../local/cloud", COMPONENTS],
    ["components/x.ts", 'import { x } from "../runner/run-program";', "../runner/run-program", COMPONENTS],
    ["components/lib/x.ts", 'import { x } from "../../policies/pack";', "../../policies/pack", COMPONENTS],
    ["runner/x.ts", 'import { x } from "../local/outputs";', "../local/outputs", RUNNER],
    ["policies/rules/x.ts", 'import { x } from "../../components/lib/grants";', "../../components/lib/grants", PACK],
    ["policies/pack.ts", 'import { x } from "../runner/run-program";', "../runner/run-program", PACK],
    ["policies/run.ts", 'import { x } from "../local/cloud";', "../local/cloud", POLICY_RUN],
    ["local/runtime/x.ts", 'import { x } from "../../tests/support/program";', "../../tests/support/program", LOCAL],
    ["local/x.ts", 'export { x } from "../policies/pack";', "../policies/pack", LOCAL],
    ["scripts/x.ts", 'import { x } from "../tests/support/program";', "../tests/support/program", TOOLS],
    ["bench/x.ts", 'import { x } from "../tests/support/program";', "../tests/support/program", TOOLS],
    ["examples/order-page/x.ts", 'import { x } from "../../functions/lib/cors";', "../../functions/lib/cors", EXAMPLES],
  ])("%s: %s is refused", async (file, source, specifier, reason) => {
    expect(await refusals(file, source)).toEqual([refused(specifier, reason)]);
  });

  it.each([
    ["functions/orders/api/x.ts", 'import { x } from "../../lib/define";'],
    ["functions/lib/x.ts", 'import { z } from "zod";'],
    ["components/orders/x.ts", 'import { x } from "../../functions/orders/api/definition";'],
    ["runner/x.ts", 'import { x } from "../components/program";'],
    ["policies/rules/x.ts", 'import { x } from "../lib/documents";'],
    ["policies/run.ts", 'import { x } from "../runner/run-program";'],
    ["local/provision/x.ts", 'import { x } from "../../runner/run-program";'],
    ["scripts/x.ts", 'import { x } from "../local/outputs";'],
    ["tests/local/x.ts", 'import { x } from "../../local/cloud";'],
    ["tests/examples/x.ts", 'import { x } from "../../examples/order-page/serve";'],
  ])("%s: %s is allowed", async (file, source) => {
    expect(await refusals(file, source)).toEqual([]);
  });
});
