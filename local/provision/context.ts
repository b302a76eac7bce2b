/**
 * What the local provisioners share: the emulator clients, and the registry of what has been
 * deployed so far (functions, queues, mappings, APIs), which the runtime half then serves.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import type { EmulatorEndpoints } from "../emulators";
import type { AccountConcurrency } from "../runtime/account-concurrency";
import type { FunctionHost, FunctionHostOptions } from "../runtime/function-host";
import type { SsmService } from "../services/ssm";
import type { ApiGatewayRegistry } from "../services/api-gateway";

/** A queue as the emulator created it. */
export interface LocalQueue {
  name: string;
  url: string;
  arn: string;
  fifo: boolean;
  visibilityTimeoutSeconds: number;
}

/** A deployed function: its host runs the bundle. */
export interface LocalFunction {
  name: string;
  arn: string;
  host: FunctionHost;
}

/** An event source mapping, started once the whole program is deployed. */
export interface LocalEventSourceMapping {
  uuid: string;
  eventSourceArn: string;
  functionName: string;
  batchSize: number;
  maximumConcurrency: number;
  enabled: boolean;
  reportBatchItemFailures: boolean;
}

export interface LocalDeploymentOptions {
  region: string;
  accountId: string;
  endpoints: EmulatorEndpoints;
  clients: { sns: SNSClient; sqs: SQSClient; dynamodb: DynamoDBClient; sfn: SFNClient };
  /** The local Parameter Store the program's parameters are declared on. */
  parameters?: Pick<SsmService, "put">;
  /** Environment every function gets on top of its own (endpoints, region, credentials, OTEL). */
  functionEnvironment: Record<string, string>;
  /** Receives each function log line, already prefixed. */
  log: (line: string) => void;
  /** Decides the injected faults of each invocation. @default none */
  faults?: FunctionHostOptions["faults"];
  /** IAM: the credentials each role session acts with (`local/iam/hooks.ts`). @default none: administrator credentials everywhere */
  iam?: LocalIamHooks;
  /** Bounds all functions' environments together. @default none: each function only by its own concurrency */
  account?: AccountConcurrency;
}

/** What the provisioners need of the local cloud's IAM. */
export interface LocalIamHooks {
  /** The environment variables with the credentials of a function's role session. */
  functionCredentials(functionName: string, roleArn: string): Record<string, string>;
  /** SDK clients acting as a role session (a state machine's role), through the gateway. */
  clientsAs(roleArn: string, sessionName: string): Pick<LocalDeploymentOptions["clients"], "sns" | "sqs" | "dynamodb">;
  /** Why a role session may not invoke a function (in process: the state machine's Lambda tasks), or undefined. */
  invokeRefusal(roleArn: string, sessionName: string, functionArn: string): string | undefined;
}

/** The registry the provisioners fill in. */
export class LocalDeployment {
  readonly functions = new Map<string, LocalFunction>();
  readonly queues = new Map<string, LocalQueue>();
  readonly mappings: LocalEventSourceMapping[] = [];
  /** Type → count of resources accepted but not emulated (IAM, KMS, CloudWatch, policies, ...). */
  readonly accepted = new Map<string, number>();
  /** Type → count of resources of a type the local cloud does not know. */
  readonly unknown = new Map<string, number>();
  readonly apis: ApiGatewayRegistry;

  constructor(
    readonly options: LocalDeploymentOptions,
    apis: ApiGatewayRegistry,
  ) {
    this.apis = apis;
  }

  get region(): string {
    return this.options.region;
  }

  get clients(): LocalDeploymentOptions["clients"] {
    return this.options.clients;
  }

  /**
   * The function a reference names: its name, ARN (with or without a qualifier), or partial ARN
   * (`<account>:function:<name>`), as Lambda's `FunctionName` parameter accepts.
   */
  findFunction(reference: string): LocalFunction | undefined {
    const direct = this.functions.get(reference);
    if (direct) return direct;
    const match = /(?:^|:)function:([^:]+)(?::[^:]+)?$/.exec(reference);
    return match?.[1] ? this.functions.get(match[1]) : undefined;
  }

  addFunction(fn: LocalFunction): void {
    this.functions.set(fn.name, fn);
    this.functions.set(fn.arn, fn);
  }

  /** Distinct functions (the map holds each under its name and its ARN). */
  allFunctions(): LocalFunction[] {
    return [...new Set(this.functions.values())];
  }

  count(map: Map<string, number>, type: string): void {
    map.set(type, (map.get(type) ?? 0) + 1);
  }
}

/** Provisions one resource type family. */
export type Provisioner = (args: MockResourceArgs, deployment: LocalDeployment) => Promise<MockResourceResult> | MockResourceResult;

/**
 * The inputs as plain values. `runProgram` already unwrapped secrets before calling a provisioner
 * (the local cloud passes them on in plain text), so this only gives them their type.
 */
export function plainInputs(args: MockResourceArgs): Record<string, unknown> {
  return args.inputs as Record<string, unknown>;
}

export { unwrapSecrets } from "../../runner/secrets";

/** A random lower-case id like API Gateway's (`a1b2c3d4e5`). */
export function randomId(length = 10): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let id = "";
  for (let i = 0; i < length; i += 1) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
