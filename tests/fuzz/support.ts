/**
 * What the fuzz files share: fast-check's run parameters and generators of odd text.
 *
 * Every property runs with a fresh random seed unless `FUZZ_SEED` is set; on a failure fast-check
 * prints the seed and the shrunk counterexample's path, so `FUZZ_SEED=<seed> npx vitest run <file>`
 * replays it.
 */
import fc from "fast-check";
import type { Parameters } from "fast-check";

/** fast-check parameters: `numRuns` cases, the `FUZZ_SEED` seed when set. */
export function fuzzParameters<T>(numRuns: number, extra: Parameters<T> = {}): Parameters<T> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns, ...(seed ? { seed: Number(seed) } : {}), ...extra };
}

/** Text of every kind: ASCII, any Unicode grapheme (emoji, combining marks, RTL), lone surrogates and control characters. */
export function oddText(maxLength = 40): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.string({ unit: fc.constantFrom("\u0000", "\u0007", "\t", "\n", "\r", "\u001b", "\u007f", "\u00a0", "\u200b", "\u202e", "\ufeff", "\ud800", "\udfff", "%", "%00", "%ZZ", "\\", "\"", "'", "/", "..", "é", "e\u0301", "😀", "𝟘", "٣"), maxLength }),
  );
}

/** A UUID the contract's `z.uuid()` accepts (RFC 9562 versions 1-8). */
export const uuid = (): fc.Arbitrary<string> => fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] });

/**
 * A decimal amount with a sub-cent remainder of any magnitude: `5.00` + d·10^-e for e in 3..15
 * (`5.001`, `5.000000001`, ...): more than two decimals, however small the excess, as long as the
 * number it parses to is more than float rounding noise away from a whole number of cents (beyond
 * about 16 significant digits, `5819.070000000000001` is the double of 5819.07 itself).
 */
export function subCentAmount(): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: 0, max: 100_000_000 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 3, max: 15 }))
    .map(([cents, digit, exponent]) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}${"0".repeat(exponent - 3)}${digit}`)
    .filter((text) => {
      const cents = Number(text) * 100;
      return Math.abs(cents - Math.round(cents)) > 64 * Number.EPSILON * Math.max(1, Math.abs(cents));
    });
}

/** A valid ABA routing number: 8 random digits and the checksum digit. */
export function routingNumber(): fc.Arbitrary<string> {
  return fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 }).map((d) => {
    const partial = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]!);
    return [...d, (10 - (partial % 10)) % 10].join("");
  });
}

/**
 * Counts of what the cases were and what they got, printed at the end of a file when `FUZZ_STATS`
 * is set (to see that the generators reach every kind of input).
 */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(kind: string, outcome: string | number): void {
    const key = `${kind} → ${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  print(title: string): void {
    if (!process.env.FUZZ_STATS) return;
    const lines = [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${String(n).padStart(6)}  ${key}`);
    process.stdout.write(`${title}\n${lines.join("\n")}\n`);
  }
}
