/**
 * What a CORS answer must carry, checked header by header so a failure names the header: a
 * preflight (allowed origin, methods, request headers, max age, `Vary`) or an actual response
 * (allowed origin, `Vary`, exposed headers).
 */
import { CORS_EXPOSE_HEADERS } from "../../functions/lib/cors";

export type CorsExpectation =
  | { kind: "preflight"; origin: string; method: string; requestHeaders: string[] }
  | { kind: "response"; origin: string };

const list = (value: string) => value.split(",").map((v) => v.trim().toLowerCase());

/**
 * The problems of one answer's CORS headers, each naming the header: `"<what>: Vary is missing
 * (expected Origin)"`. Empty when they are right. Header names are matched case-insensitively.
 * @param what - the answer, for the messages, e.g. `"POST /order (403)"`.
 */
export function corsProblems(what: string, headers: Record<string, string>, expected: CorsExpectation): string[] {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const problems: string[] = [];
  const need = (name: string, ok: (value: string) => boolean, want: string) => {
    const value = lower[name.toLowerCase()];
    if (value === undefined) problems.push(`${what}: ${name} is missing (expected ${want})`);
    else if (!ok(value)) problems.push(`${what}: ${name} is "${value}" (expected ${want})`);
  };
  need("Access-Control-Allow-Origin", (v) => v === expected.origin, expected.origin);
  need("Vary", (v) => list(v).includes("origin"), "Origin");
  if (expected.kind === "preflight") {
    need("Access-Control-Allow-Methods", (v) => list(v).includes(expected.method.toLowerCase()), `a list with ${expected.method}`);
    need("Access-Control-Allow-Headers", (v) => expected.requestHeaders.every((h) => list(v).includes(h.toLowerCase())), `a list with ${expected.requestHeaders.join(", ")}`);
    need("Access-Control-Max-Age", (v) => /^[1-9]\d*$/.test(v), "a number of seconds");
  } else {
    need("Access-Control-Expose-Headers", (v) => CORS_EXPOSE_HEADERS.every((h) => list(v).includes(h)), `a list with ${CORS_EXPOSE_HEADERS.join(", ")}`);
  }
  return problems;
}
