/**
 * `npm run traces -- <id>`: finds the trace(s) of a transaction or order in spans.jsonl and prints
 * them as an indented tree with offsets, durations and errors.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StoredSpan } from "../../local/otlp-receiver";
import { findTraceIds, main, readSpans, renderTrace } from "../../local/traces";

const T1 = "6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa";
const T2 = "6650a9c2cccccccccccccccccccccccc";
const ms = (n: number) => String(BigInt(1_700_000_000_000) * 1_000_000n + BigInt(Math.round(n * 1e6)));
const span = (traceId: string, spanId: string, name: string, start: number, end: number, extra: Partial<StoredSpan> = {}): StoredSpan => ({
  traceId, spanId, name, kind: 1, service: "svc", startTimeUnixNano: ms(start), endTimeUnixNano: ms(end), durationMs: end - start,
  attributes: {}, status: { code: 0 }, events: [], links: [], ...extra,
});

const spans: StoredSpan[] = [
  span(T1, "0000000000000001", "SNS.Publish", 0, 12, { kind: 4, service: "publisher", attributes: { "transaction.id": "tx-1" } }),
  span(T1, "0000000000000002", "payment-processing", 20, 80, { parentSpanId: "0000000000000001", kind: 5, service: "payment" }),
  span(T1, "0000000000000003", "process payments.fifo", 21, 79, { parentSpanId: "0000000000000002", kind: 5, service: "payment", attributes: { "transaction.id": "tx-1", "messaging.message.id": "msg-9" } }),
  span(T1, "0000000000000005", "SQS.SendMessage", 60, 70, { parentSpanId: "0000000000000003", kind: 4, service: "payment" }),
  span(T1, "0000000000000004", "DynamoDB.GetItem", 22, 30, { parentSpanId: "0000000000000003", kind: 3, service: "payment", status: { code: 2, message: "ProvisionedThroughputExceeded" } }),
  span(T2, "0000000000000010", "POST /order", 100, 1600, { kind: 2, service: "api", attributes: { "order.id": "ord-1" } }),
  span(T2, "0000000000000011", "validate-order", 1700, 1710, { parentSpanId: "00000000000000ff", service: "validate" }),
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "traces-"));
const file = path.join(dir, "spans.jsonl");
fs.writeFileSync(file, spans.map((s) => JSON.stringify(s)).join("\n") + "\n{broken\n\n");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("traces", () => {
  it("reads spans.jsonl, skipping broken lines", () => {
    expect(readSpans(file)).toHaveLength(spans.length);
    expect(readSpans(path.join(dir, "missing.jsonl"))).toEqual([]);
  });

  it("finds traces by transaction.id / order.id, then by any attribute value, then by trace id", () => {
    expect(findTraceIds(spans, "tx-1")).toEqual([T1]);
    expect(findTraceIds(spans, "ord-1")).toEqual([T2]);
    expect(findTraceIds(spans, "msg-9")).toEqual([T1]);
    expect(findTraceIds(spans, T2.toUpperCase())).toEqual([T2]);
    expect(findTraceIds(spans, "nothing")).toEqual([]);
  });

  it("prints an indented tree in start order with offsets, durations, ids and errors", () => {
    const text = renderTrace(spans.filter((s) => s.traceId === T1));
    expect(text).toBe(
      [
        `trace ${T1}  5 spans, 1 with errors`,
        "SNS.Publish [publisher, producer] +0.0 ms 12.0 ms  transaction.id=tx-1",
        "└─ payment-processing [payment, consumer] +20.0 ms 60.0 ms",
        "   └─ process payments.fifo [payment, consumer] +21.0 ms 58.0 ms  transaction.id=tx-1",
        "      ├─ DynamoDB.GetItem [payment, client] +22.0 ms 8.0 ms  ✗ ERROR: ProvisionedThroughputExceeded",
        "      └─ SQS.SendMessage [payment, producer] +60.0 ms 10.0 ms",
      ].join("\n"),
    );
  });

  it("nests children under their parent and marks spans whose parent never arrived", () => {
    const text = renderTrace(spans.filter((s) => s.traceId === T2));
    expect(text).toContain("POST /order [api, server] +0.0 ms 1.50 s  order.id=ord-1");
    expect(text).toContain("validate-order [validate, internal] +1.60 s 10.0 ms (parent not received)");
  });

  it("is a command: id and --file/--stack, exit codes for missing ids and files", () => {
    const out: string[] = [];
    expect(main(["ord-1", "--file", file], (t) => out.push(t))).toBe(0);
    expect(out.join("\n")).toContain(`trace ${T2}`);
    expect(main(["nope", `--file=${file}`], (t) => out.push(t))).toBe(1);
    expect(out.at(-1)).toContain('No trace carries "nope"');
    expect(main(["tx-1", "--file", path.join(dir, "none.jsonl")], (t) => out.push(t))).toBe(1);
    expect(out.at(-1)).toContain("No spans in");
    expect(main([], (t) => out.push(t))).toBe(2);
    expect(main(["tx-1", "--bogus"], (t) => out.push(t))).toBe(2);
    expect(out.at(-1)).toMatch(/^unknown option --bogus\nusage: npm run traces/);
  });

  it("names the stack and how to start it; an unknown stack is said to be one", () => {
    const previous = process.env.LOCAL_CLOUD_DIR;
    process.env.LOCAL_CLOUD_DIR = dir; // no <stack>/spans.jsonl in it
    try {
      const out: string[] = [];
      expect(main(["tx-1", "--stack", "staging"], (t) => out.push(t))).toBe(1);
      expect(out.at(-1)).toContain(`No spans in ${path.join(dir, "staging", "spans.jsonl")}: the local cloud for stack staging has stored none yet (start it with \`npm start -- --stack staging\``);
      expect(main(["tx-1", "--stack=nope"], (t) => out.push(t))).toBe(2);
      expect(out.at(-1)).toBe('No stack "nope": Pulumi.nope.yaml does not exist (stacks: dev, staging)');
    } finally {
      if (previous === undefined) delete process.env.LOCAL_CLOUD_DIR;
      else process.env.LOCAL_CLOUD_DIR = previous;
    }
  });
});
