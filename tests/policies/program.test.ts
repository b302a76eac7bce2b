/**
 * The pack over what the program really declares: both stacks pass with zero violations, and `npm
 * run policy` reports like the CLI. That weakening the program is caught, policy by policy, is
 * weakenings.test.ts.
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../runner/run-program";
import type { DeclaredResource } from "../../policies/evaluate";
import { evaluatePolicies } from "../../policies/evaluate";
import { policies } from "../../policies/pack";
import { main } from "../../policies/run";

const CONFIG = { accountFingerprintKey: "x".repeat(40) };

async function violations(resources: DeclaredResource[], stack = "dev") {
  return (await evaluatePolicies(policies, resources, { stack })).violations;
}

describe.each(["dev", "staging"])("stack %s", (stack) => {
  it("passes the pack with zero mandatory (and zero advisory) violations", async () => {
    const run = await runProgram({ stack, config: CONFIG });
    expect(run.resources.length).toBeGreaterThan(20);
    const found = await violations(run.resources, stack);
    expect(found.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`)).toEqual([]);
    expect(found.map((v) => `${v.policyName}: ${v.message}`)).toEqual([]);
  });
});

describe("npm run policy", () => {
  const run = async (argv: string[]) => {
    let out = "";
    const code = await main(argv, (t) => (out += `${t}\n`));
    return { code, out };
  };

  it("exits 0 on a clean stack and prints the summary", async () => {
    const { code, out } = await run(["--stack", "staging"]);
    expect(code).toBe(0);
    expect(out).toContain(`Policy summary for stack "staging": ${policies.length} policies over`);
    expect(out).toContain(": 0 mandatory, 0 advisory violations.");
  });

  it("exits 1 on a mandatory violation and prints it in the CLI's form", async () => {
    const { code, out } = await run(["--config", "logRetentionDays=1"]);
    expect(code).toBe(1);
    expect(out).toContain("❌ utility-serverless-guardrails@v0.1.0 (local: policies)");
    expect(out).toMatch(/- \[mandatory\] {2}log-group-retention {2}\(aws:cloudwatch\/logGroup:LogGroup: [^)]+\)\n {10}Every CloudWatch log group has a retention, at least the configured minimum\.\n {10}Log group "\/aws\/lambda\/[^"]+" keeps logs 1 day, less than the minimum 7: set retentionInDays to at least 7\./);
  });

  it("exits 1 when the OTEL layer is swapped for another layer", async () => {
    const { code, out } = await run(["--config=otelLayerArn=arn:aws:lambda:us-east-2:123456789012:layer:other:1"]);
    expect(code).toBe(1);
    expect(out).toContain("[mandatory]  lambda-otel-layer");
  });

  it("rejects unknown arguments with exit code 2", async () => {
    expect(await run(["--stak", "dev"])).toEqual({ code: 2, out: 'error: Unknown argument "--stak" (use --stack <name>, --config key=value, --policy-config <file>)\n' });
  });
});
