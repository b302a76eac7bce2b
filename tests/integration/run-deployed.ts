/**
 * `npm run test:deployed -- <outputs.json> [vitest args]`: runs the integration suite against a
 * deployed stack, given its outputs:
 *
 *   pulumi stack output --json --show-secrets --stack dev > outputs.json
 *   npm run test:deployed -- outputs.json
 *
 * The suite is the one `npm test` runs against a local cloud; with OUTPUTS_FILE set it starts no
 * local cloud and talks to the endpoints the outputs name, with the default AWS credentials.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readStackOutputs } from "../../local/outputs";

function main(): number {
  const [file, ...rest] = process.argv.slice(2);
  if (!file || file.startsWith("-")) {
    console.error("usage: npm run test:deployed -- <outputs.json> [vitest options]\n  (pulumi stack output --json --show-secrets --stack <stack> > outputs.json)");
    return 2;
  }
  const outputsFile = path.resolve(file);
  if (!fs.existsSync(outputsFile)) {
    console.error(`${file} does not exist`);
    return 2;
  }
  try {
    const outputs = readStackOutputs(outputsFile);
    if (outputs.awsEndpoints) console.warn(`Note: ${file} names local endpoints (awsEndpoints): this is a local cloud's outputs file`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const root = path.resolve(__dirname, "..", "..");
  const result = spawnSync(process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "tests/integration", ...rest], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, OUTPUTS_FILE: outputsFile },
  });
  return result.status ?? 1;
}

process.exit(main());
