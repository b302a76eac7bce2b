/**
 * TypedFunction: turns a typed-function definition (`functions/<unit>/<function>/definition.ts`) into a deployed
 * Lambda function and everything it needs:
 * - the esbuild bundle of its handler (`nodejs22.x`, minified, source maps);
 * - one IAM role, whose inline policy grants exactly what each link needs on exactly that resource,
 *   the matching KMS actions, and logs on its own log group only;
 * - its log group, with retention, encrypted with its unit's key;
 * - the OTEL collector layer with its environment, active tracing, explicit memory and timeout;
 * - its trigger (for SQS: an event source mapping reporting partial batch failures).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { SETTINGS_ENV, TRIGGER_ENV } from "../../functions/lib/define";
import type { FunctionDefinition } from "../../functions/lib/define";
import { linkEnvName } from "../../functions/lib/links";
import { bundleFunction } from "./bundle";
import type { StackSettings } from "./settings";
import type { LinkTarget, PolicyStatement } from "./grants";
import { XRAY_ACTIONS, linkStatements, linkValue } from "./grants";
import { physicalName } from "./naming";
import type { Transform } from "./transform";

/** The SQS trigger's mapping settings. */
export interface SqsTriggerArgs {
  /** Messages per batch (FIFO: at most 10). @default settings.batchSize */
  batchSize?: number;
  /** Concurrent invocations for this queue (2..1000). @default settings.maxConcurrency */
  maxConcurrency?: number;
  /** The source queue's `maxReceiveCount`: on that receive the handler dead-letters a failing message itself, with its reason. */
  maxReceiveCount: number;
}

export interface TypedFunctionArgs<D extends FunctionDefinition> {
  /** The function's definition. */
  definition: D;
  /**
   * The resource behind each declared link. For an SQS trigger, `source` (the queue) and
   * `deadLetter` (its DLQ) are links too.
   */
  links: { [K in keyof D["links"]]: LinkTarget };
  /** Stack settings: memory, timeout, log retention, OTEL layer, metrics namespace, and the values of the definition's settings. */
  settings: StackSettings;
  /**
   * Values of the definition's settings. By default each key of the definition's settings schema
   * is taken from the stack setting of the same name; secrets stay secret.
   * @default picked from `settings`
   */
  functionSettings?: pulumi.Input<z.input<D["settings"]>>;
  /** Prefix of every physical name, e.g. `utility-customer-system-dev`. */
  namePrefix: string;
  /**
   * ARN of the customer managed key that encrypts the function's log group: its unit's key, whose
   * policy admits CloudWatch Logs for `/aws/lambda/<namePrefix>-*` (`cloudWatchLogsKeyUser`).
   * @default none (CloudWatch Logs' own encryption; the policy pack requires a key)
   */
  logKmsKeyArn?: pulumi.Input<string>;
  /** SQS trigger settings; required when the definition's trigger is `sqs`. */
  sqs?: SqsTriggerArgs;
  /**
   * The function's timeout, in seconds.
   * @default settings.functionTimeoutSeconds
   * @example settings.apiTimeoutSeconds // behind API Gateway: below its 29 s integration timeout
   */
  timeoutSeconds?: number;
  /** Extra environment variables. @default {} */
  environment?: Record<string, pulumi.Input<string>>;
  /**
   * Stack settings that must stay secret when passed to the function (better: an SSM parameter
   * linked with `link.parameter()`, which keeps the value out of the configuration).
   * @default ["accountFingerprintKey"]
   */
  secretSettings?: string[];
  /**
   * Escape hatch: adjust the underlying resources' args before they are created.
   * @example { function: (args) => { args.reservedConcurrentExecutions = 10; } }
   */
  transform?: { function?: Transform<aws.lambda.FunctionArgs>; role?: Transform<aws.iam.RoleArgs> };
}

export class TypedFunction<D extends FunctionDefinition = FunctionDefinition> extends pulumi.ComponentResource {
  /** The deployed function. */
  readonly function: aws.lambda.Function;
  /** The function's own execution role. */
  readonly role: aws.iam.Role;
  /** The role's inline policy. */
  readonly policy: aws.iam.RolePolicy;
  /** The function's log group. */
  readonly logGroup: aws.cloudwatch.LogGroup;
  /** The SQS event source mapping, for SQS-triggered functions. */
  readonly eventSourceMapping?: aws.lambda.EventSourceMapping;
  /** Physical function name. */
  readonly functionName: string;
  /** The definition's short name: Powertools' `service` (log field, EMF metric dimension). */
  readonly definitionName: string;
  /** Bundle size in bytes (`index.js`). */
  readonly bundleBytes: number;

  constructor(name: string, args: TypedFunctionArgs<D>, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:TypedFunction", name, {}, opts);
    const { definition, settings } = args;
    const parent = { parent: this };
    this.functionName = physicalName(args.namePrefix, definition.name, 64);
    this.definitionName = definition.name;

    const bundle = bundleFunction(definition.name, definition.entry);
    this.bundleBytes = bundle.bytes;

    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      name: `/aws/lambda/${this.functionName}`,
      retentionInDays: settings.logRetentionDays,
      ...(args.logKmsKeyArn ? { kmsKeyId: args.logKmsKeyArn } : {}),
    }, parent);

    const roleArgs: aws.iam.RoleArgs = {
      name: physicalName(args.namePrefix, definition.name, 64),
      description: `Execution role of ${this.functionName} only`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    };
    args.transform?.role?.(roleArgs);
    this.role = new aws.iam.Role(`${name}-role`, roleArgs, parent);

    this.policy = new aws.iam.RolePolicy(`${name}-policy`, {
      role: this.role.id,
      policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: this.statements(args) }),
    }, parent);

    const functionArgs: aws.lambda.FunctionArgs = {
      name: this.functionName,
      description: definition.description,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      architectures: ["x86_64"], // the ADOT collector layer is built for amd64
      handler: "index.handler",
      code: new pulumi.asset.FileArchive(bundle.dir),
      sourceCodeHash: bundle.sha256,
      role: this.role.arn,
      memorySize: settings.functionMemoryMb,
      timeout: args.timeoutSeconds ?? settings.functionTimeoutSeconds,
      layers: [settings.otelLayerArn],
      tracingConfig: { mode: "Active" },
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
      environment: { variables: this.environment(args) },
    };
    args.transform?.function?.(functionArgs);
    this.function = new aws.lambda.Function(`${name}-function`, functionArgs, { parent: this, dependsOn: [this.policy, this.logGroup] });

    if (definition.trigger.kind === "sqs") {
      if (!args.sqs) throw new Error(`TypedFunction ${name}: "${definition.name}" has an SQS trigger; pass args.sqs`);
      const source = (args.links as Record<string, LinkTarget>).source!;
      this.eventSourceMapping = new aws.lambda.EventSourceMapping(`${name}-trigger`, {
        eventSourceArn: source.arn,
        functionName: this.function.arn,
        batchSize: args.sqs.batchSize ?? settings.batchSize,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: args.sqs.maxConcurrency ?? settings.maxConcurrency },
        enabled: true,
      }, parent);
    }
    this.registerOutputs({ functionName: this.functionName, arn: this.function.arn });
  }

  /** Link statements, then logs on the function's own group, then X-Ray (no resource-level permission). */
  private statements(args: TypedFunctionArgs<D>): PolicyStatement[] {
    const statements: PolicyStatement[] = [];
    for (const [linkName, spec] of Object.entries(args.definition.links)) {
      const target = (args.links as Record<string, LinkTarget | undefined>)[linkName];
      if (!target) throw new Error(`Function "${args.definition.name}" declares link "${linkName}" but no resource was given for it`);
      statements.push(...linkStatements(linkName, spec, target));
    }
    statements.push({
      Sid: "OwnLogGroup",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: pulumi.interpolate`${this.logGroup.arn}:*`,
    });
    statements.push({ Sid: "Tracing", Effect: "Allow", Action: XRAY_ACTIONS, Resource: "*" });
    return statements;
  }

  private environment(args: TypedFunctionArgs<D>): Record<string, pulumi.Input<string>> {
    const { definition, settings } = args;
    const variables: Record<string, pulumi.Input<string>> = {
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_SERVICE_NAME: definition.name,
      POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
      OTEL_SERVICE_NAME: this.functionName,
      // The collector layer listens for OTLP on localhost:4318 and forwards to X-Ray.
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318",
      OTEL_PROPAGATORS: "tracecontext",
      ...args.environment,
    };
    for (const [linkName, spec] of Object.entries(definition.links)) {
      variables[linkEnvName(linkName)] = linkValue(spec, (args.links as Record<string, LinkTarget>)[linkName]!);
    }
    variables[SETTINGS_ENV] = pulumi.jsonStringify(args.functionSettings ?? pickSettings(definition, settings, args.secretSettings));
    if (args.sqs) variables[TRIGGER_ENV] = JSON.stringify({ maxReceiveCount: args.sqs.maxReceiveCount });
    return variables;
  }
}

/**
 * The definition's settings, each taken from the stack setting of the same name.
 * @throws when the definition reads a setting the stack does not have.
 */
export function pickSettings(definition: FunctionDefinition, settings: StackSettings, secrets = ["accountFingerprintKey"]): pulumi.Output<Record<string, unknown>> {
  const shape = (definition.settings as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    if (!(key in settings)) throw new Error(`Function "${definition.name}" reads setting "${key}", which is not a stack setting`);
    const value = (settings as Record<string, unknown>)[key];
    picked[key] = secrets.includes(key) ? pulumi.secret(value) : value;
  }
  return pulumi.output(picked) as unknown as pulumi.Output<Record<string, unknown>>;
}
