// The emulator layer of the local cloud: SNS + SQS (fauxqs), DynamoDB (dynalite), Step Functions
// (aws-local-stepfunctions behind our own API front, local/services/stepfunctions/) and SSM
// Parameter Store (ours, local/services/ssm/), all
// in this process and bound to 127.0.0.1 only. This folder wraps the third-party emulators; the
// Step Functions service is ours and lives with the other local services.
import { startDynamoDb } from "./dynamodb";
import type { DynamoDbEmulator } from "./dynamodb";
import { startSnsSqs } from "./sns-sqs";
import type { SnsSqsEmulator } from "./sns-sqs";
import type { DeliveryFailure } from "./sns-delivery";
import { startSsm } from "../services/ssm";
import type { SsmService } from "../services/ssm";
import { startStepFunctions } from "../services/stepfunctions";
import type { StepFunctionsEmulator, TaskResolver, TimingOverrides } from "../services/stepfunctions";

export { startDynamoDb } from "./dynamodb";
export type { DynamoDbEmulator, DynamoDbOptions } from "./dynamodb";
export { startSnsSqs } from "./sns-sqs";
export type { SnsSqsEmulator, SnsSqsOptions } from "./sns-sqs";
export type { DeliveryFailure, TopicDeliveryCounts } from "./sns-delivery";

/** Options for {@link startEmulators}. */
export interface EmulatorsOptions {
  /**
   * Region every emulator puts in its ARNs.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * Fallback for Step Functions Tasks no registered handler matches.
   * @default undefined (unmatched Tasks fail the execution with `States.Runtime`)
   */
  resolveTask?: TaskResolver;
  /**
   * Step Functions retry pause and Wait overrides, e.g. `{ retryIntervalMs: 0 }` in tests.
   * @default {} (AWS timing)
   */
  timing?: TimingOverrides;
  /**
   * SNS delivers to a queue only when its policy admits the topic (a refused delivery goes to the
   * subscription's DLQ), as on AWS. The local cloud turns it on; tests of bare emulators need not
   * write queue policies.
   * @default false
   */
  enforceQueuePolicies?: boolean;
  /** Called for each SNS delivery that failed (dead-lettered or discarded). @default nothing */
  onDeliveryFailure?: (failure: DeliveryFailure) => void;
  /** Decides each SNS delivery instead of the queue policy alone (the local cloud's IAM). @default the queue policy */
  authorizeDelivery?: (queueArn: string, topicArn: string, queuePolicy: string | undefined) => string | undefined;
}

/** Endpoint URLs, keyed by the AWS CLI's service names (as `outputs.json`'s `awsEndpoints`). */
export interface EmulatorEndpoints {
  sns: string;
  sqs: string;
  dynamodb: string;
  stepfunctions: string;
  /** The local Parameter Store (GetParameter). */
  ssm: string;
}

/** All emulators of the local cloud, running. */
export interface Emulators {
  /** The region the emulators use. */
  readonly region: string;
  /** Endpoint per service; `sns` and `sqs` are the same fauxqs server. */
  readonly endpoints: EmulatorEndpoints;
  /** The Step Functions emulator, to register Task handlers on. */
  readonly stepFunctions: StepFunctionsEmulator;
  /** The SNS + SQS emulator (its delivery counts per topic). */
  readonly snsSqs: SnsSqsEmulator;
  /** The local Parameter Store, to declare the program's parameters on. */
  readonly ssm: SsmService;
  /** Stops every emulator (also when one of them fails to stop). */
  stop(): Promise<void>;
}

/**
 * Starts SNS + SQS, DynamoDB and Step Functions emulators on 127.0.0.1, each on a free port.
 * They start in parallel; if one fails, those that started are stopped again.
 *
 * @param options - Region, Step Functions resolver and timing; see {@link EmulatorsOptions}.
 *   Defaults: `us-east-1`, no resolver, AWS timing.
 * @returns Their endpoints, the Step Functions emulator and one `stop()`.
 */
export async function startEmulators(options: EmulatorsOptions = {}): Promise<Emulators> {
  const region = options.region ?? "us-east-1";
  const started = await Promise.allSettled([
    startSnsSqs({ region, enforceQueuePolicies: options.enforceQueuePolicies, onDeliveryFailure: options.onDeliveryFailure, authorizeDelivery: options.authorizeDelivery }),
    startDynamoDb(),
    startStepFunctions({ region, resolveTask: options.resolveTask, timing: options.timing }),
    startSsm(),
  ] as const);
  const [snsSqs, dynamo, sfn, ssm] = started;
  const stoppers = started.flatMap((result) => (result.status === "fulfilled" ? [() => result.value.stop()] : []));
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled(stoppers.map((stop) => stop()));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (failures.length > 0) throw new AggregateError(failures, "Some emulators failed to stop");
  };
  if (snsSqs.status === "rejected" || dynamo.status === "rejected" || sfn.status === "rejected" || ssm.status === "rejected") {
    await stopAll().catch(() => undefined);
    const reasons = started.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    throw new AggregateError(reasons, "Could not start the local emulators");
  }
  return {
    region,
    endpoints: { ...emulatorEndpoints(snsSqs.value, dynamo.value, sfn.value), ssm: ssm.value.endpoint },
    stepFunctions: sfn.value,
    snsSqs: snsSqs.value,
    ssm: ssm.value,
    stop: stopAll,
  };
}

function emulatorEndpoints(snsSqs: SnsSqsEmulator, dynamo: DynamoDbEmulator, sfn: StepFunctionsEmulator): Omit<EmulatorEndpoints, "ssm"> {
  return { sns: snsSqs.endpoint, sqs: snsSqs.endpoint, dynamodb: dynamo.endpoint, stepfunctions: sfn.endpoint };
}

/** SDK v3 client configuration for an emulator (shared by every client type). */
export interface AwsClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Configuration for any AWS SDK v3 client talking to an emulator, e.g.
 * `new SQSClient(awsClientConfig(emulators.endpoints.sqs, emulators.region))`.
 *
 * Static dummy credentials: the emulators do not check signatures, and without them the SDK
 * would search the environment, profiles and instance metadata for real ones (slow, and it
 * fails on a machine with no AWS account). An explicit `endpoint` also stops the SQS client
 * from redirecting requests to the host in a QueueUrl.
 *
 * @param endpoint - The emulator's base URL, e.g. `http://127.0.0.1:40123`.
 * @param region - Region to sign for; it ends up in the ARNs the emulators create.
 * @default region "us-east-1"
 * @returns `{ endpoint, region, credentials }`.
 */
export function awsClientConfig(endpoint: string, region = "us-east-1"): AwsClientConfig {
  return { endpoint, region, credentials: { accessKeyId: "local", secretAccessKey: "local" } };
}
