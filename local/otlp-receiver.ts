/**
 * The local cloud's OTLP receiver: what the collector layer is on AWS.
 *
 * An HTTP server on 127.0.0.1 accepting OTLP/HTTP trace exports (`POST /v1/traces`) in JSON, the
 * encoding `@opentelemetry/exporter-trace-otlp-http` sends by default (`Content-Type:
 * application/json`; gzip accepted). Protobuf is answered with 415 and the setting to change
 * (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`): nothing here sends it, and decoding it would need a
 * protobuf runtime. Spans are flattened (`StoredSpan`), kept in memory and appended to
 * `.local/<stack>/spans.jsonl`, one per line, which `npm run traces -- <id>` reads.
 *
 * Point the functions at it with `OTEL_EXPORTER_OTLP_ENDPOINT=<receiver.url>`.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";

/** One span as stored: flat, ids in hex, attributes as plain values. */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** `service.name` of the resource that sent it. */
  service: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationMs: number;
  attributes: Record<string, unknown>;
  /** OTLP status: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: { name: string; timeUnixNano?: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string }[];
}

export interface OtlpReceiverOptions {
  /** Stack whose `.local/<stack>/spans.jsonl` receives the spans. @default "dev" */
  stack?: string;
  /** Root of the `.local` tree. @default the repository's `.local` */
  dir?: string;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Keep at most this many spans in memory (the file keeps all). @default 100_000 */
  maxSpansInMemory?: number;
}

export interface OtlpReceiver {
  /** Base URL, e.g. `http://127.0.0.1:43121`: the value for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url: string;
  port: number;
  /** The JSONL file spans are appended to. */
  file: string;
  /** Spans received so far (in memory). */
  spans(): StoredSpan[];
  /** Resolves once every received span is on disk. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

/** `.local/<stack>/spans.jsonl` under `root` (the repository's `.local` by default). */
export function spansFile(stack = "dev", root = path.resolve(__dirname, "..", ".local")): string {
  return path.join(root, stack, "spans.jsonl");
}

/** Starts the receiver. */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const file = spansFile(options.stack ?? "dev", options.dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const max = options.maxSpansInMemory ?? 100_000;
  const memory: StoredSpan[] = [];
  // One append at a time: the lines that arrive meanwhile go out together in the next one (one
  // open, write and close per batch rather than per export, off the exporters' round trips).
  let writing: Promise<void> = Promise.resolve();
  let queued = "";
  let inFlight = false;
  const append = (lines: string) => {
    queued += lines;
    if (inFlight) return;
    inFlight = true;
    const text = queued;
    queued = "";
    writing = fs.promises
      .appendFile(file, text)
      .catch(() => undefined)
      .then(() => {
        inFlight = false;
        if (queued) append("");
      });
  };
  const flushed = async () => {
    while (inFlight || queued) await writing;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST" || req.url?.split("?")[0] !== "/v1/traces") return reply(404, { error: "POST OTLP traces to /v1/traces" });
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
      if (type !== "application/json") {
        return reply(415, { error: `unsupported content type "${type}": send OTLP/HTTP JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)` });
      }
      let spans: StoredSpan[];
      try {
        let raw = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
        spans = flattenOtlp(JSON.parse(raw.toString("utf8")));
      } catch (error) {
        return reply(400, { error: `not an OTLP JSON trace export: ${(error as Error).message}` });
      }
      memory.push(...spans);
      if (memory.length > max) memory.splice(0, memory.length - max);
      if (spans.length) {
        const lines = spans.map((s) => JSON.stringify(s)).join("\n") + "\n";
        append(lines);
      }
      reply(200, { partialSuccess: {} });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    file,
    spans: () => [...memory],
    flushed,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await flushed();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// OTLP JSON → StoredSpan

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
  events?: { name: string; timeUnixNano?: string | number; attributes?: OtlpKeyValue[] }[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpExport {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** Flattens an OTLP JSON `ExportTraceServiceRequest`. */
export function flattenOtlp(request: unknown): StoredSpan[] {
  const body = request as OtlpExport;
  if (!body || typeof body !== "object" || !Array.isArray(body.resourceSpans)) throw new Error("no resourceSpans");
  const out: StoredSpan[] = [];
  for (const resourceSpans of body.resourceSpans) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    const service = typeof resource["service.name"] === "string" ? resource["service.name"] : "unknown_service";
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const start = String(span.startTimeUnixNano);
        const end = String(span.endTimeUnixNano);
        const parent = span.parentSpanId ? toHex(span.parentSpanId, 16) : "";
        out.push({
          traceId: toHex(span.traceId, 32),
          spanId: toHex(span.spanId, 16),
          ...(parent && !/^0+$/.test(parent) ? { parentSpanId: parent } : {}),
          name: span.name,
          kind: span.kind ?? 0,
          service,
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          durationMs: Number(BigInt(end) - BigInt(start)) / 1e6,
          attributes: attributesOf(span.attributes),
          status: { code: span.status?.code ?? 0, ...(span.status?.message ? { message: span.status.message } : {}) },
          events: (span.events ?? []).map((e) => ({ name: e.name, timeUnixNano: e.timeUnixNano === undefined ? undefined : String(e.timeUnixNano), attributes: attributesOf(e.attributes) })),
          links: (span.links ?? []).map((l) => ({ traceId: toHex(l.traceId, 32), spanId: toHex(l.spanId, 16) })),
        });
      }
    }
  }
  return out;
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

function valueOf(value: OtlpAnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue) return attributesOf(value.kvlistValue.values);
  return value.bytesValue;
}

/** OTLP JSON ids are hex; some senders use base64 (the protobuf JSON mapping): accept both. */
function toHex(id: string, hexLength: number): string {
  if (new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(id)) return id.toLowerCase();
  const bytes = Buffer.from(id, "base64");
  return bytes.length * 2 === hexLength ? bytes.toString("hex") : id;
}
