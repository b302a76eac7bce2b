/**
 * Observability: every function carries the OTEL layer, traces, has an explicit timeout and a log
 * group with retention; state machines log and trace; API stages log access, log execution errors
 * with metrics (never request and response bodies), trace with X-Ray and throttle.
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_50,
 * CKV_AWS_66, CKV_AWS_284, CKV_AWS_285, CKV_AWS_76, CKV_AWS_73, CKV2_AWS_4, CKV_AWS_276; cfn_nag
 * W69, W86; Security Hub Lambda.7, StepFunctions.1, APIGateway.1, APIGateway.3, APIGateway.9.
 * Not enforced, and why (docs/policies.md): CKV_AWS_120 and CKV_AWS_225 (stage caching),
 * CKV_AWS_338 and CloudWatch.16 (a year of log retention).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { StackIndex, known } from "../lib/stack";
import { T } from "../lib/types";
import { config, onTypes, physical } from "./common";

interface OtelConfig {
  layerPattern: string;
}

export const otelLayer: ResourceValidationPolicy = {
  name: "lambda-otel-layer",
  description: "Every Lambda function carries the OpenTelemetry layer (the ADOT collector, or the ADOT JavaScript distro).",
  remediationSteps: "Add the stack's `otelLayerArn` to the function's layers (TypedFunction does); set otelLayerArn per region in Pulumi.<stack>.yaml.",
  configSchema: { properties: { layerPattern: { type: "string", default: ":layer:(aws-otel-|AWSOpenTelemetryDistro)", description: "Regular expression a layer ARN must match to count as the OTEL layer." } } },
  validateResource: onTypes([T.function], (props, args, report) => {
    const { layerPattern } = config<OtelConfig>(args, { layerPattern: ":layer:(aws-otel-|AWSOpenTelemetryDistro)" });
    const layers = (props.layers as string[] | undefined) ?? [];
    if (!layers.some((l) => new RegExp(layerPattern).test(l))) {
      report(`Function "${physical(props, args.name)}" has no OpenTelemetry layer (layers: ${layers.length ? layers.join(", ") : "none"}): add the ADOT collector layer of its region (stack setting otelLayerArn).`);
    }
  }),
};

export const activeTracing: ResourceValidationPolicy = {
  name: "lambda-active-tracing",
  description: "Every Lambda function has active X-Ray tracing.",
  remediationSteps: "Set `tracingConfig: { mode: \"Active\" }` and grant xray:PutTraceSegments/PutTelemetryRecords on `*` (the documented exception).",
  validateResource: onTypes([T.function], (props, args, report) => {
    const mode = (props.tracingConfig as { mode?: string } | undefined)?.mode;
    if (mode !== "Active") report(`Function "${physical(props, args.name)}" does not trace actively (tracingConfig.mode is ${mode ?? "unset"}): set tracingConfig to { mode: "Active" }.`);
  }),
};

export const explicitTimeout: ResourceValidationPolicy = {
  name: "lambda-explicit-timeout",
  description: "Every Lambda function sets its timeout explicitly (the 3 s default is never a decision).",
  remediationSteps: "Set `timeout` (stack setting functionTimeoutSeconds) and size the queue visibility timeout from it.",
  validateResource: onTypes([T.function], (props, args, report) => {
    if (typeof props.timeout !== "number") report(`Function "${physical(props, args.name)}" has no explicit timeout and would run with Lambda's 3 s default: set timeout (seconds).`);
  }),
};

interface RetentionConfig {
  minRetentionDays: number;
}
const retentionSchema = { properties: { minRetentionDays: { type: "integer" as const, minimum: 1, default: 7, description: "Shortest log retention accepted, in days." } } };

export const logRetention: ResourceValidationPolicy = {
  name: "log-group-retention",
  description: "Every CloudWatch log group has a retention, at least the configured minimum.",
  remediationSteps: "Set `retentionInDays` (stack setting logRetentionDays) to a CloudWatch period of at least minRetentionDays; 0 or unset keeps logs forever.",
  configSchema: retentionSchema,
  validateResource: onTypes([T.logGroup], (props, args, report) => {
    const { minRetentionDays } = config<RetentionConfig>(args, { minRetentionDays: 7 });
    const days = props.retentionInDays as number | undefined;
    const name = physical(props, args.name);
    if (!days) report(`Log group "${name}" never expires its logs: set retentionInDays (at least ${minRetentionDays}).`);
    else if (days < minRetentionDays) report(`Log group "${name}" keeps logs ${days} day${days === 1 ? "" : "s"}, less than the minimum ${minRetentionDays}: set retentionInDays to at least ${minRetentionDays}.`);
  }),
};

export const functionLogGroup: StackValidationPolicy = {
  name: "lambda-has-log-group",
  description: "Every Lambda function's log group is declared in the stack (so it has a retention and is deleted with the stack).",
  remediationSteps: "Declare aws.cloudwatch.LogGroup `/aws/lambda/<function name>` (or the group named in loggingConfig.logGroup) with retentionInDays, and make the function depend on it.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const groups = new Set(stack.of(T.logGroup).map((g) => g.props.name));
    for (const fn of stack.of(T.function)) {
      const name = physical(fn.props, fn.name);
      const group = (fn.props.loggingConfig as { logGroup?: string } | undefined)?.logGroup ?? `/aws/lambda/${name}`;
      if (!groups.has(group)) report(`Function "${name}" logs to "${group}", which the stack does not declare: Lambda would create it with no retention; declare an aws.cloudwatch.LogGroup named "${group}" with retentionInDays.`, fn.urn);
    }
  },
};

export const stateMachineObservability: ResourceValidationPolicy = {
  name: "sfn-logging-and-tracing",
  description: "Every Step Functions state machine logs to CloudWatch Logs and traces with X-Ray.",
  remediationSteps: "Set `loggingConfiguration: { level: \"ERROR\" | \"ALL\", includeExecutionData, logDestination: \"<log group arn>:*\" }` and `tracingConfiguration: { enabled: true }`; its role needs the logs:*LogDelivery* actions (allow-listed on `*`).",
  validateResource: onTypes([T.stateMachine], (props, args, report) => {
    const name = physical(props, args.name);
    const logging = props.loggingConfiguration as { level?: string; logDestination?: string } | undefined;
    if (!logging?.logDestination || !logging.level || logging.level === "OFF") {
      report(`State machine "${name}" does not log executions: set loggingConfiguration to { level: "ERROR" (or "ALL"), logDestination: "<log group ARN>:*" }.`);
    }
    if ((props.tracingConfiguration as { enabled?: boolean } | undefined)?.enabled !== true) {
      report(`State machine "${name}" does not trace: set tracingConfiguration to { enabled: true }.`);
    }
  }),
};

export const stageAccessLogs: ResourceValidationPolicy = {
  name: "apigateway-stage-access-logging",
  description: "Every API Gateway stage writes access logs.",
  remediationSteps: "Set `accessLogSettings: { destinationArn: <log group ARN>, format: <JSON format with $context.requestId, status, ...> }` on the stage (REST) or its HTTP API stage.",
  validateResource: onTypes([T.stage, T.httpStage], (props, args, report) => {
    const settings = props.accessLogSettings as { destinationArn?: string; format?: string } | undefined;
    if (!settings?.destinationArn || !settings.format) {
      report(`API stage "${String(props.stageName ?? props.name ?? args.name)}" writes no access logs: set accessLogSettings to { destinationArn: <log group ARN>, format: <access log format> }.`);
    }
  }),
};

const positive = (v: unknown) => typeof v === "number" && v > 0;

export const stageThrottling: StackValidationPolicy = {
  name: "apigateway-stage-throttling",
  description: "Every API Gateway stage is throttled: method settings for `*/*`, a usage plan with throttle settings, or HTTP API default route throttling.",
  remediationSteps: "Add aws.apigateway.MethodSettings for the stage with methodPath \"*/*\" and settings.throttlingRateLimit/throttlingBurstLimit, or a UsagePlan on the stage with throttleSettings (stack settings apiRateLimit/apiBurstLimit).",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const stage of stack.of(T.stage)) {
      const api = stage.props.restApi;
      const stageName = stage.props.stageName;
      const viaSettings = stack.of(T.methodSettings).some((m) => {
        const s = m.props.settings as { throttlingRateLimit?: number; throttlingBurstLimit?: number } | undefined;
        return m.props.restApi === api && m.props.stageName === stageName && m.props.methodPath === "*/*" && positive(s?.throttlingRateLimit) && positive(s?.throttlingBurstLimit);
      });
      const viaPlan = stack.of(T.usagePlan).some((p) => {
        const t = p.props.throttleSettings as { rateLimit?: number; burstLimit?: number } | undefined;
        const stages = (p.props.apiStages as { apiId?: string; stage?: string }[] | undefined) ?? [];
        return positive(t?.rateLimit) && positive(t?.burstLimit) && stages.some((s) => s.apiId === api && s.stage === stageName);
      });
      if (!viaSettings && !viaPlan) {
        report(`API stage "${String(stageName)}" is not throttled: add MethodSettings with methodPath "*/*" and throttlingRateLimit/throttlingBurstLimit for it, or a usage plan on it with throttleSettings.`, stage.urn);
      }
    }
    for (const stage of stack.of(T.httpStage)) {
      const d = stage.props.defaultRouteSettings as { throttlingRateLimit?: number; throttlingBurstLimit?: number } | undefined;
      if (!positive(d?.throttlingRateLimit) || !positive(d?.throttlingBurstLimit)) {
        report(`HTTP API stage "${String(stage.props.name ?? stage.name)}" is not throttled: set defaultRouteSettings.throttlingRateLimit and throttlingBurstLimit.`, stage.urn);
      }
    }
  },
};

export const stageXray: ResourceValidationPolicy = {
  name: "apigateway-stage-xray-tracing",
  description: "Every API Gateway REST stage traces requests with X-Ray.",
  remediationSteps: "Set `xrayTracingEnabled: true` on the stage (OrderApi does): the trace of an order then starts at the gateway, not at the function.",
  validateResource: onTypes([T.stage], (props, args, report) => {
    if (props.xrayTracingEnabled !== true) {
      report(`API stage "${String(props.stageName ?? args.name)}" does not trace with X-Ray: set xrayTracingEnabled to true.`);
    }
  }),
};

interface ExecutionLoggingConfig {
  loggingLevels: string[];
}

/** The log group API Gateway writes a REST stage's execution logs to (it creates it, without retention, if missing). */
export const executionLogGroupName = (restApiId: string, stageName: string) => `API-Gateway-Execution-Logs_${restApiId}/${stageName}`;

export const stageExecutionLogging: StackValidationPolicy = {
  name: "apigateway-stage-execution-logging",
  description: "Every API Gateway REST stage logs execution errors (method settings `*/*`: loggingLevel ERROR, metricsEnabled, dataTraceEnabled off) to a log group the stack declares.",
  remediationSteps: "Add aws.apigateway.MethodSettings for the stage with methodPath \"*/*\" and settings { loggingLevel: \"ERROR\", metricsEnabled: true, dataTraceEnabled: false }, and declare the log group API-Gateway-Execution-Logs_<rest api id>/<stage> with retention and the unit's key (OrderApi does). Data tracing writes whole requests and responses, customer data included, into the logs: never turn it on.",
  configSchema: {
    properties: {
      loggingLevels: { type: "array", items: { type: "string", enum: ["ERROR", "INFO"] }, default: ["ERROR"], description: "Execution logging levels accepted." },
    },
  },
  validateStack: (args, report) => {
    const { loggingLevels } = config<ExecutionLoggingConfig>(args, { loggingLevels: ["ERROR"] });
    const stack = new StackIndex(args.resources);
    const groups = new Set(stack.of(T.logGroup).map((g) => g.props.name));
    for (const stage of stack.of(T.stage)) {
      const stageName = String(stage.props.stageName);
      const settings = stack.of(T.methodSettings).filter((m) => m.props.restApi === stage.props.restApi && m.props.stageName === stage.props.stageName);
      const all = settings.find((m) => m.props.methodPath === "*/*");
      const s = (all?.props.settings ?? {}) as { loggingLevel?: string; metricsEnabled?: boolean; dataTraceEnabled?: boolean };
      if (!all) {
        report(`API stage "${stageName}" has no method settings for "*/*": execution errors are not logged and there are no per-method metrics; add MethodSettings with methodPath "*/*" and settings { loggingLevel: "ERROR", metricsEnabled: true, dataTraceEnabled: false }.`, stage.urn);
      } else {
        if (!s.loggingLevel || !loggingLevels.includes(s.loggingLevel)) {
          report(`API stage "${stageName}" logs executions at ${s.loggingLevel ?? "OFF"}: set the "*/*" method settings' loggingLevel to ${loggingLevels.join(" or ")}.`, all.urn);
        }
        if (s.metricsEnabled !== true) report(`API stage "${stageName}" has no per-method CloudWatch metrics: set the "*/*" method settings' metricsEnabled to true.`, all.urn);
      }
      for (const m of settings) {
        const ms = (m.props.settings ?? {}) as { loggingLevel?: string; dataTraceEnabled?: boolean };
        if (ms.dataTraceEnabled === true) {
          report(`API stage "${stageName}" traces data for "${String(m.props.methodPath)}" (dataTraceEnabled): whole requests and responses, customer data included, go to the logs; set dataTraceEnabled to false.`, m.urn);
        }
        if (m !== all && ms.loggingLevel === "OFF") report(`API stage "${stageName}" turns execution logging off for "${String(m.props.methodPath)}": remove the override or set loggingLevel to ${loggingLevels.join(" or ")}.`, m.urn);
      }
      const restApiId = known(() => stage.props.restApi);
      if (all && s.loggingLevel && s.loggingLevel !== "OFF" && typeof restApiId === "string") {
        const group = executionLogGroupName(restApiId, stageName);
        if (!groups.has(group)) {
          report(`API stage "${stageName}" writes execution logs to "${group}", which the stack does not declare: API Gateway would create it with no retention and no key; declare an aws.cloudwatch.LogGroup named "${group}" with retentionInDays and kmsKeyId.`, stage.urn);
        }
      }
    }
  },
};

export const consumerQueueAlarmed: StackValidationPolicy = {
  name: "sqs-consumer-queue-alarmed",
  description: "Every queue a Lambda function consumes has an alarm on the age of its oldest message, and its dead-letter queue an alarm on its messages (the consumer's failures), each with an alarm action.",
  remediationSteps: "Watch the queue in Monitoring (WatchedSystem.sourceQueues: ApproximateAgeOfOldestMessage) and its DLQ (deadLetterQueues: ApproximateNumberOfMessagesVisible > 0), with alarmActions to the alarm topic. A consumer reporting failures through batchItemFailures leaves Lambda's Errors at 0, so only the queues show it.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const acted = (alarms: ReturnType<StackIndex["queueAlarms"]>) => alarms.some((a) => ((a.props.alarmActions as unknown[] | undefined) ?? []).length > 0);
    for (const { queue, mapping } of stack.sqsMappings()) {
      const name = physical(queue.props, queue.name);
      if (!acted(stack.queueAlarms(queue.props.name, "ApproximateAgeOfOldestMessage"))) {
        report(`Queue "${name}" is consumed by a function but no alarm (with an action) watches the age of its oldest message: a consumer failing every message through batchItemFailures shows no Lambda error; alarm on ApproximateAgeOfOldestMessage.`, mapping.urn);
      }
      const dlq = stack.queueByArn(StackIndex.redrive(queue)?.deadLetterTargetArn);
      if (dlq && !acted(stack.queueAlarms(dlq.props.name))) {
        report(`Dead-letter queue "${physical(dlq.props, dlq.name)}" of the consumed queue "${name}" has no alarm (with an action): messages that failed for good would sit there unseen; alarm on its ApproximateNumberOfMessagesVisible > 0.`, mapping.urn);
      }
    }
  },
};

export const observabilityPolicies = [otelLayer, activeTracing, explicitTimeout, logRetention, functionLogGroup, stateMachineObservability, stageAccessLogs, stageXray, stageExecutionLogging, stageThrottling, consumerQueueAlarmed];
