/**
 * Deploys a stack's program onto fresh local emulators: runs it under the mock runtime with the
 * local provisioners (every table, queue, topic, function, mapping, state machine and API the
 * program declares is created from its own inputs), behind the gateway (IAM, then faults), and returns what was
 * deployed. Event source mappings are started on request.
 *
 * The local cloud (`cloud.ts`: plus the OTLP receiver, the outputs file and its lock) and the tests
 * that run functions against the program's own wiring (`tests/support/local-program.ts`) both
 * deploy through here, so there is one description of how a program becomes a local deployment.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { runProgram } from "../runner/run-program";
import type { ProgramRun } from "../runner/run-program";
import { readStackConfig } from "../runner/stack-config";
import type { EmulatorEndpoints, Emulators } from "./emulators";
import { awsClientConfig, startEmulators } from "./emulators";
import { startFaults } from "./faults";
import type { LocalFaults } from "./faults";
import { noFaults } from "./faults/spec";
import type { FaultSpec } from "./faults/spec";
import { LocalIam } from "./iam";
import { iamHooks } from "./iam/hooks";
import type { LocalEventSourceMapping } from "./provision/context";
import { LocalDeployment } from "./provision/context";
import { localProvisioner } from "./provision/index";
import { registerServiceIntegrations } from "./provision/sfn";
import type { BatchOutcome, SqsPoller } from "./runtime/sqs-poller";
import { startSqsPoller } from "./runtime/sqs-poller";
import { AccountConcurrency } from "./runtime/account-concurrency";
import { ApiGatewayRegistry } from "./services/api-gateway";
import type { LambdaInvoker } from "./services/api-gateway";
import { LOCAL_ACCOUNT_ID } from "./services/stepfunctions";
import type { TimingOverrides } from "./services/stepfunctions";

export interface LocalDeployOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is read. @default "dev" */
  stack?: string;
  /** Config overrides, like `pulumi config set` (`key` means `<project>:key`). @default {} */
  config?: Record<string, string>;
  /** Receives function logs and local cloud warnings, one line each. @default console.log */
  log?: (line: string) => void;
  /** Step Functions retry and Wait timing overrides (tests). @default {} (AWS timing) */
  timing?: TimingOverrides;
  /** Faults from the start (`faults/spec.ts`). @default no faults */
  faults?: FaultSpec;
  /**
   * Most function environments alive at once across all functions (`runtime/account-concurrency.ts`).
   * @default from the machine's cores and memory (`defaultAccountConcurrency`)
   */
  concurrency?: number;
  /** Where the functions export traces; without one, tracing is off in the functions. @default undefined */
  otlpEndpoint?: string;
  /** Variables every function gets on top of its own and the runtime's (e.g. `POWERTOOLS_LOG_LEVEL`). @default {} */
  environment?: Record<string, string>;
  /**
   * Wraps the local provisioner, e.g. to adjust a resource's inputs before it is created (tests).
   * @default the provisioner itself
   */
  provision?: (next: (args: MockResourceArgs) => Promise<MockResourceResult>) => (args: MockResourceArgs) => Promise<MockResourceResult>;
  /** Enforce IAM on every call of the functions, the state machine, API Gateway and SNS (`local/iam`). @default true */
  iam?: boolean;
  /** Where IAM writes what each role used and was refused (`iam-usage.json`). @default nowhere */
  iamUsageFile?: string;
}

export interface LocalDeploy {
  stack: string;
  region: string;
  emulators: Emulators;
  faults: LocalFaults;
  /** IAM: the credentials per role session, the usage, the refusals. */
  iam: LocalIam;
  /** The bound on all functions' environments together. */
  account: AccountConcurrency;
  clients: { sns: SNSClient; sqs: SQSClient; dynamodb: DynamoDBClient; sfn: SFNClient };
  apis: ApiGatewayRegistry;
  deployment: LocalDeployment;
  /** The program run: settings, every resource as provisioned, the outputs. */
  run: ProgramRun;
  /**
   * Starts one event source mapping as the program declared it (batch size, maximum concurrency,
   * partial batch responses); `stop()` stops it.
   */
  startMapping(mapping: LocalEventSourceMapping, onBatch?: (outcome: BatchOutcome) => void): SqsPoller | undefined;
  /** Starts every enabled mapping. */
  startMappings(): void;
  /** Stops pollers (after their in-flight batch), the API, the functions, the fault proxies and the emulators. */
  stop(): Promise<void>;
}

/** The stack's region: an override, else `aws:region` from `Pulumi.<stack>.yaml`. */
export function regionOf(stack: string, config: Record<string, string>): string {
  return config["aws:region"] ?? readStackConfig(stack)["aws:region"] ?? "us-east-1";
}

/** Deploys the program locally; call `stop()` when done. */
export async function deployLocally(options: LocalDeployOptions = {}): Promise<LocalDeploy> {
  const stack = options.stack ?? "dev";
  const config = options.config ?? {};
  const log = options.log ?? ((line: string) => console.log(line));
  const region = regionOf(stack, config);
  const iam = new LocalIam({ enabled: options.iam ?? true, account: LOCAL_ACCOUNT_ID, region, log, usageFile: options.iamUsageFile });
  const emulators = await startEmulators({
    region,
    timing: options.timing,
    // SNS delivers only where a queue policy admits it, and a refused delivery is dead-lettered, as on AWS.
    enforceQueuePolicies: iam.enabled,
    authorizeDelivery: (queueArn, topicArn, queuePolicy) => iam.snsDeliveryRefusal(queueArn, topicArn, queuePolicy),
    onDeliveryFailure: (f) =>
      log(`[sns] delivery from ${f.topicArn} to ${f.endpoint} failed (${f.reason}): ${f.deadLetteredTo ? `moved to the subscription's dead-letter queue ${f.deadLetteredTo}` : `discarded${f.deadLetterFailure ? `, not even dead-lettered (${f.deadLetterFailure})` : " (the subscription has no dead-letter queue)"}`}`),
  });
  const account = new AccountConcurrency(options.concurrency !== undefined ? { limit: options.concurrency } : {});
  // Step Functions runs in this process: the gateway calls it directly rather than over loopback HTTP.
  const faults = await startFaults(options.faults ?? noFaults(), emulators.endpoints, log, (service, operation, request, parameters) => iam.guard(service, operation, request, parameters), {
    stepfunctions: (method, headers, body) => emulators.stepFunctions.answer(method, headers, body),
  });
  const hooks = iamHooks(iam, faults.functionEndpoints, region);
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
    authorizeInvoke: (functionArn, sourceArn) => iam.apiGatewayInvokeRefusal(deployment.findFunction(functionArn)?.arn ?? functionArn, sourceArn)?.message,
    log,
  });
  const deployment: LocalDeployment = new LocalDeployment(
    {
      region,
      accountId: LOCAL_ACCOUNT_ID,
      endpoints: emulators.endpoints,
      clients,
      functionEnvironment: { ...functionEnvironment(faults.functionEndpoints, region, options.otlpEndpoint), ...options.environment },
      faults: faults.injector,
      account,
      parameters: emulators.ssm,
      log,
      iam: hooks,
    },
    apis,
  );
  const pollers: SqsPoller[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Pollers first (they finish their in-flight batch, which needs the functions and emulators),
      // then the API, the functions, the proxies, and the emulators last.
      await Promise.allSettled(pollers.map((p) => p.stop()));
      await apis.stop().catch(() => undefined);
      await Promise.allSettled(deployment.allFunctions().map((f) => f.host.stop()));
      await faults.stop();
      await emulators.stop().catch(() => undefined);
      for (const client of Object.values(clients)) client.destroy();
      hooks.destroy();
      await iam.close();
    })());

  let run: ProgramRun;
  try {
    registerServiceIntegrations(emulators.stepFunctions, deployment);
    const provision = localProvisioner(deployment);
    run = await runFailingFast(stack, config, options.provision ? options.provision(provision) : provision);
    iam.load(run.resources);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const startMapping = (mapping: LocalEventSourceMapping, onBatch?: (outcome: BatchOutcome) => void): SqsPoller | undefined => {
    const queue = deployment.queues.get(mapping.eventSourceArn);
    const fn = deployment.findFunction(mapping.functionName);
    if (!queue || !fn) {
      log(`[local cloud] event source mapping ${mapping.uuid}: ${queue ? `no function ${mapping.functionName}` : `no queue ${mapping.eventSourceArn}`}; not started`);
      return undefined;
    }
    // Without ReportBatchItemFailures, Lambda ignores a batchItemFailures answer: a successful
    // invocation deletes the whole batch.
    const host = mapping.reportBatchItemFailures ? fn.host : { invoke: async (event: unknown, how?: { source?: "event-source" }) => void (await fn.host.invoke(event, how)) };
    // The mapping polls as the function's role, as Lambda's pollers do.
    const role = iam.functionRole(fn.name);
    const poller = startSqsPoller({
      queueUrl: queue.url,
      eventSourceArn: queue.arn,
      sqsClient: role ? hooks.clientsAs(role, fn.name).sqs : clients.sqs,
      host,
      region,
      batchSize: mapping.batchSize,
      maximumConcurrency: mapping.maximumConcurrency,
      ...(onBatch ? { onBatch } : {}),
      onError: (error) => log(`[${fn.name} poller] ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
      hasRoom: () => account.roomFor("event-source"),
    });
    pollers.push(poller);
    return poller;
  };
  const startMappings = () => {
    for (const mapping of deployment.mappings) if (mapping.enabled) startMapping(mapping);
  };
  return { stack, region, emulators, faults, iam, account, clients, apis, deployment, run, startMapping, startMappings, stop };
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

/**
 * Runs the program; a provisioner error fails the run at once (under the mock runtime it would
 * otherwise leave an output unresolved forever).
 */
async function runFailingFast(stack: string, config: Record<string, string>, provision: (args: MockResourceArgs) => Promise<MockResourceResult>): Promise<ProgramRun> {
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
