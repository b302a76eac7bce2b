/**
 * `npm run traces -- <transaction_id | order_id | trace_id> [--stack dev] [--file spans.jsonl]`
 *
 * Prints the trace(s) of one business operation as an indented tree: every span with its service,
 * its start offset and duration, and its error when it failed. Reads the spans the local cloud's
 * OTLP receiver stored in `.local/<stack>/spans.jsonl`; a trace is selected when any of its spans
 * carries the id as `transaction.id`, `order.id` (set by the function runtimes) or any other
 * attribute value (a message id, say), or when the id is the trace id itself.
 */
import * as fs from "node:fs";
import { unknownStackMessage } from "../runner/stack-config";
import type { StoredSpan } from "./otlp-receiver";
import { spansFile } from "./otlp-receiver";
import { localStateDir, startCommand } from "./outputs";

/** Attributes that name a business operation, searched first. */
export const ID_ATTRIBUTES = ["transaction.id", "order.id"];

/** Reads a spans.jsonl file (skipping blank or broken lines). */
export function readSpans(file: string): StoredSpan[] {
  if (!fs.existsSync(file)) return [];
  const spans: StoredSpan[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      spans.push(JSON.parse(line) as StoredSpan);
    } catch {
      // A line cut short by a crash: skip it.
    }
  }
  return spans;
}

/** Trace ids of the traces that carry `id` (business id attributes first, then any attribute, then the trace id). */
export function findTraceIds(spans: StoredSpan[], id: string): string[] {
  const ordered = (match: (s: StoredSpan) => boolean) => {
    const first = new Map<string, bigint>();
    for (const s of spans) {
      if (!match(s)) continue;
      const start = BigInt(s.startTimeUnixNano);
      if (!first.has(s.traceId) || start < first.get(s.traceId)!) first.set(s.traceId, start);
    }
    return [...first.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([t]) => t);
  };
  const byBusinessId = ordered((s) => ID_ATTRIBUTES.some((k) => s.attributes[k] === id));
  if (byBusinessId.length) return byBusinessId;
  const byAnyAttribute = ordered((s) => Object.values(s.attributes).some((v) => v === id));
  if (byAnyAttribute.length) return byAnyAttribute;
  return ordered((s) => s.traceId === id.toLowerCase());
}

const KIND = ["", "internal", "server", "client", "producer", "consumer"];

/** Renders one trace as an indented tree, children in start order. Orphans (parent not received) are shown as roots. */
export function renderTrace(spans: StoredSpan[]): string {
  if (!spans.length) return "";
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, StoredSpan[]>();
  const roots: StoredSpan[] = [];
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId)) {
      const list = children.get(span.parentSpanId) ?? [];
      list.push(span);
      children.set(span.parentSpanId, list);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a: StoredSpan, b: StoredSpan) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);
  roots.sort(byStart);
  const t0 = roots.reduce((min, s) => (BigInt(s.startTimeUnixNano) < min ? BigInt(s.startTimeUnixNano) : min), BigInt(roots[0]!.startTimeUnixNano));
  const errors = spans.filter((s) => s.status.code === 2).length;
  const lines = [`trace ${spans[0]!.traceId}  ${spans.length} spans${errors ? `, ${errors} with errors` : ""}`];
  const walk = (span: StoredSpan, prefix: string, last: boolean, root: boolean) => {
    const offset = Number(BigInt(span.startTimeUnixNano) - t0) / 1e6;
    const ids = ID_ATTRIBUTES.filter((k) => span.attributes[k] !== undefined).map((k) => `${k}=${String(span.attributes[k])}`);
    const orphan = root && span.parentSpanId ? " (parent not received)" : "";
    const head = `${span.name} [${span.service}${KIND[span.kind] ? `, ${KIND[span.kind]}` : ""}] +${formatMs(offset)} ${formatMs(span.durationMs)}`;
    const error = span.status.code === 2 ? `  ✗ ERROR${span.status.message ? `: ${span.status.message}` : ""}` : "";
    lines.push(`${prefix}${root ? "" : last ? "└─ " : "├─ "}${head}${ids.length ? `  ${ids.join(" ")}` : ""}${error}${orphan}`);
    const kids = (children.get(span.spanId) ?? []).sort(byStart);
    const childPrefix = root ? prefix : prefix + (last ? "   " : "│  ");
    kids.forEach((kid, i) => walk(kid, childPrefix, i === kids.length - 1, false));
  };
  roots.forEach((root, i) => walk(root, "", i === roots.length - 1, true));
  return lines.join("\n");
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

const USAGE = "usage: npm run traces -- <transaction_id|order_id|trace_id> [--stack dev] [--file .local/<stack>/spans.jsonl]";

/** The command line: prints the traces and returns the exit code. */
export function main(argv: string[], print: (text: string) => void = console.log): number {
  let stack = "dev";
  let file: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--stack") stack = argv[++i] ?? stack;
    else if (arg.startsWith("--stack=")) stack = arg.slice(8);
    else if (arg === "--file") file = argv[++i];
    else if (arg.startsWith("--file=")) file = arg.slice(7);
    else if (arg === "--help" || arg === "-h") {
      print(USAGE);
      return 0;
    } else if (arg.startsWith("-") && arg !== "-") {
      print(`unknown option ${arg}\n${USAGE}`);
      return 2;
    } else positional.push(arg);
  }
  const id = positional[0];
  if (!id) {
    print(USAGE);
    return 2;
  }
  if (!file) {
    const noStack = unknownStackMessage(stack);
    if (noStack) {
      print(noStack);
      return 2;
    }
  }
  // The spans file outlives the cloud: traces of a stopped run stay readable.
  const source = file ?? spansFile(stack, localStateDir());
  const spans = readSpans(source);
  if (!spans.length) {
    print(
      file
        ? `No spans in ${source}.`
        : `No spans in ${source}: the local cloud for stack ${stack} has stored none yet (start it with \`${startCommand(stack)}\`, then publish or order something).`,
    );
    return 1;
  }
  const traceIds = findTraceIds(spans, id);
  if (!traceIds.length) {
    print(`No trace carries "${id}" in ${source} (${spans.length} spans). Spans are exported when each invocation ends.`);
    return 1;
  }
  print(traceIds.map((t) => renderTrace(spans.filter((s) => s.traceId === t))).join("\n\n"));
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
