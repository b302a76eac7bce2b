/**
 * The program's own wiring on the emulators, for tests that run function bundles: runs the Pulumi
 * program for a stack under the mock runtime with the local cloud's provisioners (as `npm start`
 * does), so every table, queue, state machine and function is created from what the program
 * declares (keys, indexes, redrive policies, visibility timeouts, environments, trigger settings),
 * and every environment variable already carries the local name, ARN or URL the emulator gave.
 *
 * Unlike `startLocalCloud` it starts no pollers, API server traffic or OTLP receiver of its own:
 * tests invoke the function hosts directly, and start the event source mappings they want
 * themselves (`startMapping`), with a hook that counts each batch.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { bundleFunction } from "../../components/lib/bundle";
import { SETTINGS_ENV } from "../../functions/lib/define";
import type { FunctionDefinition } from "../../functions/lib/define";
import { awsClientConfig, startEmulators } from "../../local/emulators";
import type { Emulators } from "../../local/emulators";
import { LOCAL_ACCOUNT_ID } from "../../local/services/stepfunctions";
import type { TimingOverrides } from "../../local/services/stepfunctions";
import { runProgram } from "../../runner/run-program";
import type { DeclaredResource, ProgramRun } from "../../runner/run-program";
import { readStackConfig } from "../../runner/stack-config";
import { LocalDeployment } from "../../local/provision/context";
import type { LocalEventSourceMapping, LocalFunction, LocalQueue } from "../../local/provision/context";
import { localProvisioner } from "../../local/provision/index";
import { registerServiceIntegrations } from "../../local/provision/sfn";
import { ApiGatewayRegistry } from "../../local/services/api-gateway";
import { startSqsPoller } from "../../local/runtime/sqs-poller";
import type { BatchOutcome, SqsPoller } from "../../local/runtime/sqs-poller";
import { TEST_SECRET } from "./program";

export interface DeployProgramOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is read. @default "dev" */
  stack?: string;
  /** Config overrides, like `pulumi config set` (`key` means `<project>:key`). `TEST_SECRET` is added. @default {} */
  config?: Record<string, string>;
  /** Step Functions retry and Wait timing overrides. @default { retryIntervalMs: 0 } */
  timing?: TimingOverrides;
  /**
   * Values added to the settings (`FUNCTION_SETTINGS`) the program passes to a function: for test
   * hooks the deployed stack never sets (the fulfillment outcome overrides). Everything else the
   * function gets is what the program declared.
   * @default []
   */
  functionSettings?: { definition: FunctionDefinition; add: Record<string, unknown> }[];
  /**
   * Powertools log level of every function (the local runtime's setting, not the program's).
   * @default the program's (Powertools' INFO)
   */
  logLevel?: string;
  /** Receives each function log line (`[<function name>] <line>`). @default drops them */
  log?: (line: string) => void;
}

/** A function as the program declared it and as it runs locally. */
export interface DeployedFunction extends LocalFunction {
  /** Its `aws:lambda/function:Function` resource, inputs as the program declared them. */
  declared: DeclaredResource;
  /** Its event source mapping, when the program gives it one. */
  mapping?: LocalEventSourceMapping;
}

export interface DeployedProgram {
  emulators: Emulators;
  run: ProgramRun;
  deployment: LocalDeployment;
  clients: { sns: SNSClient; sqs: SQSClient; dynamodb: DynamoDBClient; sfn: SFNClient };
  /** The function the program deploys with this definition (matched by its bundle's hash). */
  functionOf(definition: FunctionDefinition): DeployedFunction;
  /** The queue with this URL or ARN, as the emulator created it. */
  queue(urlOrArn: string): LocalQueue;
  /**
   * Starts the function's event source mapping as the program declared it (batch size, maximum
   * concurrency, partial batch responses) and reports every batch to `onBatch`. Stopped by `stop()`.
   */
  startMapping(fn: DeployedFunction, onBatch?: (outcome: BatchOutcome) => void): SqsPoller;
  /** Stops pollers, functions, API servers and emulators. */
  stop(): Promise<void>;
}

/** Deploys the program's resources for a stack onto fresh emulators; call `stop()` when done. */
export async function deployProgram(options: DeployProgramOptions = {}): Promise<DeployedProgram> {
  const stack = options.stack ?? "dev";
  const config: Record<string, string> = { ...TEST_SECRET, ...options.config };
  const region = config["aws:region"] ?? readStackConfig(stack)["aws:region"] ?? "us-east-1";
  const log = options.log ?? (() => undefined);
  const emulators = await startEmulators({ region, timing: options.timing ?? { retryIntervalMs: 0 } });
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
    resolveFunction: (arn) => deployment.findFunction(arn)?.host,
    log,
  });
  const deployment: LocalDeployment = new LocalDeployment(
    { region, accountId: LOCAL_ACCOUNT_ID, endpoints: emulators.endpoints, clients, functionEnvironment: localRuntimeEnvironment(emulators, region, options.logLevel), log },
    apis,
  );
  const pollers: SqsPoller[] = [];
  const stop = async () => {
    await Promise.allSettled(pollers.map((p) => p.stop()));
    await apis.stop().catch(() => undefined);
    await Promise.allSettled(deployment.allFunctions().map((f) => f.host.stop()));
    for (const client of Object.values(clients)) client.destroy();
    await emulators.stop();
  };

  let run: ProgramRun;
  try {
    registerServiceIntegrations(emulators.stepFunctions, deployment);
    const provision = withTestSettings(localProvisioner(deployment), options.functionSettings ?? []);
    run = await runFailingFast(stack, config, provision);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const queue = (urlOrArn: string): LocalQueue => {
    const found = deployment.queues.get(urlOrArn) ?? [...deployment.queues.values()].find((q) => q.url === urlOrArn);
    if (!found) throw new Error(`No local queue ${urlOrArn}; have ${[...deployment.queues.keys()].join(", ")}`);
    return found;
  };
  const functionOf = (definition: FunctionDefinition): DeployedFunction => {
    const { sha256 } = bundleFunction(definition.name, definition.entry);
    const declared = run.resources.filter((r) => r.type === "aws:lambda/function:Function" && r.inputs.sourceCodeHash === sha256);
    if (declared.length !== 1) throw new Error(`The program deploys ${declared.length} functions with the bundle of "${definition.name}"`);
    const local = deployment.findFunction(declared[0]!.inputs.name as string);
    if (!local) throw new Error(`Function ${String(declared[0]!.inputs.name)} was not provisioned locally`);
    const mapping = deployment.mappings.find((m) => deployment.findFunction(m.functionName) === local);
    return { ...local, declared: declared[0]!, ...(mapping ? { mapping } : {}) };
  };
  const startMapping = (fn: DeployedFunction, onBatch?: (outcome: BatchOutcome) => void): SqsPoller => {
    const { mapping } = fn;
    if (!mapping) throw new Error(`Function ${fn.name} has no event source mapping`);
    const source = queue(mapping.eventSourceArn);
    // Without ReportBatchItemFailures, Lambda ignores a batchItemFailures answer (as local/cloud.ts).
    const host = mapping.reportBatchItemFailures ? fn.host : { invoke: async (event: unknown) => void (await fn.host.invoke(event)) };
    const poller = startSqsPoller({
      queueUrl: source.url,
      eventSourceArn: source.arn,
      sqsClient: clients.sqs,
      host,
      region,
      batchSize: mapping.batchSize,
      maximumConcurrency: mapping.maximumConcurrency,
      onBatch,
      onError: (error) => log(`[${fn.name} poller] ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
    });
    pollers.push(poller);
    return poller;
  };
  return { emulators, run, deployment, clients, functionOf, queue, startMapping, stop };
}

/**
 * What the local runtime adds to every function's own environment so the unchanged handlers reach
 * the emulators (local/cloud.ts gives the same, here with tracing off), and optionally a quieter
 * log level.
 */
function localRuntimeEnvironment(emulators: Emulators, region: string, logLevel: string | undefined): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_SNS: emulators.endpoints.sns,
    AWS_ENDPOINT_URL_SQS: emulators.endpoints.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SFN: emulators.endpoints.stepfunctions,
    OTEL_SDK_DISABLED: "true",
    ...(logLevel ? { POWERTOOLS_LOG_LEVEL: logLevel } : {}),
  };
}

/**
 * Wraps a provisioner so the functions named in `additions` get extra settings merged into the
 * settings the program declared. The recorded resource keeps the program's own inputs.
 */
function withTestSettings(
  provision: (args: MockResourceArgs) => Promise<MockResourceResult>,
  additions: { definition: FunctionDefinition; add: Record<string, unknown> }[],
): (args: MockResourceArgs) => Promise<MockResourceResult> {
  if (additions.length === 0) return provision;
  const byHash = new Map(additions.map(({ definition, add }) => [bundleFunction(definition.name, definition.entry).sha256, add]));
  return (args) => {
    const inputs = args.inputs as Record<string, unknown>;
    const add = args.type === "aws:lambda/function:Function" ? byHash.get(inputs.sourceCodeHash as string) : undefined;
    if (!add) return provision(args);
    const environment = inputs.environment as { variables: Record<string, string> };
    const declared = JSON.parse(environment.variables[SETTINGS_ENV] ?? "{}") as Record<string, unknown>;
    const variables = { ...environment.variables, [SETTINGS_ENV]: JSON.stringify({ ...declared, ...add }) };
    return provision({ ...args, inputs: { ...inputs, environment: { ...environment, variables } } });
  };
}

/**
 * Runs the program; a provisioner error fails the run at once (under the mock runtime it would
 * otherwise leave an output unresolved forever). As local/cloud.ts does.
 */
async function runFailingFast(
  stack: string,
  config: Record<string, string>,
  provision: (args: MockResourceArgs) => Promise<MockResourceResult>,
): Promise<ProgramRun> {
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
