/** The pack's shape: names, levels, metadata, the side-effect-free split, the CLI files. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ENFORCEMENT, PACK_NAME, THEMES, policies } from "../../policies/pack";
import { evaluatePolicies, policyConfig, unwrapSecrets } from "../../policies/evaluate";

const DIR = path.resolve(__dirname, "../../policies");

describe("the pack", () => {
  it("has unique policy names, each with a description, remediation steps and a level", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of policies) {
      expect(p.name).toMatch(/^[a-z0-9-]+$/);
      expect(p.description.length).toBeGreaterThan(20);
      expect(p.remediationSteps?.length ?? 0).toBeGreaterThan(20);
      expect(["mandatory", "advisory"]).toContain(p.enforcementLevel);
    }
    expect(Object.keys(ENFORCEMENT).sort()).toEqual([...names].sort());
    expect(Object.values(THEMES).flat().length).toBe(policies.length);
  });

  it("is advisory only for the judgement call (the visibility factor)", () => {
    expect(policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name)).toEqual(["sqs-visibility-timeout-factor"]);
  });

  it("keeps its only side effect in index.ts", () => {
    for (const file of ["pack.ts", "evaluate.ts", "run.ts", ...fs.readdirSync(path.join(DIR, "rules")).map((f) => `rules/${f}`), ...fs.readdirSync(path.join(DIR, "lib")).map((f) => `lib/${f}`)]) {
      const text = fs.readFileSync(path.join(DIR, file), "utf8");
      expect({ file, constructsPack: /new PolicyPack\(/.test(text), importsIndex: /from "\.\.?\/index"/.test(text) }).toEqual({ file, constructsPack: false, importsIndex: false });
    }
    expect(fs.readFileSync(path.join(DIR, "index.ts"), "utf8")).toContain(`new PolicyPack(PACK_NAME`);
    expect(PACK_NAME).toBe("utility-serverless-guardrails");
  });

  it("is catalogued in docs/policies.md, one row per policy with its level, and counted", () => {
    const doc = fs.readFileSync(path.resolve(DIR, "..", "docs", "policies.md"), "utf8");
    for (const p of policies) expect(doc).toContain(`| \`${p.name}\` | ${p.enforcementLevel} | ${p.description.replace(/\|/g, "\\|")} |`);
    expect(doc).toContain(`**${policies.length} policies**`);
  });

  it("has the files `pulumi preview --policy-pack policies` needs", () => {
    const project = parseYaml(fs.readFileSync(path.join(DIR, "PulumiPolicy.yaml"), "utf8")) as Record<string, unknown>;
    expect(project.runtime).toBe("nodejs");
    expect(String(project.description)).not.toBe("");
    const pkg = JSON.parse(fs.readFileSync(path.join(DIR, "package.json"), "utf8")) as { main: string; dependencies: Record<string, string> };
    expect(fs.existsSync(path.join(DIR, pkg.main))).toBe(true);
    const root = JSON.parse(fs.readFileSync(path.join(DIR, "..", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies["@pulumi/policy"]).toBe(root.dependencies["@pulumi/policy"]);
    expect(pkg.dependencies["@pulumi/pulumi"]).toBe(root.dependencies["@pulumi/pulumi"]);
  });
});

describe("the evaluator behaves like the engine's analyzer", () => {
  it("fills config defaults from the schema and lets the pack config override them, never passing enforcementLevel", () => {
    const schema = { properties: { minRetentionDays: { type: "integer" as const, default: 7 } } };
    expect(policyConfig(schema, undefined)).toEqual({ minRetentionDays: 7 });
    expect(policyConfig(schema, { enforcementLevel: "advisory", minRetentionDays: 30 })).toEqual({ minRetentionDays: 30 });
    expect(policyConfig(schema, "disabled")).toEqual({ minRetentionDays: 7 });
  });

  it("takes the level from the pack config, and skips disabled policies", async () => {
    const resources = [{ type: "aws:dynamodb/table:Table", name: "t", inputs: { name: "t-table" }, state: { name: "t-table" } }];
    const table = policies.filter((p) => p.name === "dynamodb-table-pitr-enabled");
    expect((await evaluatePolicies(table, resources)).violations.map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
    expect((await evaluatePolicies(table, resources, { config: { "dynamodb-table-pitr-enabled": "advisory" } })).violations.map((v) => v.enforcementLevel)).toEqual(["advisory"]);
    expect((await evaluatePolicies(table, resources, { config: { "dynamodb-table-pitr-enabled": { enforcementLevel: "disabled" } } })).violations).toEqual([]);
  });

  it("reports a stack violation against the urn given, and a resource violation against the resource", async () => {
    const resources = [{ type: "aws:dynamodb/table:Table", name: "t", inputs: { name: "t-table" }, state: { name: "t-table" } }];
    const [v] = (await evaluatePolicies(policies.filter((p) => p.name === "dynamodb-table-pitr-enabled"), resources, { stack: "s" })).violations;
    expect(v).toMatchObject({ urn: "urn:pulumi:s::utility-serverless::aws:dynamodb/table:Table::t", resource: { type: "aws:dynamodb/table:Table", name: "t" } });
  });

  it("unwraps secrets as the analyzer does", () => {
    expect(unwrapSecrets({ env: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { A: "1" } } })).toEqual({ env: { A: "1" } });
  });

  it("turns notApplicable() into a skipped policy, not a violation", async () => {
    const policy = { name: "na", description: "d", enforcementLevel: "mandatory" as const, validateStack: (a: { notApplicable(r?: string): never }) => a.notApplicable("nothing to do") };
    expect(await evaluatePolicies([policy], [])).toEqual({ violations: [], notApplicable: [{ policyName: "na", reason: "nothing to do" }] });
  });
});
