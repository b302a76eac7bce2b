/**
 * A small, compliant world of resources in the shapes the program declares (inputs, and state with
 * the ARNs/URLs AWS computes), and helpers to break one thing at a time. Every policy must pass on
 * `world()`; each negative case mutates one resource and expects exact messages.
 */
import type { DeclaredResource } from "../../policies/evaluate";
import { evaluatePolicies } from "../../policies/evaluate";
import { policies } from "../../policies/pack";
import { T } from "../../policies/lib/types";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
export const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
export const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

export const KEY_ARN = arn("kms", "key/1111-2222");
export const TOPIC_ARN = arn("sns", "bus-topic.fifo");
export const QUEUE_ARN = arn("sqs", "bus-payment.fifo");
export const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bus-payment.fifo`;
export const DLQ_ARN = arn("sqs", "bus-payment-dlq.fifo");
export const DLQ_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bus-payment-dlq.fifo`;
export const SUB_DLQ_ARN = arn("sqs", "bus-payment-subscription-dlq.fifo");
export const SUB_DLQ_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bus-payment-subscription-dlq.fifo`;
/** Where the fixture alarms notify (not a topic of the world: its key is not under test). */
export const ALARM_TOPIC_ARN = arn("sns", "alarms");
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/bus-payment`;
export const FN_ARN = arn("lambda", "function:bus-payment");
export const OTEL = "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5";
export const STATE_MACHINE_ARN = arn("states", "stateMachine:orders");
export const EXECUTION_LOGS = "API-Gateway-Execution-Logs_api123/dev";
/** The key statement that lets CloudWatch Logs use the key for this account's log groups (AWS's documented form). */
export const LOGS_KEY_STATEMENT = {
  Sid: "AllowLogsToUseKey",
  Effect: "Allow",
  Principal: { Service: `logs.${REGION}.amazonaws.com` },
  Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
  Resource: "*",
  Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:*` } },
};

export type World = Record<string, DeclaredResource>;

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
export const tlsDeny = (service: "sqs" | "sns", resource: string) => ({
  Sid: "DenyInsecureTransport",
  Effect: "Deny",
  Principal: "*",
  Action: `${service}:*`,
  Resource: resource,
  Condition: { Bool: { "aws:SecureTransport": "false" } },
});

function r(type: string, name: string, inputs: Record<string, unknown>, computed: Record<string, unknown> = {}): DeclaredResource {
  return { type, name, inputs, state: { ...inputs, ...computed }, id: String(computed.id ?? name) };
}

/** A compliant FIFO bus route, a table, a state machine and a REST API with one method. */
export function world(): World {
  const w: World = {};
  const add = (res: DeclaredResource) => (w[res.name] = res);
  add(r(T.key, "key", {
    description: "bus key",
    enableKeyRotation: true,
    policy: doc(
      { Sid: "Root", Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Sid: "AllowSnsToUseKey", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } },
      LOGS_KEY_STATEMENT,
    ),
  }, { arn: KEY_ARN, keyId: "1111-2222" }));
  add(r(T.alias, "key-alias", { name: "alias/bus", targetKeyId: "1111-2222" }, { arn: arn("kms", "alias/bus") }));
  add(r(T.topic, "topic", { name: "bus-topic.fifo", fifoTopic: true, contentBasedDeduplication: false, fifoThroughputScope: "Topic", kmsMasterKeyId: KEY_ARN }, { arn: TOPIC_ARN }));
  add(r(T.topicPolicy, "topic-policy", { arn: TOPIC_ARN, policy: doc({ Sid: "AccountPublishes", Effect: "Allow", Principal: { AWS: ROOT }, Action: ["sns:Publish"], Resource: TOPIC_ARN }, tlsDeny("sns", TOPIC_ARN)) }));
  add(r(T.queue, "dlq", { name: "bus-payment-dlq.fifo", fifoQueue: true, kmsMasterKeyId: KEY_ARN, messageRetentionSeconds: 1_209_600 }, { arn: DLQ_ARN, url: DLQ_URL }));
  add(r(T.queue, "queue", {
    name: "bus-payment.fifo",
    fifoQueue: true,
    kmsMasterKeyId: KEY_ARN,
    messageRetentionSeconds: 345_600,
    visibilityTimeoutSeconds: 180,
    redrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 5 }),
  }, { arn: QUEUE_ARN, url: QUEUE_URL }));
  add(r(T.queuePolicy, "dlq-policy", { queueUrl: DLQ_URL, policy: doc(tlsDeny("sqs", DLQ_ARN)) }));
  add(r(T.queuePolicy, "queue-policy", {
    queueUrl: QUEUE_URL,
    policy: doc(
      { Sid: "TopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: QUEUE_ARN, Condition: { ArnEquals: { "aws:SourceArn": TOPIC_ARN } } },
      tlsDeny("sqs", QUEUE_ARN),
    ),
  }));
  add(r(T.queue, "sub-dlq", { name: "bus-payment-subscription-dlq.fifo", fifoQueue: true, kmsMasterKeyId: KEY_ARN, messageRetentionSeconds: 1_209_600 }, { arn: SUB_DLQ_ARN, url: SUB_DLQ_URL }));
  add(r(T.queuePolicy, "sub-dlq-policy", {
    queueUrl: SUB_DLQ_URL,
    policy: doc(
      { Sid: "TopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: SUB_DLQ_ARN, Condition: { ArnEquals: { "aws:SourceArn": TOPIC_ARN } } },
      tlsDeny("sqs", SUB_DLQ_ARN),
    ),
  }));
  add(r(T.subscription, "subscription", {
    topic: TOPIC_ARN,
    protocol: "sqs",
    endpoint: QUEUE_ARN,
    rawMessageDelivery: true,
    filterPolicyScope: "MessageAttributes",
    filterPolicy: JSON.stringify({ transaction_type: ["payment"] }),
    redrivePolicy: JSON.stringify({ deadLetterTargetArn: SUB_DLQ_ARN }),
  }, { arn: `${TOPIC_ARN}:sub` }));
  const queueAlarm = (name: string, queue: string, metricName: string, threshold: number) =>
    add(r(T.metricAlarm, name, { name, namespace: "AWS/SQS", metricName, dimensions: { QueueName: queue }, statistic: "Maximum", comparisonOperator: "GreaterThanThreshold", threshold, period: 60, evaluationPeriods: 1, alarmActions: [ALARM_TOPIC_ARN] }, { arn: arn("cloudwatch", `alarm:${name}`) }));
  queueAlarm("queue-oldest-message", "bus-payment.fifo", "ApproximateAgeOfOldestMessage", 300);
  queueAlarm("dlq-messages", "bus-payment-dlq.fifo", "ApproximateNumberOfMessagesVisible", 0);
  queueAlarm("sub-dlq-messages", "bus-payment-subscription-dlq.fifo", "ApproximateNumberOfMessagesVisible", 0);
  add(r(T.table, "table", { name: "bus-payments", hashKey: "customer_id", serverSideEncryption: { enabled: true, kmsKeyArn: KEY_ARN }, pointInTimeRecovery: { enabled: true }, deletionProtectionEnabled: true }, { arn: arn("dynamodb", "table/bus-payments") }));
  w.table!.protect = true;
  add(r(T.role, "role", { name: "bus-payment", assumeRolePolicy: doc({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }) }, { arn: ROLE_ARN }));
  add(r(T.rolePolicy, "role-policy", {
    role: "bus-payment",
    policy: doc(
      { Sid: "SourceQueue", Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource: QUEUE_ARN },
      { Sid: "SourceKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY_ARN },
      { Sid: "DeadLetterQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: DLQ_ARN },
      { Sid: "DeadLetterKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: KEY_ARN },
      { Sid: "PaymentsTable", Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:GetItem"], Resource: arn("dynamodb", "table/bus-payments") },
      { Sid: "Tracing", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" },
    ),
  }));
  add(r(T.logGroup, "fn-logs", { name: "/aws/lambda/bus-payment", retentionInDays: 14, kmsKeyId: KEY_ARN }, { arn: arn("logs", "log-group:/aws/lambda/bus-payment") }));
  add(r(T.function, "fn", { name: "bus-payment", runtime: "nodejs22.x", role: ROLE_ARN, timeout: 30, layers: [OTEL], tracingConfig: { mode: "Active" }, loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/bus-payment" } }, { arn: FN_ARN }));
  add(r(T.eventSourceMapping, "trigger", { eventSourceArn: QUEUE_ARN, functionName: FN_ARN, batchSize: 10, functionResponseTypes: ["ReportBatchItemFailures"], scalingConfig: { maximumConcurrency: 5 } }));
  add(r(T.logGroup, "sfn-logs", { name: "/aws/vendedlogs/states/orders", retentionInDays: 30, kmsKeyId: KEY_ARN }, { arn: arn("logs", "log-group:/aws/vendedlogs/states/orders") }));
  add(r(T.stateMachine, "workflow", {
    name: "orders",
    roleArn: ROLE_ARN.replace("bus-payment", "orders"),
    definition: "{}",
    loggingConfiguration: { level: "ERROR", includeExecutionData: false, logDestination: `${arn("logs", "log-group:/aws/vendedlogs/states/orders")}:*` },
    tracingConfiguration: { enabled: true },
  }, { arn: STATE_MACHINE_ARN }));
  add(r(T.restApi, "api", { name: "orders-api" }, { id: "api123" }));
  add(r(T.method, "post-order", { restApi: "api123", resourceId: "res1", httpMethod: "POST", authorization: "NONE", apiKeyRequired: true, requestValidatorId: "body" }));
  add(r(T.method, "options-order", { restApi: "api123", resourceId: "res1", httpMethod: "OPTIONS", authorization: "NONE" }));
  // CORS for one origin: the preflight (MOCK, 200 responses) and the gateway responses' headers.
  const preflight = { restApi: "api123", resourceId: "res1", httpMethod: "OPTIONS" };
  add(r(T.integration, "options-order-integration", { ...preflight, type: "MOCK", requestTemplates: { "application/json": '{"statusCode": 200}' } }));
  add(r("aws:apigateway/methodResponse:MethodResponse", "options-order-200", { ...preflight, statusCode: "200", responseParameters: { "method.response.header.Access-Control-Allow-Origin": false } }));
  add(r("aws:apigateway/integrationResponse:IntegrationResponse", "options-order-integration-200", { ...preflight, statusCode: "200", responseParameters: { "method.response.header.Access-Control-Allow-Origin": "'https://shop.example.com'" } }));
  for (const type of ["DEFAULT_4XX", "DEFAULT_5XX"]) {
    add(r("aws:apigateway/response:Response", `cors-${type.toLowerCase()}`, {
      restApiId: "api123",
      responseType: type,
      responseTemplates: { "application/json": '{"message":$context.error.messageString}' },
      responseParameters: { "gatewayresponse.header.Access-Control-Allow-Origin": "'https://shop.example.com'", "gatewayresponse.header.Vary": "'Origin'" },
    }));
  }
  add(r(T.stage, "stage", { restApi: "api123", stageName: "dev", deployment: "dep1", accessLogSettings: { destinationArn: arn("logs", "log-group:/aws/apigateway/orders"), format: "{\"requestId\":\"$context.requestId\"}" }, xrayTracingEnabled: true }));
  add(r(T.methodSettings, "stage-settings", { restApi: "api123", stageName: "dev", methodPath: "*/*", settings: { loggingLevel: "ERROR", metricsEnabled: true, dataTraceEnabled: false } }));
  add(r(T.logGroup, "execution-logs", { name: EXECUTION_LOGS, retentionInDays: 30, kmsKeyId: KEY_ARN }, { arn: arn("logs", `log-group:${EXECUTION_LOGS}`) }));
  add(r(T.usagePlan, "usage-plan", { name: "orders-plan", apiStages: [{ apiId: "api123", stage: "dev" }], throttleSettings: { rateLimit: 50, burstLimit: 100 } }));
  add(r(T.permission, "api-permission", { action: "lambda:InvokeFunction", function: "bus-payment", principal: "apigateway.amazonaws.com", sourceArn: "arn:aws:execute-api:us-east-1:123456789012:api123/*/POST/order" }));
  const alarm = (name: string, namespace: string, metricName: string, dimensions: Record<string, string>) =>
    add(r(T.metricAlarm, name, { name, namespace, metricName, dimensions, statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0, period: 60, evaluationPeriods: 1, alarmActions: [ALARM_TOPIC_ARN], okActions: [ALARM_TOPIC_ARN] }));
  alarm("fn-errors", "AWS/Lambda", "Errors", { FunctionName: "bus-payment" });
  alarm("dlq-messages", "AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: "bus-payment-dlq.fifo" });
  alarm("workflow-failed", "AWS/States", "ExecutionsFailed", { StateMachineArn: STATE_MACHINE_ARN });
  return w;
}

/** Sets properties on a resource's inputs and state alike (a declared change). */
export function set(w: World, name: string, props: Record<string, unknown>): World {
  const res = w[name];
  if (!res) throw new Error(`No fixture resource "${name}"`);
  Object.assign(res.inputs, props);
  Object.assign(res.state, props);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) {
      delete res.inputs[k];
      delete res.state[k];
    }
  }
  return w;
}

/** Adds a resource (inputs = state, plus computed state). */
export function add(w: World, type: string, name: string, inputs: Record<string, unknown>, computed: Record<string, unknown> = {}): World {
  w[name] = r(type, name, inputs, computed);
  return w;
}

export function remove(w: World, name: string): World {
  delete w[name];
  return w;
}

export const policyDoc = doc;

/** The messages one policy of the pack reports over a list of resources. */
export async function messages(policyName: string, resources: DeclaredResource[] | World, config?: Record<string, unknown>): Promise<string[]> {
  const policy = policies.find((p) => p.name === policyName);
  if (!policy) throw new Error(`No policy "${policyName}" in the pack`);
  const list = Array.isArray(resources) ? resources : Object.values(resources);
  const { violations } = await evaluatePolicies([policy], list, { stack: "test", config: config ? { [policyName]: config } : undefined });
  return violations.map((v) => v.message);
}
