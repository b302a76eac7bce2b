/**
 * The local cloud: runs the Pulumi program for a stack under the SDK's mock runtime and deploys
 * every resource it declares onto in-process emulators on 127.0.0.1 (fauxqs for SNS/SQS, dynalite
 * for DynamoDB, aws-local-stepfunctions behind a Step Functions API), then serves what was
 * deployed: functions from their built bundles, SQS event source mappings, state machines and the
 * REST API. The program is the single description of the wiring; nothing here names a resource.
 *
 * `startLocalCloud` is what `npm start` (local/main.ts) and the integration tests use.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DeclaredResource } from "../runner/run-program";
import { deployLocally } from "./deploy";
import type { LocalDeploy } from "./deploy";
import type { TopicDeliveryCounts } from "./emulators";
import type { FaultInjector } from "./faults/injector";
import type { FaultSpec } from "./faults/spec";
import { startOtlpReceiver } from "./otlp-receiver";
import type { OtlpReceiver, StoredSpan } from "./otlp-receiver";
import type { LocalIam } from "./iam";
import type { ConcurrencySnapshot } from "./runtime/account-concurrency";
import { lineWriter } from "./runtime/line-writer";
import { startStatusServer } from "./runtime/status";
import type { StatusServer } from "./runtime/status";
import { acquireCloudLock, iamUsagePath, localOutputsPath, StackOutputsFile } from "./outputs";
import type { ApiGatewayRegistry } from "./services/api-gateway";
import type { TimingOverrides } from "./services/stepfunctions";

export interface LocalCloudOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is deployed. @default "dev" */
  stack?: string;
  /** Config overrides, like `pulumi config set` (`key` means `<project>:key`). @default {} */
  config?: Record<string, string>;
  /**
   * Where to write the outputs file; `false` writes none. A written file is guarded by a lock beside
   * it (`cloud.pid`): a second cloud for the same directory is refused with
   * `LocalCloudRunningError` while this one runs. `stop()` (or this process exiting) removes both.
   * @default `.local/<stack>/outputs.json` (`$LOCAL_CLOUD_DIR/<stack>/outputs.json` when set)
   */
  outputsFile?: string | false;
  /** Receives function logs and local cloud warnings, one line each. @default stdout, one write per event-loop turn (`runtime/line-writer.ts`) */
  log?: (line: string) => void;
  /** Step Functions retry and Wait timing overrides (tests). @default {} (AWS timing) */
  timing?: TimingOverrides;
  /**
   * Traces: the functions export to a local OTLP receiver (what the collector layer is on AWS),
   * which stores spans in `.local/<stack>/spans.jsonl` for `npm run traces`. `false` disables
   * tracing in the functions (`OTEL_SDK_DISABLED=true`).
   * @default true
   */
  traces?: boolean;
  /**
   * Faults to inject from the start (`local/faults/spec.ts`); changed while running through the
   * control endpoint (`faultControlUrl` in the outputs).
   * @default no faults
   * @example parseFaultSpec("functions=crash:0.1;dynamodb=throttle:0.1;seed=7")
   */
  faults?: FaultSpec;
  /**
   * Enforce IAM (`local/iam`): each function, the state machine, API Gateway and SNS act as their
   * roles and resource policies allow; `false` lets every call through (`npm start -- --no-iam`).
   * @default true
   */
  iam?: boolean;
  /**
   * Most function environments alive at once across all functions, like an account's concurrency
   * limit (`local/runtime/account-concurrency.ts`).
   * @default from the machine's cores and memory: 8 on 2 cores
   */
  concurrency?: number;
  /** Export to this OTLP/HTTP endpoint instead of starting a receiver. @default undefined */
  otlpEndpoint?: string;
  /**
   * Root of the tree the receiver writes `<stack>/spans.jsonl` under (tests use a temporary one so
   * they do not append to `npm start`'s file).
   * @default the repository's `.local`
   */
  spansDir?: string;
}

export interface LocalCloud {
  stack: string;
  /** The outputs file contents: stack outputs plus `region`, `awsEndpoints` and, when tracing, `otlpEndpoint`. */
  outputs: StackOutputsFile;
  /** Where the outputs were written, if anywhere. */
  outputsFile?: string;
  /** Every resource the program declared, as provisioned. */
  resources: DeclaredResource[];
  /** Types accepted but not emulated, with counts. */
  notEmulated: Map<string, number>;
  /** Types the local cloud does not know, with counts. */
  unknown: Map<string, number>;
  /** The file spans are stored in, when this cloud runs the OTLP receiver. */
  spansFile?: string;
  /** The spans the receiver has got so far (in memory; empty without a receiver). */
  spans(): StoredSpan[];
  /** SNS's delivery metrics of a topic (failed, dead-lettered, lost), as the local SNS counted them. */
  deliveryCounts(topicArn: string): TopicDeliveryCounts;
  /** Milliseconds from the call to ready. */
  bootMs: number;
  /** The fault injector (what is in force, and what was injected). */
  faults: FaultInjector;
  /** IAM: credentials per role session, and the usage (`iam.usage`: allowed and denied calls). */
  iam: LocalIam;
  /** The account's concurrency now: limit, environments alive, invocations waiting, reclaimed, throttled. */
  concurrency(): ConcurrencySnapshot;
  /**
   * Stops pollers (after their in-flight batch), functions, API servers and emulators, then removes
   * the outputs file and its lock (the addresses in it are dead). The spans file stays.
   */
  stop(): Promise<void>;
}

/** Deploys a stack locally and starts serving it. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const started = Date.now();
  const stack = options.stack ?? "dev";
  const log = options.log ?? defaultLog();
  const outputsFile = options.outputsFile === false ? undefined : path.resolve(options.outputsFile ?? localOutputsPath(stack));
  // Before anything listens: a second cloud for the same outputs is refused at once.
  const files = outputsFile ? ownedFiles(outputsFile, acquireCloudLock(outputsFile, stack)) : undefined;
  let receiver: OtlpReceiver | undefined;
  let local: LocalDeploy | undefined;
  let status: StatusServer | undefined;
  const stop = async () => {
    await local?.stop();
    await status?.close();
    if (receiver) await receiver.flushed().then(() => receiver!.close()).catch(() => undefined);
    files?.remove();
  };
  try {
    receiver = options.traces === false || options.otlpEndpoint ? undefined : await startOtlpReceiver({ stack, dir: options.spansDir });
    const otlpEndpoint = options.traces === false ? undefined : (options.otlpEndpoint ?? receiver?.url);
    local = await deployLocally({ stack, config: options.config, log, timing: options.timing, faults: options.faults, otlpEndpoint, iam: options.iam, iamUsageFile: outputsFile ? iamUsagePath(outputsFile) : undefined, ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}) });
    local.startMappings();
    const account = local.account;
    status = await startStatusServer(() => account.snapshot());
    const { run, apis, emulators, faults, deployment } = local;
    const programOutputs = localizeApiUrls(run.outputs, apis) as Record<string, unknown>;
    // `otlpEndpoint` lets clients outside the cloud (`npm run tx`) export to the same receiver, so
    // their spans and the functions' land in one trace.
    const outputs = StackOutputsFile.parse({
      ...programOutputs,
      region: local.region,
      awsEndpoints: { ...emulators.endpoints },
      ...(otlpEndpoint ? { otlpEndpoint } : {}),
      faultControlUrl: faults.controlUrl,
      functionEndpoints: { ...faults.functionEndpoints },
      ...(local.iam.enabled ? { localRoleCredentials: local.iam.functionCredentials() } : {}),
      localStatusUrl: status.url,
    });
    if (outputsFile) {
      fs.mkdirSync(path.dirname(outputsFile), { recursive: true });
      fs.writeFileSync(outputsFile, `${JSON.stringify(outputs, null, 2)}\n`, { mode: 0o600 });
    }
    const spansOf = receiver;
    return {
      stack,
      outputs,
      outputsFile,
      resources: run.resources,
      notEmulated: deployment.accepted,
      unknown: deployment.unknown,
      spansFile: spansOf?.file,
      spans: () => spansOf?.spans() ?? [],
      deliveryCounts: (topicArn) => emulators.snsSqs.deliveryCounts(topicArn),
      bootMs: Date.now() - started,
      faults: faults.injector,
      iam: local.iam,
      concurrency: () => account.snapshot(),
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * An output built as API Gateway's default URL (`https://<api id>.execute-api.<region>.amazonaws.com/<stage>`)
 * rather than from the stage's `invokeUrl` is turned into that API's local address.
 */
export function localizeApiUrls(value: unknown, apis: ApiGatewayRegistry): unknown {
  if (typeof value === "string") {
    const match = /^https:\/\/([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\/.*)?$/.exec(value);
    const api = match?.[1] ? apis.apis.get(match[1]) : undefined;
    return api ? `http://127.0.0.1:${api.port}${match?.[2] ?? ""}` : value;
  }
  if (Array.isArray(value)) return value.map((v) => localizeApiUrls(v, apis));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, localizeApiUrls(v, apis)]));
  return value;
}

/**
 * The outputs file and its lock belong to this cloud until it stops: `remove()` deletes both, and
 * so does this process exiting without a stop (a second Ctrl-C, an uncaught error), since its
 * addresses die with it. Only a kill that runs no exit handler (SIGKILL) leaves them behind; the
 * next start takes the stale lock over.
 */
function ownedFiles(outputsFile: string, releaseLock: () => void): { remove(): void } {
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off("exit", remove);
    fs.rmSync(outputsFile, { force: true });
    releaseLock();
  };
  process.on("exit", remove);
  return { remove };
}

let stdoutWriter: ReturnType<typeof lineWriter> | undefined;
/** One batching writer for stdout, shared by every cloud of this process (lines stay in order). */
function defaultLog(): (line: string) => void {
  stdoutWriter ??= lineWriter(process.stdout);
  return stdoutWriter;
}
