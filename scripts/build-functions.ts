/**
 * `npm run build`: builds every function's bundle (the deploy artifacts in `.build/functions/`) by
 * running the program for a stack under the mock runtime, and prints each bundle's size.
 * `pulumi up`, the local cloud and the tests build them the same way on their own.
 *
 *   npm run build [-- --stack staging]
 */
import { parseArgs } from "node:util";
import { runProgram } from "../runner/run-program";

async function main() {
  const { values } = parseArgs({ options: { stack: { type: "string", default: "dev" } } });
  // The build needs no real secret: bundles never contain settings.
  const run = await runProgram({ stack: values.stack, config: { accountFingerprintKey: "build-only-placeholder-0123456789abcdef" } });
  for (const fn of run.resources.filter((r) => r.type === "aws:lambda/function:Function")) {
    const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    console.log(`${String(fn.inputs.name).padEnd(50)} .build/functions/${variables.POWERTOOLS_SERVICE_NAME}/index.js`);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
