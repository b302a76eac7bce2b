/**
 * docs/policies.md keeps the pack honest: every policy is catalogued with its remediation and the
 * source ids it enforces; every id of the field (checkov, cfn_nag, AWS Security Hub, Pulumi) that
 * the pack or its docs name is either enforced by a policy (the mapping table) or listed under "Not
 * enforced" with its reason; and a rule file's header names only ids that a policy of that file
 * enforces (a header that claims a check nothing in the file makes fails here).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { policies } from "../../policies/pack";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const DOC = read("docs/policies.md");

/** The ids of the field, as this repository writes them. */
const ID_PATTERNS = [
  /\bCKV2?_AWS_\d+\b/g, // checkov
  /\b(?:APIGateway|CloudWatch|DynamoDB|IAM|KMS|Lambda|SNS|SQS|StepFunctions)\.\d+\b/g, // AWS Security Hub
  /\b(?:awsguard|compliance-ready|pulumi):[a-z][a-z0-9-]*[a-z0-9]\b/g, // Pulumi (AWSGuard, compliance-ready policies, resource options)
];

/** Every id a text names. cfn_nag rules (W47, F3, ...) count where the text says "cfn_nag" before them. */
function idsIn(text: string): Set<string> {
  const flat = text.replace(/\n\s*\*\s*/g, " "); // a comment's lines as one
  const ids = new Set<string>();
  for (const pattern of ID_PATTERNS) for (const m of flat.matchAll(pattern)) ids.add(m[0]);
  for (const m of flat.matchAll(/cfn_nag((?:[\s,/]+(?:and\s+)?`?[WF]\d+`?)+)/g)) for (const id of m[1]!.matchAll(/[WF]\d+/g)) ids.add(id[0]);
  return ids;
}

/** The rows of the first markdown table after a heading: cells, without the header and separator rows. */
function tableAfter(heading: string): string[][] {
  const start = DOC.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/policies.md has no "${heading}"`);
  const lines = DOC.slice(start).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

const cellIds = (cell: string, cfnNag = false) => (cell === "—" ? [] : [...(cfnNag ? [...cell.matchAll(/[WF]\d+/g)].map((m) => m[0]) : idsIn(cell))]);
const policyOf = (cell: string) => /^`([a-z0-9-]+)`$/.exec(cell)?.[1];

const MAPPING = tableAfter("## Mapping to the field's controls").map((cells) => {
  const [policy, checkov, cfnNag, securityHub, pulumi] = cells;
  return { policy: policyOf(policy!), ids: [...cellIds(checkov!), ...cellIds(cfnNag!, true), ...cellIds(securityHub!), ...cellIds(pulumi!)], cells };
});
const NOT_ENFORCED = tableAfter("## Not enforced, and why").map(([control, why]) => ({ ids: [...idsIn(control!)], control: control!, why: why! }));

const enforcedBy = new Map<string, Set<string>>();
for (const row of MAPPING) for (const id of row.ids) enforcedBy.set(id, new Set([...(enforcedBy.get(id) ?? []), row.policy!]));
const notEnforced = new Set(NOT_ENFORCED.flatMap((r) => r.ids));

describe("the mapping table", () => {
  it("has one row per policy of the pack, and names only policies of the pack", () => {
    expect(MAPPING.map((r) => r.policy).sort()).toEqual(policies.map((p) => p.name).sort());
  });

  it("says why for each control not enforced, and lists none of them as enforced", () => {
    for (const row of NOT_ENFORCED) {
      expect(row.ids.length, row.control).toBeGreaterThan(0);
      expect(row.why.length, row.control).toBeGreaterThan(40);
    }
    expect([...notEnforced].filter((id) => enforcedBy.has(id))).toEqual([]);
  });
});

describe("every id named", () => {
  const corpus: Record<string, string> = { "docs/policies.md": DOC, "README.md": read("README.md") };
  for (const dir of ["policies", "policies/lib", "policies/rules"]) {
    for (const file of fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".ts"))) corpus[`${dir}/${file}`] = read(`${dir}/${file}`);
  }

  it("is enforced by a policy (the mapping) or listed as not enforced, with its reason", () => {
    const unaccounted = Object.entries(corpus).flatMap(([file, text]) => [...idsIn(text)].filter((id) => !enforcedBy.has(id) && !notEnforced.has(id)).map((id) => `${file}: ${id}`));
    expect(unaccounted).toEqual([]);
  });

  it("is written in full (CKV_AWS_62, not CKV_AWS_62/63)", () => {
    const shorthand = Object.entries(corpus).flatMap(([file, text]) => [...text.matchAll(/\bCKV2?_AWS_\d+\/\d/g)].map((m) => `${file}: ${m[0]}`));
    expect(shorthand).toEqual([]);
  });

  it("in a rule file's header, is enforced by a policy of that file", async () => {
    const wrong: string[] = [];
    for (const file of fs.readdirSync(path.join(ROOT, "policies/rules")).filter((f) => f.endsWith(".ts"))) {
      const text = read(`policies/rules/${file}`);
      const header = text.slice(0, text.indexOf("*/"));
      const module = (await import(`../../policies/rules/${file.replace(/\.ts$/, "")}`)) as Record<string, unknown>;
      const defined = new Set(Object.values(module).filter((v): v is { name: string } => !!v && typeof v === "object" && "name" in v && ("validateResource" in v || "validateStack" in v)).map((p) => p.name));
      for (const id of idsIn(header)) {
        if (notEnforced.has(id)) continue;
        if (![...(enforcedBy.get(id) ?? [])].some((p) => defined.has(p))) wrong.push(`policies/rules/${file}: ${id} (enforced by ${[...(enforcedBy.get(id) ?? ["nothing"])].join(", ")})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("the catalogue", () => {
  const rows = new Map(
    DOC.split("\n")
      .filter((l) => /^\| `[a-z0-9-]+` \| (mandatory|advisory) \|/.test(l))
      .map((l) => {
        const cells = l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
        return [policyOf(cells[0]!)!, { why: cells[3]!, remediation: cells[4]! }] as const;
      }),
  );

  it("gives each policy its remediation steps, as the policy reports them", () => {
    for (const p of policies) expect({ policy: p.name, remediation: rows.get(p.name)?.remediation }).toEqual({ policy: p.name, remediation: p.remediationSteps });
  });

  it("names, in each policy's Why, every id the mapping says it enforces", () => {
    const missing = MAPPING.flatMap((m) => m.ids.filter((id) => !idsIn(rows.get(m.policy!)?.why ?? "").has(id) && !(/^[WF]\d+$/.test(id) && (rows.get(m.policy!)?.why ?? "").includes(id))).map((id) => `${m.policy}: ${id}`));
    expect(missing).toEqual([]);
  });
});
