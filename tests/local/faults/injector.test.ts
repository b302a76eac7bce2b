// The injector: seeded (the same seed, the same decisions), at the rates the spec gives, one error
// fault per call at most, every injection counted and logged.
import { describe, expect, it } from "vitest";
import { FaultInjector } from "../../../local/faults/injector";
import { parseFaultSpec } from "../../../local/faults/spec";

const decisions = (spec: string, n: number) => {
  const injector = new FaultInjector(parseFaultSpec(spec), () => undefined);
  return Array.from({ length: n }, () => injector.functionFault("f") ?? "-");
};

/** Within 4.5 standard deviations of n·p: a correct injector fails this about once in 150,000 runs. */
function expectBinomial(count: number, n: number, p: number) {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThanOrEqual(4.5 * sd);
}

describe("FaultInjector", () => {
  it("repeats its decisions for the same seed and changes them for another", () => {
    expect(decisions("functions=crash:0.3,throw:0.3;seed=7", 200)).toEqual(decisions("functions=crash:0.3,throw:0.3;seed=7", 200));
    expect(decisions("functions=crash:0.3,throw:0.3;seed=7", 200)).not.toEqual(decisions("functions=crash:0.3,throw:0.3;seed=8", 200));
  });

  it("injects each fault at its rate, at most one per invocation, and counts them", () => {
    const n = 20_000;
    const injector = new FaultInjector(parseFaultSpec("functions=crash:0.1,timeout:0.05,throw:0.2,throttle:0.15;seed=3"), () => undefined);
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const kind = injector.functionFault("f") ?? "none";
      seen[kind] = (seen[kind] ?? 0) + 1;
    }
    expectBinomial(seen.crash!, n, 0.1);
    expectBinomial(seen.timeout!, n, 0.05);
    expectBinomial(seen.throw!, n, 0.2);
    expectBinomial(seen.throttle!, n, 0.15);
    expectBinomial(seen.none!, n, 0.5);
    expect(injector.report()).toEqual({
      spec: "functions=crash:0.1,timeout:0.05,throw:0.2,throttle:0.15;seed=3",
      injected: { "function:f crash": seen.crash, "function:f timeout": seen.timeout, "function:f throw": seen.throw, "function:f throttle": seen.throttle },
    });
  });

  it("gives a function's own entry precedence over `functions`", () => {
    const injector = new FaultInjector(parseFaultSpec("functions=crash:1;function:calm=throw:0"), () => undefined);
    expect(injector.functionFault("calm")).toBeUndefined();
    expect(injector.functionFault("other")).toBe("crash");
  });

  it("delays service calls within the latency range and logs each injected fault", () => {
    const lines: string[] = [];
    const injector = new FaultInjector(parseFaultSpec("dynamodb=throttle:1,latency:20-30ms"), (l) => lines.push(l));
    const decision = injector.serviceFault("dynamodb", "PutItem");
    expect(decision.fault).toBe("throttle");
    expect(decision.delayMs).toBeGreaterThanOrEqual(20);
    expect(decision.delayMs).toBeLessThanOrEqual(30);
    expect(lines).toEqual([`[faults] injected ${decision.delayMs}ms latency into dynamodb PutItem`, "[faults] injected throttle into dynamodb PutItem"]);
    expect(injector.serviceFault("sqs", "SendMessage")).toEqual({ delayMs: 0 });
  });

  it("is quiet with no faults, and a new spec restarts the counts", () => {
    const injector = new FaultInjector(parseFaultSpec("seed=5"), () => undefined);
    expect(injector.quiet).toBe(true);
    injector.set(parseFaultSpec("sqs=error:1"));
    expect(injector.quiet).toBe(false);
    injector.serviceFault("sqs", "SendMessage");
    expect(injector.report().injected).toEqual({ "sqs error": 1 });
    injector.set(parseFaultSpec("sqs=error:1"));
    expect(injector.report().injected).toEqual({});
  });
});
