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
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { runProgram } from "../runner/run-program";
import type { DeclaredResource } from "../runner/run-program";
import { readStackConfig } from "../runner/stack-config";
import type { EmulatorEndpoints, Emulators, TopicDeliveryCounts } from "./emulators";
import { awsClientConfig, startEmulators } from "./emulators";
import { startFaults } from "./faults";
import type { LocalFaults } from "./faults";
import type { FaultInjector } from "./faults/injector";
import { noFaults } from "./faults/spec";
import type { FaultSpec } from "./faults/spec";
import { startOtlpReceiver } from "./otlp-receiver";
import type { OtlpReceiver, StoredSpan } from "./otlp-receiver";
import { acquireCloudLock, localOutputsPath, StackOutputsFile } from "./outputs";
import { LocalDeployment } from "./provision/context";
import { localProvisioner } from "./provision/index";
import { registerServiceIntegrations } from "./provision/sfn";
import type { SqsPoller } from "./runtime/sqs-poller";
import { startSqsPoller } from "./runtime/sqs-poller";
import { ApiGatewayRegistry } from "./services/api-gateway";
import type { LambdaInvoker } from "./services/api-gateway";
import { LOCAL_ACCOUNT_ID } from "./services/stepfunctions";
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
  /** Receives function logs and local cloud warnings, one line each. @default console.log */
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
  const log = options.log ?? ((line: string) => console.log(line));
  const region = regionOf(stack, options.config ?? {});
  const outputsFile = options.outputsFile === false ? undefined : path.resolve(options.outputsFile ?? localOutputsPath(stack));
  // Before anything listens: a second cloud for the same outputs is refused at once.
  const files = outputsFile ? ownedFiles(outputsFile, acquireCloudLock(outputsFile, stack)) : undefined;
  const [emulators, receiver] = await Promise.all([
    startEmulators({
      region,
      timing: options.timing,
      // SNS delivers only where a queue policy admits it, and a refused delivery is dead-lettered, as on AWS.
      enforceQueuePolicies: true,
      onDeliveryFailure: (f) =>
        log(`[sns] delivery from ${f.topicArn} to ${f.endpoint} failed (${f.reason}): ${f.deadLetteredTo ? `moved to the subscription's dead-letter queue ${f.deadLetteredTo}` : `discarded${f.deadLetterFailure ? `, not even dead-lettered (${f.deadLetterFailure})` : " (the subscription has no dead-letter queue)"}`}`),
    }),
    options.traces === false || options.otlpEndpoint ? undefined : startOtlpReceiver({ stack, dir: options.spansDir }),
  ]).catch((error: unknown) => {
    files?.remove();
    throw error;
  });
  const otlpEndpoint = options.traces === false ? undefined : (options.otlpEndpoint ?? receiver?.url);
  const faults = await startFaults(options.faults ?? noFaults(), emulators.endpoints, log);
  const clientConfig = (endpoint: string) => awsClientConfig(endpoint, region);
  const clients = {
    sns: new SNSClient(clientConfig(emulators.endpoints.sns)),
    sqs: new SQSClient(clientConfig(emulators.endpoints.sqs)),
    dynamodb: new DynamoDBClient(clientConfig(emulators.endpoints.dynamodb)),
    sfn: new SFNClient(clientConfig(emulators.endpoints.stepfunctions)),
  };
  const apis: ApiGatewayRegistry = new ApiGatewayRegistry({
    region,
    accountId: LOCAL_ACCOUNT_ID,
    resolveFunction: (arn): LambdaInvoker | undefined => deployment.findFunction(arn)?.host,
    log,
  });
  const deployment: LocalDeployment = new LocalDeployment(
    {
      region,
      accountId: LOCAL_ACCOUNT_ID,
      endpoints: emulators.endpoints,
      clients,
      functionEnvironment: functionEnvironment(faults.functionEndpoints, region, otlpEndpoint),
      faults: faults.injector,
      parameters: emulators.ssm,
      log,
    },
    apis,
  );
  const pollers: SqsPoller[] = [];
  const stop = stopper(deployment, pollers, apis, emulators, faults, Object.values(clients), receiver, files);

  try {
    registerServiceIntegrations(emulators.stepFunctions, deployment);
    const run = await runWithProvisioner(stack, options.config ?? {}, localProvisioner(deployment));
    startMappings(deployment, pollers, log);
    const programOutputs = localizeApiUrls(run.outputs, apis) as Record<string, unknown>;
    // `otlpEndpoint` lets clients outside the cloud (`npm run tx`) export to the same receiver, so
    // their spans and the functions' land in one trace.
    const outputs = StackOutputsFile.parse({
      ...programOutputs,
      region,
      awsEndpoints: { ...emulators.endpoints },
      ...(otlpEndpoint ? { otlpEndpoint } : {}),
      faultControlUrl: faults.controlUrl,
    });
    if (outputsFile) {
      fs.mkdirSync(path.dirname(outputsFile), { recursive: true });
      fs.writeFileSync(outputsFile, `${JSON.stringify(outputs, null, 2)}\n`, { mode: 0o600 });
    }
    return {
      stack,
      outputs,
      outputsFile,
      resources: run.resources,
      notEmulated: deployment.accepted,
      unknown: deployment.unknown,
      spansFile: receiver?.file,
      spans: () => receiver?.spans() ?? [],
      deliveryCounts: (topicArn) => emulators.snsSqs.deliveryCounts(topicArn),
      bootMs: Date.now() - started,
      faults: faults.injector,
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

/** The stack's region: an override, else `aws:region` from `Pulumi.<stack>.yaml`. */
function regionOf(stack: string, config: Record<string, string>): string {
  return config["aws:region"] ?? readStackConfig(stack)["aws:region"] ?? "us-east-1";
}

/**
 * Runs the program; a provisioner error fails the run at once (under the mock runtime it would
 * otherwise leave an output unresolved forever).
 */
async function runWithProvisioner(
  stack: string,
  config: Record<string, string>,
  provision: (args: MockResourceArgs) => Promise<MockResourceResult>,
): Promise<Awaited<ReturnType<typeof runProgram>>> {
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const guarded = async (args: MockResourceArgs) => {
    try {
      return await provision(args);
    } catch (error) {
      fail(error);
      throw error;
    }
  };
  return Promise.race([runProgram({ stack, config, accountId: LOCAL_ACCOUNT_ID, provision: guarded }), failed]);
}

/**
 * What every function gets on top of its own environment, so the unchanged handlers reach the
 * emulators (through the fault proxies).
 */
function functionEnvironment(endpoints: EmulatorEndpoints, region: string, otlpEndpoint: string | undefined): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SFN: endpoints.stepfunctions,
    AWS_ENDPOINT_URL_SSM: endpoints.ssm,
    // The local OTLP receiver stands in for the collector layer's localhost:4318.
    ...(otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" } : { OTEL_SDK_DISABLED: "true" }),
  };
}

/** Starts one poller per enabled SQS event source mapping. */
function startMappings(deployment: LocalDeployment, pollers: SqsPoller[], log: (line: string) => void): void {
  for (const mapping of deployment.mappings) {
    if (!mapping.enabled) continue;
    const queue = deployment.queues.get(mapping.eventSourceArn);
    const fn = deployment.findFunction(mapping.functionName);
    if (!queue || !fn) {
      log(`[local cloud] event source mapping ${mapping.uuid}: ${queue ? `no function ${mapping.functionName}` : `no queue ${mapping.eventSourceArn}`}; not started`);
      continue;
    }
    // Without ReportBatchItemFailures, Lambda ignores a batchItemFailures answer: a successful
    // invocation deletes the whole batch.
    const host = mapping.reportBatchItemFailures ? fn.host : { invoke: async (event: unknown) => void (await fn.host.invoke(event)) };
    pollers.push(
      startSqsPoller({
        queueUrl: queue.url,
        eventSourceArn: queue.arn,
        sqsClient: deployment.clients.sqs,
        host,
        region: deployment.region,
        batchSize: mapping.batchSize,
        maximumConcurrency: mapping.maximumConcurrency,
        onError: (error) => log(`[${fn.name} poller] ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
      }),
    );
  }
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

function stopper(
  deployment: LocalDeployment,
  pollers: SqsPoller[],
  apis: ApiGatewayRegistry,
  emulators: Emulators,
  faults: LocalFaults,
  clients: { destroy(): void }[],
  receiver: OtlpReceiver | undefined,
  files: { remove(): void } | undefined,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      // Pollers first (they finish their in-flight batch, which needs the functions and emulators),
      // then the API, the functions, and the emulators last.
      await Promise.allSettled(pollers.map((p) => p.stop()));
      await apis.stop().catch(() => undefined);
      await Promise.allSettled(deployment.allFunctions().map((f) => f.host.stop()));
      await faults.stop();
      await emulators.stop().catch(() => undefined);
      if (receiver) await receiver.flushed().then(() => receiver.close()).catch(() => undefined);
      for (const client of clients) client.destroy();
      files?.remove();
    })());
}
