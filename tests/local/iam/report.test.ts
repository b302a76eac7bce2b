// The usage report: merges runs, lists what was used and refused, and the grants no call needed.
import { describe, expect, it } from "vitest";
import { formatReport, mergeUsage, parseUsageFile, unusedGrants } from "../../../local/iam/report";
import type { UsageFile } from "../../../local/iam/usage";
import { parseIamReportArgs } from "../../../scripts/iam-report";

const TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";
const run = (calls: number, denied = false): UsageFile => ({
  enforcement: true,
  updatedAt: "2026-12-02T00:00:00.000Z",
  principals: [
    {
      principal: "arn:aws:iam::000000000000:role/app",
      role: "app",
      sessions: ["app-fn"],
      used: [{ action: "dynamodb:GetItem", resource: TABLE, calls }],
      denied: denied ? [{ caller: "app-fn", action: "dynamodb:PutItem", resource: TABLE, message: "User: x is not authorized to perform: dynamodb:PutItem", missing: "Missing in role app's policy: {}", calls: 1 }] : [],
      grants: [{ sid: "OrdersTable", actions: ["dynamodb:GetItem", "dynamodb:Query"], resources: [TABLE, `${TABLE}/index/*`] }],
    },
  ],
});

describe("IAM usage report", () => {
  it("merges runs principal by principal, adding calls", () => {
    expect(mergeUsage([run(2), run(3, true)])[0]).toMatchObject({ used: [{ action: "dynamodb:GetItem", calls: 5 }], denied: [{ action: "dynamodb:PutItem", calls: 1 }] });
  });

  it("lists the granted actions and resources no call used", () => {
    expect(unusedGrants(mergeUsage([run(1)])[0]!)).toEqual([
      { sid: "OrdersTable", action: "dynamodb:GetItem", resources: [`${TABLE}/index/*`] },
      { sid: "OrdersTable", action: "dynamodb:Query", resources: [TABLE, `${TABLE}/index/*`] },
    ]);
  });

  it("prints used, denied and never used per role", () => {
    const text = formatReport([run(1, true)]);
    expect(text).toContain("IAM usage of 1 local cloud run: 1 principals, 1 denied call");
    expect(text).toContain(`    dynamodb:GetItem on ${TABLE} (1 call)`);
    expect(text).toContain("    app-fn, 1 call: User: x is not authorized to perform: dynamodb:PutItem");
    expect(text).toContain(`    OrdersTable dynamodb:Query on ${TABLE}, ${TABLE}/index/*`);
  });

  it("refuses a file that is not a usage file, and bad arguments", () => {
    expect(() => parseUsageFile("{}", "x.json")).toThrow("x.json is not an IAM usage file");
    expect(() => parseUsageFile("nope", "x.json")).toThrow(/x.json is not JSON/);
    expect(() => parseIamReportArgs(["--stack", "dev", "--usage", "a.json"])).toThrow("give --stack or --usage, not both");
    expect(() => parseIamReportArgs(["--stack", "nosuchstack"])).toThrow();
    expect(parseIamReportArgs(["--usage", "a.json", "--usage", "b.json", "--fail-on-denied"])).toEqual({ files: ["a.json", "b.json"], failOnDenied: true });
  });
});
