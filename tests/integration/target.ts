/**
 * The integration suite's target: a stack's outputs, and nothing else. The suite talks to what they
 * name with the AWS SDK and HTTP only, so the same assertions run on both targets:
 * - `OUTPUTS_FILE=<file>` (what `npm run test:deployed -- <file>` sets): a deployed stack, from
 *   `pulumi stack output --json --show-secrets --stack <stack> > <file>`;
 * - otherwise a local cloud of the `dev` stack, started for the test file and stopped after it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { DeniedCall } from "../../local/iam/usage";
import type { StackOutputsFile } from "../../local/outputs";
import { clientConfig, readStackOutputs } from "../../local/outputs";

export interface Target {
  outputs: StackOutputsFile;
  /** True when the suite started a local cloud for this file. */
  local: boolean;
  /** Unique per test file run: keeps ids apart on a shared deployed stack. */
  runId: string;
  sns: SNSClient;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  /** The local cloud's last log lines (function logs), to print when a test fails. */
  recentLogs(): string[];
  /** Whether IAM is enforced on the calls the program makes (the local cloud's; a deployed stack's always is). */
  iamEnforced: boolean;
  /** The calls IAM refused so far (the local cloud's record; none known of a deployed stack). */
  deniedCalls(): DeniedCall[];
  stop(): Promise<void>;
}

const KEEP_LOG_LINES = 300;

export async function openTarget(): Promise<Target> {
  const runId = randomUUID().slice(0, 8);
  const logs: string[] = [];
  const file = process.env.OUTPUTS_FILE;
  let outputs: StackOutputsFile;
  let stopCloud = async (): Promise<void> => undefined;
  let deniedCalls = (): DeniedCall[] => [];
  let iamEnforced = true;
  if (file) {
    outputs = readStackOutputs(file);
  } else {
    // Imported only here: a deployed run never loads the Pulumi program.
    const { startLocalCloud } = await import("../../local/cloud");
    const cloud = await startLocalCloud({
      stack: "dev",
      config: { accountFingerprintKey: randomBytes(32).toString("hex") },
      outputsFile: false,
      // The exporter still runs in the functions only where a receiver listens; keep the suite lean.
      traces: false,
      log: (line) => {
        logs.push(line);
        if (logs.length > KEEP_LOG_LINES) logs.shift();
        if (process.env.LOCAL_CLOUD_LOGS) console.log(line);
      },
    });
    outputs = cloud.outputs;
    deniedCalls = () => cloud.iam.usage.deniedCalls();
    iamEnforced = cloud.iam.enabled;
    stopCloud = async () => {
      await cloud.stop();
      // IAM_USAGE_DIR=<dir>: keep what each role used, for `npm run iam-report -- --usage <dir>/*.json`.
      const dir = process.env.IAM_USAGE_DIR;
      if (dir) {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `iam-usage-${runId}.json`), `${JSON.stringify(cloud.iam.usage.snapshot(), null, 2)}\n`);
      }
    };
  }
  const sns = new SNSClient(clientConfig(outputs, "sns"));
  const sqs = new SQSClient(clientConfig(outputs, "sqs"));
  const dynamoClient = new DynamoDBClient(clientConfig(outputs, "dynamodb"));
  const dynamo = DynamoDBDocumentClient.from(dynamoClient);
  return {
    outputs,
    local: !file,
    runId,
    sns,
    sqs,
    dynamo,
    recentLogs: () => [...logs],
    iamEnforced,
    deniedCalls: () => deniedCalls(),
    stop: async () => {
      sns.destroy();
      sqs.destroy();
      dynamo.destroy();
      await stopCloud();
    },
  };
}

/**
 * Polls `probe` until it returns something other than `undefined`, or fails with the last reason.
 * @param timeoutMs - @default 60000
 * @param intervalMs - @default 250
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
