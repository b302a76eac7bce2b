/**
 * The simulated fulfillment's decision rule, pinned by literal ids: each expected bucket is the
 * first 4 bytes of sha256(id), big-endian, mod 10000, computed outside this code (Python's hashlib),
 * so a change to the hash, the bytes read, the modulus or the comparison with the rate is caught,
 * not recomputed. The integration suite predicts final statuses with this function, so it is the
 * only place the rule itself is checked against fixed values.
 */
import { describe, expect, it } from "vitest";
import { outcomeBucket, simulatedOutcome } from "../../../functions/orders/outcome";

describe("outcomeBucket", () => {
  it.each([
    ["3b743209-f24e-43dd-bf27-5763abcdbda4", 8048],
    ["0b6d4e38-58c2-4e8e-9a53-3c1f4b3a9d10", 4970],
    ["order-3231", 0],
    ["order-3598", 9999],
    ["order-8750", 6999],
    ["order-29873", 7000],
    ["order-10778", 3499],
    ["order-4645", 3500],
  ])("%s → %i", (orderId, bucket) => {
    expect(outcomeBucket(orderId)).toBe(bucket);
  });
});

describe("simulatedOutcome", () => {
  it.each([
    // At 0.7 an order succeeds below bucket 7000: 6999 is the last success, 7000 the first failure.
    ["order-8750", 0.7, "FULFILLED"],
    ["order-29873", 0.7, "FAILED"],
    ["0b6d4e38-58c2-4e8e-9a53-3c1f4b3a9d10", 0.7, "FULFILLED"],
    ["3b743209-f24e-43dd-bf27-5763abcdbda4", 0.7, "FAILED"],
    // At 0.35 the boundary moves to 3500.
    ["order-10778", 0.35, "FULFILLED"],
    ["order-4645", 0.35, "FAILED"],
    // The extremes: bucket 0 fails at rate 0, bucket 9999 succeeds at rate 1.
    ["order-3231", 0, "FAILED"],
    ["order-3598", 1, "FULFILLED"],
  ] as const)("%s at rate %d → %s", (orderId, rate, outcome) => {
    expect(simulatedOutcome(orderId, "cust-any", rate)).toBe(outcome);
  });

  it("is the same on every call for one order (a retry does not re-roll)", () => {
    const outcomes = Array.from({ length: 5 }, () => simulatedOutcome("order-29873", "cust-any", 0.7));
    expect(outcomes).toEqual(Array(5).fill("FAILED"));
  });

  it("an override for the order's customer wins over the rule; other customers keep the rule", () => {
    const overrides = { "cust-forced": "FULFILLED", "cust-doomed": "FAILED" } as const;
    expect(simulatedOutcome("order-29873", "cust-forced", 0.7, overrides)).toBe("FULFILLED");
    expect(simulatedOutcome("order-8750", "cust-doomed", 0.7, overrides)).toBe("FAILED");
    expect(simulatedOutcome("order-29873", "cust-other", 0.7, overrides)).toBe("FAILED");
    expect(simulatedOutcome("order-8750", "cust-other", 0.7, overrides)).toBe("FULFILLED");
  });
});
