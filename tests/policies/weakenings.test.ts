/**
 * The pack's own mutation test. The real program runs for a stack under the mock runtime with one
 * Pulumi resource transform that weakens one thing (a hole the review found, or what an existing
 * policy is there to stop), and exactly the policy that exists for it must fire, with its messages;
 * no other policy may fire. The runner applies transforms as the engine does (runner/run-program.ts:
 * the mock monitor does not run them itself). The weakenings are in weakenings.ts.
 *
 * Every policy of the pack has at least one weakening: adding a policy means adding its weakening.
 */
import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../policies/evaluate";
import { policies } from "../../policies/pack";
import { runProgram } from "../../runner/run-program";
import { WEAKENINGS } from "./weakenings";

const CONFIG = { accountFingerprintKey: "weakening-suite-placeholder-".padEnd(64, "0") };

describe("weakening the program", () => {
  it("has a weakening for every policy of the pack", () => {
    const covered = new Set(WEAKENINGS.map((w) => w.policy));
    expect(policies.map((p) => p.name).filter((name) => !covered.has(name))).toEqual([]);
    expect([...covered].filter((name) => !policies.some((p) => p.name === name))).toEqual([]);
  });

  it.each(WEAKENINGS.map((w) => [`${w.what} → ${w.policy}`, w] as const))("%s", async (_title, w) => {
    const stack = w.stack ?? "staging";
    const run = await runProgram({ stack, config: CONFIG, transforms: [w.transform] });
    expect(w.transform.applied(), "the transform changed no resource: its type or logical name is stale").toBeGreaterThan(0);
    const { violations } = await evaluatePolicies(policies, run.resources, { stack });
    const level = policies.find((p) => p.name === w.policy)!.enforcementLevel;
    expect(violations.map((v) => ({ policy: v.policyName, level: v.enforcementLevel, message: v.message }))).toEqual(w.messages.map((message) => ({ policy: w.policy, level, message })));
  });
});
