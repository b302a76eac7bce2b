/**
 * The local OTLP receiver with the functions' real exporter (OTLP/HTTP JSON): spans kept in memory
 * and appended to `.local/<stack>/spans.jsonl`, parentage intact; other encodings and paths refused.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ATTR } from "../../functions/lib/telemetry/attributes";
import { injectIntoMessageAttributes } from "../../functions/lib/telemetry/propagation";
import { flushTelemetry, setupTelemetry } from "../../functions/lib/telemetry/provider";
import { withSpan } from "../../functions/lib/telemetry/spans";
import { withMessageSpan, withSqsInvocationSpan } from "../../functions/lib/telemetry/sqs";
import { flattenOtlp, startOtlpReceiver } from "../../local/otlp-receiver";
import type { OtlpReceiver } from "../../local/otlp-receiver";

let dir: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "otlp-"));
  receiver = await startOtlpReceiver({ stack: "test", dir });
  setupTelemetry({ exporter: new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }), serviceName: "receiver-test" });
});
afterAll(async () => {
  await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const post = (pathName: string, body: Buffer | string, headers: Record<string, string>) =>
  fetch(`${receiver.url}${pathName}`, { method: "POST", body, headers });

describe("OTLP receiver", () => {
  it("binds 127.0.0.1 on a free port and writes under .local/<stack>", () => {
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(receiver.file).toBe(path.join(dir, "test", "spans.jsonl"));
  });

  it("receives what the exporter sends (JSON), keeps it in memory and appends it to spans.jsonl, parentage intact", async () => {
    const transactionId = "c05e6e0c-6feb-4891-8940-46f2f85e0df1";
    let attributes: Record<string, { DataType: string; StringValue?: string }> = {};
    await withSpan("publish", { attributes: { [ATTR.transactionId]: transactionId } }, () => {
      attributes = injectIntoMessageAttributes({ transaction_type: { DataType: "String", StringValue: "payment" } });
    });
    const record = {
      messageId: "m-1",
      body: "{}",
      eventSourceARN: "arn:aws:sqs:us-east-2:123456789012:payments.fifo",
      attributes: { MessageGroupId: "CUST-1", ApproximateReceiveCount: "1" },
      messageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { dataType: v.DataType, stringValue: v.StringValue }])),
    };
    await withSqsInvocationSpan("payment-processing", [record], { awsRequestId: "r-1" }, () =>
      withMessageSpan(record, async (span) => {
        span.setAttribute(ATTR.transactionId, transactionId);
        await withSpan("DynamoDB.PutItem", {}, () => undefined);
      }),
    );
    await flushTelemetry();
    await receiver.flushed();

    const spans = receiver.spans();
    expect(spans.map((s) => s.name).sort()).toEqual(["DynamoDB.PutItem", "payment-processing", "process payments.fifo", "publish"]);
    expect(spans.find((s) => s.name === "payment-processing")!.parentSpanId).toBe(spans.find((s) => s.name === "publish")!.spanId);
    const byName = Object.fromEntries(spans.map((s) => [s.name, s]));
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(byName["process payments.fifo"]!.parentSpanId).toBe(byName["payment-processing"]!.spanId);
    expect(byName["DynamoDB.PutItem"]!.parentSpanId).toBe(byName["process payments.fifo"]!.spanId);
    expect(byName.publish!.parentSpanId).toBeUndefined();
    expect(byName["payment-processing"]!.links).toEqual([{ traceId: byName.publish!.traceId, spanId: byName.publish!.spanId }]);
    expect(byName["process payments.fifo"]!.attributes).toMatchObject({ [ATTR.messagingSystem]: "aws_sqs", [ATTR.transactionId]: transactionId });
    expect(byName["payment-processing"]!).toMatchObject({ service: "receiver-test", kind: 5 });
    expect(byName["payment-processing"]!.durationMs).toBeGreaterThanOrEqual(0);

    const lines = fs.readFileSync(receiver.file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => (JSON.parse(l) as { spanId: string }).spanId).sort()).toEqual(spans.map((s) => s.spanId).sort());
  });

  it("writes every span of concurrent exports to the file, each export's spans together, by the time flushed() resolves", async () => {
    const exportOf = (i: number) =>
      JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "burst" } }] }, scopeSpans: [{ spans: [0, 1].map((j) => ({ traceId: `${String(i).padStart(8, "0")}${"c".repeat(24)}`, spanId: `${String(j).padStart(2, "0")}${"d".repeat(14)}`, name: `burst-${i}-${j}`, kind: 1, startTimeUnixNano: "1000000", endTimeUnixNano: "2000000" })) }] }] });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post("/v1/traces", exportOf(i), { "content-type": "application/json" })));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    await receiver.flushed();
    const names = fs.readFileSync(receiver.file, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { name: string }).name).filter((n) => n.startsWith("burst-"));
    expect([...names].sort()).toEqual(Array.from({ length: 40 }, (_, i) => [`burst-${i}-0`, `burst-${i}-1`]).flat().sort());
    for (let i = 0; i < 40; i++) expect(names.indexOf(`burst-${i}-1`)).toBe(names.indexOf(`burst-${i}-0`) + 1);
  });

  it("accepts gzip, refuses protobuf with the setting to change, and answers 404/400 to the rest", async () => {
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "gz" } }] }, scopeSpans: [{ spans: [{ traceId: "6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa", spanId: "bbbbbbbbbbbbbbbb", name: "zipped", kind: 1, startTimeUnixNano: "1000000", endTimeUnixNano: "3000000" }] }] }] });
    const ok = await post("/v1/traces", gzipSync(body), { "content-type": "application/json", "content-encoding": "gzip" });
    expect(ok.status).toBe(200);
    expect(receiver.spans().find((s) => s.name === "zipped")).toMatchObject({ service: "gz", durationMs: 2 });
    const proto = await post("/v1/traces", Buffer.from([1, 2, 3]), { "content-type": "application/x-protobuf" });
    expect(proto.status).toBe(415);
    expect(await proto.text()).toContain("OTEL_EXPORTER_OTLP_PROTOCOL=http/json");
    expect((await post("/v1/metrics", "{}", { "content-type": "application/json" })).status).toBe(404);
    expect((await post("/v1/traces", "nope", { "content-type": "application/json" })).status).toBe(400);
  });

  it("flattens base64 ids, typed attribute values and events", () => {
    const [span] = flattenOtlp({
      resourceSpans: [{
        scopeSpans: [{
          spans: [{
            traceId: Buffer.from("6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa", "hex").toString("base64"),
            spanId: Buffer.from("bbbbbbbbbbbbbbbb", "hex").toString("base64"),
            parentSpanId: "",
            name: "x",
            startTimeUnixNano: 1,
            endTimeUnixNano: 2,
            attributes: [{ key: "i", value: { intValue: "7" } }, { key: "b", value: { boolValue: false } }, { key: "a", value: { arrayValue: { values: [{ stringValue: "s" }] } } }],
            status: { code: 2, message: "bad" },
            events: [{ name: "exception", attributes: [{ key: "exception.message", value: { stringValue: "bad" } }] }],
          }],
        }],
      }],
    });
    expect(span).toMatchObject({
      traceId: "6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa", spanId: "bbbbbbbbbbbbbbbb", service: "unknown_service",
      attributes: { i: 7, b: false, a: ["s"] }, status: { code: 2, message: "bad" }, events: [{ name: "exception", attributes: { "exception.message": "bad" } }],
    });
    expect(span!.parentSpanId).toBeUndefined();
  });
});
