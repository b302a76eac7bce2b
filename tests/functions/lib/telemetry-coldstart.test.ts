/**
 * Cold-start cost of telemetry, measured on esbuild bundles built like the deployed ones (minified
 * CJS, node22, AWS SDK bundled), each run in a fresh Node process:
 * - baseline: Powertools logger + an SQS client, one log line per invocation;
 * - traced: the same through the traced shared client, inside `withInvocationSpan` with one child
 *   span, exporting over OTLP/HTTP to a local receiver and flushing before returning.
 * Prints module load and first-invocation times (medians) and the bundle sizes.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOtlpReceiver } from "../../../local/otlp-receiver";
import type { OtlpReceiver } from "../../../local/otlp-receiver";

const ROOT = path.resolve(__dirname, "../../..");
const DIR = path.join(ROOT, ".build", "telemetry-coldstart");
const lib = (name: string) => JSON.stringify(path.join(ROOT, "functions", "lib", name));
let receiver: OtlpReceiver;
let receiverDir: string;

const entries = {
  baseline: `
    import { SQSClient } from "@aws-sdk/client-sqs";
    import { createLogger } from ${lib("observability")};
    const logger = createLogger("coldstart");
    const sqs = new SQSClient({});
    export const handler = async (_event: unknown, context: { awsRequestId: string }) => {
      logger.info("invoked", { request: context.awsRequestId, region: typeof sqs.config.region });
      return "ok";
    };`,
  traced: `
    import { createLogger } from ${lib("observability")};
    import { sqsClient } from ${lib("aws/sqs")};
    import { withInvocationSpan } from ${lib("telemetry/invocation")};
    import { withSpan } from ${lib("telemetry/spans")};
    const logger = createLogger("coldstart");
    const sqs = sqsClient();
    export const handler = (_event: unknown, context: { awsRequestId: string }) =>
      withInvocationSpan({ name: "coldstart", trigger: "other", context }, () =>
        withSpan("work", {}, async () => {
          logger.info("invoked", { request: context.awsRequestId, region: typeof sqs.config.region });
          return "ok";
        }));`,
};

function bundle(name: string, source: string): { file: string; bytes: number } {
  const entry = path.join(DIR, `${name}.ts`);
  fs.writeFileSync(entry, source);
  const outfile = path.join(DIR, name, "index.js");
  buildSync({
    entryPoints: [entry], bundle: true, platform: "node", target: "node22", format: "cjs", minify: true, treeShaking: true,
    legalComments: "none", outfile, logLevel: "silent", mainFields: ["module", "main"],
  });
  return { file: outfile, bytes: fs.statSync(outfile).size };
}

const RUNNER = `
const started = performance.now();
const mod = require(process.argv[1]);
const loaded = performance.now();
mod.handler({}, { awsRequestId: "r-1" }).then(() => {
  const first = performance.now();
  return mod.handler({}, { awsRequestId: "r-2" }).then(() => {
    process.stdout.write("\\nRESULT " + JSON.stringify({ load: loaded - started, first: first - loaded, second: performance.now() - first }) + "\\n");
  });
});`;

type Timing = { load: number; first: number; second: number };

/** Runs a bundle in a fresh process (asynchronously: the receiver answers from this process). */
async function run(file: string): Promise<Timing> {
  const { stdout: out } = await promisify(execFile)(process.execPath, ["-e", RUNNER, file], {
    env: { PATH: process.env.PATH, AWS_REGION: "us-east-2", OTEL_SERVICE_NAME: "coldstart", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    encoding: "utf8",
  });
  const line = out.split("\n").find((l) => l.startsWith("RESULT "))!;
  return JSON.parse(line.slice(7)) as Timing;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

beforeAll(async () => {
  fs.mkdirSync(DIR, { recursive: true });
  receiverDir = fs.mkdtempSync(path.join(DIR, "spans-"));
  receiver = await startOtlpReceiver({ dir: receiverDir, stack: "coldstart" });
});
afterAll(async () => {
  await receiver.close();
  fs.rmSync(receiverDir, { recursive: true, force: true });
});

it("measures the cold-start cost of telemetry (load + first invocation with export and flush)", async () => {
  const baseline = bundle("baseline", entries.baseline);
  const traced = bundle("traced", entries.traced);
  const runs = { baseline: [] as Timing[], traced: [] as Timing[] };
  for (let i = 0; i < 7; i++) {
    runs.baseline.push(await run(baseline.file));
    runs.traced.push(await run(traced.file));
  }
  await receiver.flushed();
  const summary = (xs: Timing[]) => ({ load: median(xs.map((x) => x.load)), first: median(xs.map((x) => x.first)), second: median(xs.map((x) => x.second)) });
  const b = summary(runs.baseline);
  const t = summary(runs.traced);
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    [
      "telemetry cold-start (medians of 7 fresh processes)",
      `  baseline: load ${ms(b.load)}, first invocation ${ms(b.first)}, warm ${ms(b.second)}, bundle ${(baseline.bytes / 1024).toFixed(0)} KB`,
      `  traced:   load ${ms(t.load)}, first invocation ${ms(t.first)} (span + OTLP export + flush), warm ${ms(t.second)}, bundle ${(traced.bytes / 1024).toFixed(0)} KB`,
      `  overhead: load +${ms(t.load - b.load)}, first invocation +${ms(t.first - b.first)}, total cold +${ms(t.load + t.first - b.load - b.first)}, warm +${ms(t.second - b.second)}, bundle +${((traced.bytes - baseline.bytes) / 1024).toFixed(0)} KB`,
    ].join("\n"),
  );
  // Every traced run exported its spans (2 invocations × 2 spans) before returning.
  expect(receiver.spans().filter((s) => s.service === "coldstart")).toHaveLength(7 * 4);
  // A generous bound: the point is the printed number, but a regression to seconds must fail.
  expect(t.load + t.first - b.load - b.first).toBeLessThan(1000);
});
