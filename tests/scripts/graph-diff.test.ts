// `npm run graph:diff` matches an old graph to a new one as `pulumi up` would (by URN or alias)
// and reports what a deploy would delete, create or change.
import { describe, expect, it } from "vitest";
import { compareGraphs } from "../../scripts/graph-diff";
import type { GraphEntry } from "../../scripts/resource-graph";

const urn = (type: string, name: string) => `urn:pulumi:dev::p::${type}::${name}`;
const entry = (type: string, name: string, inputs: Record<string, unknown> = {}, aliases: string[] = [], at = urn(type, name)): GraphEntry => ({ urn: at, aliases, type, name, inputs });
const QUEUE = "aws:sqs/queue:Queue";
const FN = "aws:lambda/function:Function";

describe("compareGraphs", () => {
  it("matches a moved resource through its alias, and counts a new component as harmless", () => {
    const before = [entry(QUEUE, "q", { name: "q" })];
    const after = [entry("my:index:Wrapper", "w"), entry(QUEUE, "q", { name: "q" }, [urn(QUEUE, "q")], urn(`my:index:Wrapper$${QUEUE}`, "q"))];
    expect(compareGraphs(before, after)).toEqual({ differences: [], codeUpdates: [], matched: 1, viaAlias: 1, newComponents: [urn("my:index:Wrapper", "w")] });
  });

  it("reports a resource that lost its URN as deleted and its new URN as created", () => {
    const result = compareGraphs([entry(QUEUE, "q")], [entry(QUEUE, "q", {}, [], urn(`my:index:Wrapper$${QUEUE}`, "q"))]);
    expect(result.differences).toEqual([`gone (would be deleted): ${urn(QUEUE, "q")}`, `new (would be created): ${urn(`my:index:Wrapper$${QUEUE}`, "q")}`]);
  });

  it("reports each changed input with both values, and a changed bundle as a code update", () => {
    const before = [entry(QUEUE, "q", { messageRetentionSeconds: 60 }), entry(FN, "f", { name: "fn", sourceCodeHash: "a" })];
    const after = [entry(QUEUE, "q", { messageRetentionSeconds: 120 }), entry(FN, "f", { name: "fn", sourceCodeHash: "b" })];
    const result = compareGraphs(before, after);
    expect(result.differences).toEqual([`${urn(QUEUE, "q")}: input messageRetentionSeconds changed\n    before 60\n    after  120`]);
    expect(result.codeUpdates).toEqual(["fn: bundle changed (code updated in place)"]);
  });
});
