/**
 * The program's own wiring on the emulators, for tests that run function bundles: runs the Pulumi
 * program for a stack under the mock runtime with the local cloud's provisioners (as `npm start`
 * does), so every table, queue, state machine and function is created from what the program
 * declares (keys, indexes, redrive policies, visibility timeouts, environments, trigger settings),
 * and every environment variable already carries the local name, ARN or URL the emulator gave.
 *
 * It deploys through `local/deploy.ts`, as the local cloud does. Unlike `startLocalCloud` it starts
 * no pollers, outputs file or OTLP receiver of its own (tracing is off in the functions):
 * tests invoke the function hosts directly, and start the event source mappings they want
 * themselves (`startMapping`), with a hook that counts each batch.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { bundleFunction } from "../../components/lib/bundle";
import { SETTINGS_ENV } from "../../functions/lib/define";
import type { FunctionDefinition } from "../../functions/lib/define";
import { deployLocally } from "../../local/deploy";
import type { Emulators } from "../../local/emulators";
import type { LocalDeployment, LocalEventSourceMapping, LocalFunction, LocalQueue } from "../../local/provision/context";
import type { BatchOutcome, SqsPoller } from "../../local/runtime/sqs-poller";
import type { TimingOverrides } from "../../local/services/stepfunctions";
import type { DeclaredResource, ProgramRun } from "../../runner/run-program";
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
  /**
   * Variables every function gets on top of the local runtime's, e.g. `AWS_ENDPOINT_URL_DYNAMODB`
   * pointed at a test's own proxy in front of the emulator.
   * @default {}
   */
  environment?: Record<string, string>;
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
  const local = await deployLocally({
    stack: options.stack ?? "dev",
    config: { ...TEST_SECRET, ...options.config },
    log: options.log ?? (() => undefined),
    timing: options.timing ?? { retryIntervalMs: 0 },
    environment: { ...(options.logLevel ? { POWERTOOLS_LOG_LEVEL: options.logLevel } : {}), ...options.environment },
    provision: (next) => withTestSettings(next, options.functionSettings ?? []),
  });
  const { run, deployment } = local;
  const queue = (urlOrArn: string): LocalQueue => {
    const found = deployment.queues.get(urlOrArn) ?? [...deployment.queues.values()].find((q) => q.url === urlOrArn);
    if (!found) throw new Error(`No local queue ${urlOrArn}; have ${[...deployment.queues.keys()].join(", ")}`);
    return found;
  };
  const functionOf = (definition: FunctionDefinition): DeployedFunction => {
    const { sha256 } = bundleFunction(definition.name, definition.entry);
    const declared = run.resources.filter((r) => r.type === "aws:lambda/function:Function" && r.inputs.sourceCodeHash === sha256);
    if (declared.length !== 1) throw new Error(`The program deploys ${declared.length} functions with the bundle of "${definition.name}"`);
    const found = deployment.findFunction(declared[0]!.inputs.name as string);
    if (!found) throw new Error(`Function ${String(declared[0]!.inputs.name)} was not provisioned locally`);
    const mapping = deployment.mappings.find((m) => deployment.findFunction(m.functionName) === found);
    return { ...found, declared: declared[0]!, ...(mapping ? { mapping } : {}) };
  };
  const startMapping = (fn: DeployedFunction, onBatch?: (outcome: BatchOutcome) => void): SqsPoller => {
    if (!fn.mapping) throw new Error(`Function ${fn.name} has no event source mapping`);
    const poller = local.startMapping(fn.mapping, onBatch);
    if (!poller) throw new Error(`The mapping of ${fn.name} could not start`);
    return poller;
  };
  return { emulators: local.emulators, run, deployment, clients: local.clients, functionOf, queue, startMapping, stop: local.stop };
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
