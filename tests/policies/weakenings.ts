/**
 * The weakenings of the pack's own mutation test (weakenings.test.ts): each is one Pulumi resource
 * transform that weakens one thing in the real program (a hole a review found, or the mistake an
 * existing policy is there to stop), the one policy that must fire for it, and exactly the messages
 * it must report. Every policy of the pack has at least one: adding a policy means adding its
 * weakening. The stack is staging (production-like) unless a weakening says otherwise; resources are
 * picked by logical name, and a transform that matches nothing fails the test (a stale name).
 */
import type { ResourceTransform } from "@pulumi/pulumi";
import { T } from "../../policies/lib/types";
import { SUPPORTED_RUNTIMES } from "../../policies/rules/supply-chain";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
const TX = "utility-customer-system-staging";
const DOFS = "dofs-staging";

type Props = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}
interface Doc {
  Version?: string;
  Statement: Statement[];
}

export interface Weakening {
  /** What is weakened: the hole, or the mistake the policy is there to stop. */
  what: string;
  /** The one policy that must fire. */
  policy: string;
  /** Exactly the messages it must report, in order. */
  messages: string[];
  /** @default "staging" */
  stack?: "dev" | "staging";
  /** The transform, and how many resources it changed in the last run. */
  transform: ResourceTransform & { applied: () => number };
}

/** A transform that changes the resource of this type and logical name (its props, its options). */
function weaken(type: string, name: string, edit: (props: Props, opts: { protect?: boolean }) => { props?: Props; protect?: boolean } | Props): Weakening["transform"] {
  let applied = 0;
  const transform = (async (args) => {
    if (args.type !== type || args.name !== name) return undefined;
    applied++;
    const opts = args.opts as { protect?: boolean };
    const result = edit(structuredClone(args.props) as Props, { ...opts });
    const changed = "props" in result || "protect" in result ? (result as { props?: Props; protect?: boolean }) : { props: result as Props };
    return { props: changed.props ?? args.props, opts: { ...args.opts, ...("protect" in changed ? { protect: changed.protect } : {}) } };
  }) as Weakening["transform"];
  transform.applied = () => applied;
  return transform;
}

/** Edits a JSON policy document property in place and returns the props. */
function editDoc(props: Props, property: string, edit: (doc: Doc) => void): Props {
  const doc = JSON.parse(String(props[property])) as Doc;
  edit(doc);
  props[property] = JSON.stringify(doc);
  return props;
}
const withoutSid = (sid: string) => (doc: Doc) => void (doc.Statement = doc.Statement.filter((s) => s.Sid !== sid));

/** The deterministic ids the mock runtime gives the orders unit's key and REST API on staging. */
const ORDERS_KEY = arn("kms", "key/cd69bd46-b835-016a-834e-8658346a6483");
const REST_API_ID = "45f84c4";
/** The orders unit's log groups, all encrypted with its key. */
const ORDERS_LOG_GROUPS = [
  ...["validate", "store", "fulfillment", "dlq", "api"].map((fn) => `/aws/lambda/${DOFS}-orders-${fn}`),
  `/aws/vendedlogs/states/${DOFS}-order-workflow`,
  `/aws/apigateway/${DOFS}-api/staging`,
  `API-Gateway-Execution-Logs_${REST_API_ID}/staging`,
];
const logsKeyMessage = (group: string) =>
  `Log group "${group}" is encrypted with KMS key "orders-key-key", whose policy does not allow logs.${REGION}.amazonaws.com to kms:Encrypt, kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo, kms:GenerateDataKey, kms:DescribeKey for it (encryption context ${arn("logs", `log-group:${group}`)}): CloudWatch Logs refuses the key and the log group is not created; add logs.${REGION}.amazonaws.com to the key policy (cloudWatchLogsKeyUser).`;

export const WEAKENINGS: Weakening[] = [
  // ── The holes the review found ─────────────────────────────────────────────────────────────────
  {
    what: "an execution role whose trust policy lets { AWS: \"*\" } assume it",
    policy: "iam-role-trust-restricted",
    transform: weaken(T.role, "orders-api-role", (p) => editDoc(p, "assumeRolePolicy", (d) => void d.Statement.push({ Sid: "Anyone", Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }))),
    messages: [
      `statement "Anyone" of role "${DOFS}-orders-api"'s trust policy lets any AWS principal ("*") assume the role: name the service or the exact role ARNs that assume it.`,
    ],
  },
  {
    what: "an execution role trusted by Step Functions instead of Lambda",
    policy: "iam-role-trust-matches-use",
    transform: weaken(T.role, "orders-validate-role", (p) => editDoc(p, "assumeRolePolicy", (d) => void (d.Statement = [{ Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole" }]))),
    messages: [
      `Role "${DOFS}-orders-validate" is used by Lambda function "${DOFS}-orders-validate" but its trust policy does not let lambda.amazonaws.com assume it: AWS rejects the resource (the role cannot be assumed); add { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }.`,
      `Role "${DOFS}-orders-validate" is used by Lambda function "${DOFS}-orders-validate" but its trust policy also lets states.amazonaws.com assume it: anything that service runs for anyone in the account could act with this role's permissions; remove states.amazonaws.com from the trust policy.`,
    ],
  },
  {
    what: "a function on nodejs16.x (deprecated; AWS blocks creating it)",
    policy: "lambda-runtime-supported",
    transform: weaken(T.function, "orders-store-function", (p) => ({ ...p, runtime: "nodejs16.x" })),
    messages: [
      `Function "${DOFS}-orders-store" uses the runtime nodejs16.x, which is not supported for new functions (allowed: ${SUPPORTED_RUNTIMES.join(", ")}): AWS no longer patches it and blocks creating functions on it; move to a supported runtime.`,
    ],
  },
  {
    what: "an OTEL layer from another account and region whose name merely starts with aws-otel",
    policy: "lambda-layer-provenance",
    transform: weaken(T.function, "orders-api-function", (p) => ({ ...p, layers: ["arn:aws:lambda:eu-west-1:999999999999:layer:aws-otel-collector-amd64-ver-0-98-0:5"] })),
    messages: [
      `Function "${DOFS}-orders-api" runs layer arn:aws:lambda:eu-west-1:999999999999:layer:aws-otel-collector-amd64-ver-0-98-0:5, published by account 999999999999, which is not an allowed publisher (901920570463, 615299751070): a layer runs inside the function with its role's permissions; use the layer from its publisher's account, or review it and add 999999999999 to allowedAccounts.`,
      `Function "${DOFS}-orders-api" runs in us-east-1 but its layer arn:aws:lambda:eu-west-1:999999999999:layer:aws-otel-collector-amd64-ver-0-98-0:5 is published in eu-west-1: Lambda attaches only layers of the function's own region (CreateFunction fails); use the layer version ARN published in us-east-1.`,
    ],
  },
  {
    what: "an alarm with no actions (a DLQ fills up and nobody hears)",
    policy: "cloudwatch-alarm-actions-enabled",
    transform: weaken(T.metricAlarm, "monitoring-transactions-payment-dlq-messages", (p) => ({ ...p, alarmActions: [], okActions: [] })),
    messages: [
      "Alarm \"utility-serverless-staging-payment-dlq-messages\" has no alarm action: when it fires nobody hears; set alarmActions to the stack's alarm topic ARN.",
    ],
  },
  {
    what: "an alarm with actionsEnabled: false",
    policy: "cloudwatch-alarm-actions-enabled",
    transform: weaken(T.metricAlarm, "monitoring-orders-workflow-failed-executions", (p) => ({ ...p, actionsEnabled: false })),
    messages: [
      "Alarm \"utility-serverless-staging-workflow-failed-executions\" has its actions disabled (actionsEnabled: false): when it fires nobody hears; remove actionsEnabled or set it to true.",
    ],
  },
  {
    what: "a function whose errors no alarm watches",
    policy: "cloudwatch-alarm-coverage",
    transform: weaken(T.metricAlarm, "monitoring-orders-fulfillment-errors", (p) => ({ ...p, metricName: "Invocations" })),
    messages: [
      `Function "${DOFS}-orders-fulfillment" has no alarm on its errors: failed invocations go unnoticed; add an alarm on AWS/Lambda Errors with dimension FunctionName "${DOFS}-orders-fulfillment" that notifies the alarm topic.`,
    ],
  },
  {
    what: "a dead-letter queue whose messages no alarm watches",
    policy: "cloudwatch-alarm-coverage",
    transform: weaken(T.metricAlarm, "monitoring-transactions-bank_account_setup-dlq-messages", (p) => ({ ...p, dimensions: { QueueName: `${TX}-payment-processing-dlq.fifo` } })),
    messages: [
      `Dead-letter queue "${TX}-bank-account-setup-dlq.fifo" has no alarm on its visible messages: a message that lands there is never noticed; add an alarm on AWS/SQS ApproximateNumberOfMessagesVisible with dimension QueueName "${TX}-bank-account-setup-dlq.fifo" (threshold 0).`,
    ],
  },
  {
    what: "a KMS key disabled (every queue, topic and table using it stops)",
    policy: "kms-key-enabled",
    transform: weaken(T.key, "transactions-key-key", (p) => ({ ...p, isEnabled: false })),
    messages: [
      "KMS key \"transactions-key-key\" is disabled (isEnabled: false): every queue, topic, table and log group it encrypts stops working; remove isEnabled or set it to true.",
    ],
  },
  {
    what: "a KMS key with a 7-day deletion window",
    policy: "kms-key-deletion-window",
    transform: weaken(T.key, "orders-key-key", (p) => ({ ...p, deletionWindowInDays: 7 })),
    messages: [
      "KMS key \"orders-key-key\" is deleted 7 days after a deletion is scheduled, less than the minimum 30: everything it encrypts is lost for good then; set deletionWindowInDays to at least 30.",
    ],
  },
  {
    what: "a DynamoDB table without deletion protection",
    policy: "dynamodb-table-deletion-protection",
    transform: weaken(T.table, "transactions-payments", (p) => ({ ...p, deletionProtectionEnabled: false })),
    messages: [
      `Table "${TX}-payments" has no deletion protection: a replaced or destroyed stack deletes it with every item; set deletionProtectionEnabled to true (a stack whose tables are disposable sets tableProtectionOptOut to the reason instead).`,
    ],
  },
  {
    what: "a ledger table without Pulumi's protect",
    policy: "dynamodb-ledger-table-protected",
    transform: weaken(T.table, "orders-orders", (p) => ({ props: p, protect: false })),
    messages: [
      `Table "${DOFS}-orders" holds records that do not expire but is not protected: a change that replaces it, or a pulumi destroy, deletes the ledger; declare it with the protect resource option (or, if its items all expire, tag it DataClass=ephemeral with TTL on).`,
    ],
  },
  {
    what: "dev's opt-out without its reason (the DeletionProtectionOptOut tag)",
    policy: "dynamodb-table-deletion-protection",
    stack: "dev",
    transform: weaken(T.table, "orders-idempotency", (p) => ({ ...p, tags: { DataClass: "ephemeral" } })),
    messages: [
      "Table \"dofs-dev-idempotency\" has no deletion protection: a replaced or destroyed stack deletes it with every item; set deletionProtectionEnabled to true (a stack whose tables are disposable sets tableProtectionOptOut to the reason instead).",
    ],
  },
  {
    what: "the API stage with X-Ray tracing off",
    policy: "apigateway-stage-xray-tracing",
    transform: weaken(T.stage, "orders-stage", (p) => ({ ...p, xrayTracingEnabled: false })),
    messages: [
      "API stage \"staging\" does not trace with X-Ray: set xrayTracingEnabled to true.",
    ],
  },
  {
    what: "the API stage tracing request and response data into its logs",
    policy: "apigateway-stage-execution-logging",
    transform: weaken(T.methodSettings, "orders-stage-settings", (p) => ({ ...p, settings: { ...(p.settings as Props), dataTraceEnabled: true } })),
    messages: [
      "API stage \"staging\" traces data for \"*/*\" (dataTraceEnabled): whole requests and responses, customer data included, go to the logs; set dataTraceEnabled to false.",
    ],
  },
  {
    what: "the API stage with execution logging off",
    policy: "apigateway-stage-execution-logging",
    transform: weaken(T.methodSettings, "orders-stage-settings", (p) => ({ ...p, settings: { ...(p.settings as Props), loggingLevel: "OFF" } })),
    messages: [
      "API stage \"staging\" logs executions at OFF: set the \"*/*\" method settings' loggingLevel to ERROR.",
    ],
  },
  {
    what: "a log group stored without the unit's key",
    policy: "cloudwatch-log-group-encrypted-with-cmk",
    transform: weaken(T.logGroup, "orders-workflow-logs", (p) => ({ ...p, kmsKeyId: undefined })),
    messages: [
      `Log group "/aws/vendedlogs/states/${DOFS}-order-workflow" is not encrypted with a customer managed key: set kmsKeyId to the ARN of a key whose policy admits logs.<region>.amazonaws.com.`,
    ],
  },
  // ── What each existing policy is there to stop ────────────────────────────────────────────────
  {
    what: "the transaction topic on the AWS managed key",
    policy: "sns-topic-encrypted-with-cmk",
    transform: weaken(T.topic, "transactions-topic", (p) => ({ ...p, kmsMasterKeyId: "alias/aws/sns" })),
    messages: [
      `Topic "${TX}-transaction-processing.fifo" uses the AWS managed key alias/aws/sns, which cannot be shared with other services or audited per use: set kmsMasterKeyId to a customer managed KMS key.`,
    ],
  },
  {
    what: "a queue not encrypted at rest",
    policy: "sqs-queue-encrypted-with-cmk",
    transform: weaken(T.queue, "orders-fulfillment-dlq-failures", (p) => ({ ...p, kmsMasterKeyId: undefined })),
    messages: [
      `Queue "${DOFS}-fulfillment-dlq-failures" is not encrypted at rest: set kmsMasterKeyId to the ARN of a customer managed KMS key.`,
    ],
  },
  {
    what: "a table on an AWS owned key",
    policy: "dynamodb-table-encrypted-with-cmk",
    transform: weaken(T.table, "orders-failed-orders", (p) => ({ ...p, serverSideEncryption: undefined })),
    messages: [
      `Table "${DOFS}-failed-orders" is encrypted only with an AWS owned key: set serverSideEncryption to { enabled: true, kmsKeyArn: <customer managed key ARN> }.`,
    ],
  },
  {
    what: "a key that never rotates",
    policy: "kms-key-rotation-enabled",
    transform: weaken(T.key, "monitoring-key-key", (p) => ({ ...p, enableKeyRotation: false })),
    messages: [
      "KMS key \"monitoring-key-key\" does not rotate its key material: set enableKeyRotation to true.",
    ],
  },
  {
    what: "a queue policy without the TLS deny",
    policy: "queue-topic-policy-denies-insecure-transport",
    transform: weaken(T.queuePolicy, "orders-fulfillment-dlq-policy", (p) => editDoc(p, "policy", withoutSid("DenyInsecureTransport"))),
    messages: [
      "The SQS policy in \"policy\" does not deny requests sent without TLS: add { Effect: \"Deny\", Principal: \"*\", Action: \"sqs:*\", Condition: { Bool: { \"aws:SecureTransport\": \"false\" } } }.",
    ],
  },
  {
    what: "a queue left without its queue policy (it now applies to another queue)",
    policy: "queue-topic-has-resource-policy",
    transform: weaken(T.queuePolicy, "orders-fulfillment-dlq-failures-policy", (p) => ({ ...p, queueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/somewhere-else` })),
    messages: [
      `Queue "${DOFS}-fulfillment-dlq-failures" has no queue policy, so nothing denies requests sent without TLS: add an aws.sqs.QueuePolicy with the denyInsecureTransport("sqs", queue.arn) statement.`,
    ],
  },
  {
    what: "a consumer linked with broader access (sqs:* on its source queue)",
    policy: "iam-no-wildcard-actions",
    transform: weaken(T.rolePolicy, "transactions-payment-processing-consumer-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "SourceQueue").forEach((s) => void (s.Action = ["sqs:*"])))),
    messages: [
      "statement \"SourceQueue\" in \"policy\" allows \"sqs:*\": replace it with the exact actions needed (e.g. sqs:SendMessage, dynamodb:PutItem).",
    ],
  },
  {
    what: "a table statement widened to every resource",
    policy: "iam-no-wildcard-resources",
    transform: weaken(T.rolePolicy, "orders-store-policy", (p) => editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "OrdersTable").forEach((s) => void (s.Resource = "*")))),
    messages: [
      "statement \"OrdersTable\" in \"policy\" allows dynamodb:GetItem, dynamodb:BatchGetItem, dynamodb:Query, dynamodb:ConditionCheckItem, dynamodb:DescribeTable, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:BatchWriteItem on \"*\": scope Resource to the ARNs of the resources used (only actions without resource-level permissions, like xray:PutTraceSegments, may use \"*\").",
    ],
  },
  {
    what: "a role given AmazonSQSFullAccess",
    policy: "iam-no-broad-managed-policies",
    transform: weaken(T.role, "orders-fulfillment-role", (p) => ({ ...p, managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSQSFullAccess"] })),
    messages: [
      "Attaches the broad managed policy arn:aws:iam::aws:policy/AmazonSQSFullAccess: detach it and grant only the actions the principal uses, on its resources.",
    ],
  },
  {
    what: "two functions sharing one role",
    policy: "lambda-one-role-per-function",
    transform: weaken(T.function, "orders-validate-function", (p) => ({ ...p, role: `arn:aws:iam::${ACCOUNT}:role/${DOFS}-orders-store` })),
    messages: [
      `Function "${DOFS}-orders-validate" shares its execution role arn:aws:iam::123456789012:role/${DOFS}-orders-store with "${DOFS}-orders-store": give each function its own role with only its own permissions.`,
      `Function "${DOFS}-orders-store" shares its execution role arn:aws:iam::123456789012:role/${DOFS}-orders-store with "${DOFS}-orders-validate": give each function its own role with only its own permissions.`,
    ],
  },
  {
    what: "a Lambda permission for anyone",
    policy: "resource-policy-no-public-principal",
    transform: weaken(T.permission, "orders-get-order-permission", (p) => ({ ...p, principal: "*", sourceArn: undefined })),
    messages: [
      "Lambda permission lets any principal invoke the function: set principal to the service or account that calls it, and sourceArn.",
    ],
  },
  {
    what: "a queue without its DLQ",
    policy: "sqs-queue-has-dlq",
    transform: weaken(T.queue, "orders-fulfillment", (p) => ({ ...p, redrivePolicy: undefined })),
    messages: [
      `Queue "${DOFS}-fulfillment" has no dead-letter queue: set redrivePolicy to { deadLetterTargetArn: <its DLQ's ARN>, maxReceiveCount: <receives before it moves> }.`,
    ],
  },
  {
    what: "a DLQ that keeps messages a minute",
    policy: "sqs-dlq-retention-covers-source",
    transform: weaken(T.queue, "transactions-payment-processing-dlq", (p) => ({ ...p, messageRetentionSeconds: 60 })),
    messages: [
      `Dead-letter queue "${TX}-payment-processing-dlq.fifo" keeps messages 60 s, less than its source "${TX}-payment-processing.fifo" (345600 s): set its messageRetentionSeconds to at least 345600 (1209600 is the maximum).`,
    ],
  },
  {
    what: "the FIFO queues behind a standard topic",
    policy: "sns-fifo-queue-behind-fifo-topic",
    transform: weaken(T.topic, "transactions-topic", (p) => ({ ...p, fifoTopic: false, name: `${TX}-transaction-processing`, contentBasedDeduplication: undefined })),
    messages: [
      `FIFO queue "${TX}-bank-account-setup.fifo" is subscribed to the standard topic "${TX}-transaction-processing": SNS cannot deliver a standard topic to a FIFO queue; make the topic FIFO (fifoTopic: true, name ending in .fifo).`,
      `FIFO queue "${TX}-payment-processing.fifo" is subscribed to the standard topic "${TX}-transaction-processing": SNS cannot deliver a standard topic to a FIFO queue; make the topic FIFO (fifoTopic: true, name ending in .fifo).`,
    ],
  },
  {
    what: "a source queue whose visibility is twice its consumer's timeout (advisory: six is a rule of thumb)",
    policy: "sqs-visibility-timeout-factor",
    transform: weaken(T.queue, "transactions-bank-account-setup-queue", (p) => ({ ...p, visibilityTimeoutSeconds: 60 })),
    messages: [
      `Queue "${TX}-bank-account-setup.fifo" has a visibility timeout of 60 s, less than 6 × the 30 s timeout of its consumer "${TX}-bank-account-setup": set visibilityTimeoutSeconds to at least 180.`,
    ],
  },
  {
    what: "a consumer that no longer reports partial batch failures",
    policy: "lambda-esm-reports-batch-item-failures",
    transform: weaken(T.eventSourceMapping, "orders-fulfillment-trigger", (p) => ({ ...p, functionResponseTypes: [] })),
    messages: [
      `Event source mapping "orders-fulfillment-trigger" from arn:aws:sqs:us-east-1:123456789012:${DOFS}-fulfillment does not report partial batch failures: set functionResponseTypes to ["ReportBatchItemFailures"].`,
    ],
  },
  {
    what: "a table without point-in-time recovery",
    policy: "dynamodb-table-pitr-enabled",
    transform: weaken(T.table, "transactions-bank-accounts", (p) => ({ ...p, pointInTimeRecovery: { enabled: false } })),
    messages: [
      `Table "${TX}-bank-accounts" has no point-in-time recovery: set pointInTimeRecovery to { enabled: true }.`,
    ],
  },
  {
    what: "a function without the OTEL layer",
    policy: "lambda-otel-layer",
    transform: weaken(T.function, "orders-dlq-handler-function", (p) => ({ ...p, layers: [] })),
    messages: [
      `Function "${DOFS}-orders-dlq" has no OpenTelemetry layer (layers: none): add the ADOT collector layer of its region (stack setting otelLayerArn).`,
    ],
  },
  {
    what: "a function without active tracing",
    policy: "lambda-active-tracing",
    transform: weaken(T.function, "transactions-bank-account-setup-consumer-function", (p) => ({ ...p, tracingConfig: { mode: "PassThrough" } })),
    messages: [
      `Function "${TX}-bank-account-setup" does not trace actively (tracingConfig.mode is PassThrough): set tracingConfig to { mode: "Active" }.`,
    ],
  },
  {
    what: "a function on Lambda's 3 s default timeout",
    policy: "lambda-explicit-timeout",
    transform: weaken(T.function, "orders-validate-function", (p) => ({ ...p, timeout: undefined })),
    messages: [
      `Function "${DOFS}-orders-validate" has no explicit timeout and would run with Lambda's 3 s default: set timeout (seconds).`,
    ],
  },
  {
    what: "a log group that never expires",
    policy: "log-group-retention",
    transform: weaken(T.logGroup, "orders-api-access-logs", (p) => ({ ...p, retentionInDays: undefined })),
    messages: [
      `Log group "/aws/apigateway/${DOFS}-api/staging" never expires its logs: set retentionInDays (at least 7).`,
    ],
  },
  {
    what: "a function logging to a group the stack does not declare",
    policy: "lambda-has-log-group",
    transform: weaken(T.function, "orders-store-function", (p) => ({ ...p, loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/somewhere-else" } })),
    messages: [
      `Function "${DOFS}-orders-store" logs to "/aws/lambda/somewhere-else", which the stack does not declare: Lambda would create it with no retention; declare an aws.cloudwatch.LogGroup named "/aws/lambda/somewhere-else" with retentionInDays.`,
    ],
  },
  {
    what: "the state machine without tracing",
    policy: "sfn-logging-and-tracing",
    transform: weaken(T.stateMachine, "orders-workflow", (p) => ({ ...p, tracingConfiguration: { enabled: false } })),
    messages: [
      `State machine "${DOFS}-order-workflow" does not trace: set tracingConfiguration to { enabled: true }.`,
    ],
  },
  {
    what: "the API stage without access logs",
    policy: "apigateway-stage-access-logging",
    transform: weaken(T.stage, "orders-stage", (p) => ({ ...p, accessLogSettings: undefined })),
    messages: [
      "API stage \"staging\" writes no access logs: set accessLogSettings to { destinationArn: <log group ARN>, format: <access log format> }.",
    ],
  },
  {
    what: "the API without throttling (usage plan without throttle settings)",
    policy: "apigateway-stage-throttling",
    transform: weaken(T.usagePlan, "orders-usage-plan", (p) => ({ ...p, throttleSettings: undefined })),
    messages: [
      "API stage \"staging\" is not throttled: add MethodSettings with methodPath \"*/*\" and throttlingRateLimit/throttlingBurstLimit for it, or a usage plan on it with throttleSettings.",
    ],
  },
  {
    what: "POST /order open to anyone",
    policy: "apigateway-method-authorization",
    transform: weaken(T.method, "orders-post-order", (p) => ({ ...p, apiKeyRequired: false })),
    messages: [
      "Method POST on resource orders-order-resource-1caef56 is open to anyone: set apiKeyRequired to true, or authorization to \"AWS_IAM\", \"COGNITO_USER_POOLS\" or \"CUSTOM\" with an authorizer.",
    ],
  },
  {
    what: "GET /order/{id} without a request validator",
    policy: "apigateway-request-validation",
    transform: weaken(T.method, "orders-get-order", (p) => ({ ...p, requestValidatorId: undefined })),
    messages: [
      "Method GET on resource orders-order-id-resource-7f4ebce has no request validator: set requestValidatorId to an aws.apigateway.RequestValidator (with requestModels for a body, requestParameters for path and query).",
    ],
  },
  {
    what: "a gateway response that goes back to $util.escapeJavaScript (AWS would send it literally)",
    policy: "apigateway-gateway-response-no-vtl",
    transform: weaken("aws:apigateway/response:Response", "orders-bad-request-body", (p) => ({ ...p, responseTemplates: { "application/json": '{"message":"$util.escapeJavaScript($context.error.validationErrorString)"}' } })),
    messages: [
      "Gateway response BAD_REQUEST_BODY (application/json) uses $util, which API Gateway does not evaluate in gateway responses (simple variable substitution only): clients would get the template text literally. Use static JSON with $context variables, e.g. {\"message\":$context.error.messageString,\"requestId\":\"$context.requestId\"}.",
    ],
  },
  {
    what: "a 5xx from the gateway without Access-Control-Allow-Origin (a page would see a network error, not the answer)",
    policy: "apigateway-cors-complete",
    transform: weaken("aws:apigateway/response:Response", "orders-default-5xx", (p) => ({
      ...p,
      responseParameters: Object.fromEntries(Object.entries(p.responseParameters as Props).filter(([k]) => k !== "gatewayresponse.header.Access-Control-Allow-Origin")),
    })),
    messages: [`Gateway response DEFAULT_5XX of REST API ${REST_API_ID} has no Access-Control-Allow-Origin header: a page sees a network error instead of the answer.`],
  },
  {
    what: "a preflight behind the API key (browsers never send it on a preflight)",
    policy: "apigateway-cors-complete",
    transform: weaken(T.method, "orders-order-id-options", (p) => ({ ...p, apiKeyRequired: true })),
    messages: [
      "The OPTIONS method of resource orders-order-id-resource-7f4ebce requires authorization or an API key, which a browser's preflight never sends: set authorization NONE and apiKeyRequired false.",
    ],
  },
  {
    what: "a dashboard name with a space",
    policy: "aws-name-valid",
    transform: weaken(T.dashboard, "monitoring-dashboard", (p) => ({ ...p, dashboardName: "utility serverless staging" })),
    messages: [
      "The CloudWatch dashboard name \"utility serverless staging\" has characters AWS rejects: use only letters, digits, '-' and '_'.",
    ],
  },
  {
    what: "a FIFO DLQ whose name lost .fifo",
    policy: "fifo-name-suffix",
    transform: weaken(T.queue, "transactions-payment-processing-dlq", (p) => ({ ...p, name: `${TX}-payment-processing-dlq` })),
    messages: [
      `"${TX}-payment-processing-dlq" is FIFO (fifoQueue: true) but its name does not end in ".fifo": AWS rejects it; append ".fifo".`,
    ],
  },
  {
    what: "a FIFO consumer reading batches of 20",
    policy: "lambda-sqs-event-source-settings-valid",
    transform: weaken(T.eventSourceMapping, "transactions-payment-processing-consumer-trigger", (p) => ({ ...p, batchSize: 20 })),
    messages: [
      `Event source mapping "transactions-payment-processing-consumer-trigger" reads the FIFO queue arn:aws:sqs:us-east-1:123456789012:${TX}-payment-processing.fifo in batches of 20: FIFO queues allow at most 10; set batchSize to 10 or less.`,
    ],
  },
  {
    what: "a source queue whose visibility is below its consumer's timeout",
    policy: "lambda-sqs-visibility-exceeds-function-timeout",
    transform: weaken(T.queue, "orders-fulfillment", (p) => ({ ...p, visibilityTimeoutSeconds: 20 })),
    messages: [
      `Queue "${DOFS}-fulfillment" has a visibility timeout of 20 s, below the 30 s timeout of its consumer "${DOFS}-orders-fulfillment": AWS rejects the event source mapping; set visibilityTimeoutSeconds to at least 30 (6 × is recommended).`,
    ],
  },
  {
    what: "a filter policy with a bare value",
    policy: "sns-filter-policy-valid",
    transform: weaken(T.subscription, "transactions-payment-processing-subscription", (p) => ({ ...p, filterPolicy: JSON.stringify({ transaction_type: "payment" }) })),
    messages: [
      "Subscription \"transactions-payment-processing-subscription\" has a filter policy SNS rejects: \"transaction_type\" must be an array of values, e.g. [\"payment\"].",
    ],
  },
  {
    what: "a role policy without Version",
    policy: "policy-document-has-version",
    transform: weaken(T.rolePolicy, "orders-api-policy", (p) => editDoc(p, "policy", (d) => void delete d.Version)),
    messages: [
      "The policy document in \"policy\" has no Version: set \"Version\": \"2012-10-17\".",
    ],
  },
  {
    what: "a FIFO queue with a standard DLQ",
    policy: "sqs-dlq-matches-source-type",
    transform: weaken(T.queue, "transactions-bank-account-setup-dlq", (p) => ({
      ...p,
      name: `${TX}-bank-account-setup-dlq`,
      fifoQueue: undefined,
      contentBasedDeduplication: undefined,
      deduplicationScope: undefined,
      fifoThroughputLimit: undefined,
    })),
    messages: [
      `Queue "${TX}-bank-account-setup.fifo" is FIFO but its dead-letter queue "${TX}-bank-account-setup-dlq" is standard: AWS rejects the redrive policy; make the DLQ FIFO.`,
    ],
  },
  {
    what: "a retention CloudWatch Logs does not offer",
    policy: "cloudwatch-log-retention-allowed-value",
    transform: weaken(T.logGroup, "orders-api-execution-logs", (p) => ({ ...p, retentionInDays: 10 })),
    messages: [
      `Log group "API-Gateway-Execution-Logs_${REST_API_ID}/staging" has retentionInDays 10, which CloudWatch Logs rejects: use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.`,
    ],
  },
  {
    what: "a consumer role that may not delete what it receives",
    policy: "lambda-sqs-trigger-role-can-consume",
    transform: weaken(T.rolePolicy, "orders-dlq-handler-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "SourceQueue").forEach((s) => void (s.Action = (s.Action as string[]).filter((a) => a !== "sqs:DeleteMessage"))))),
    messages: [
      `Function "${DOFS}-orders-dlq" is triggered by "${DOFS}-fulfillment-dlq" but its role may not sqs:DeleteMessage on it: AWS rejects the event source mapping; grant them on arn:aws:sqs:us-east-1:123456789012:${DOFS}-fulfillment-dlq.`,
    ],
  },
  {
    what: "a route queue whose policy admits another topic",
    policy: "sns-sqs-subscription-queue-policy-allows-topic",
    transform: weaken(T.queuePolicy, "transactions-payment-processing-queue-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "TransactionTopicDelivers").forEach((s) => void (s.Condition = { ArnEquals: { "aws:SourceArn": arn("sns", "another-topic.fifo") } })))),
    messages: [
      `Queue "${TX}-payment-processing.fifo" is subscribed to arn:aws:sns:us-east-1:123456789012:${TX}-transaction-processing.fifo but its queue policy does not let sns.amazonaws.com send from that topic: SNS would drop every message; allow sqs:SendMessage to Service sns.amazonaws.com with ArnEquals aws:SourceArn = the topic ARN.`,
    ],
  },
  {
    what: "the transaction key no longer letting SNS deliver into the queues and their subscriptions' DLQs",
    policy: "kms-key-policy-allows-delivering-services",
    transform: weaken(T.key, "transactions-key-key", (p) => editDoc(p, "policy", withoutSid("AllowSnsToUseKey"))),
    // Each route queue and its subscription's dead-letter queue (issue 11), which SNS writes into too.
    messages: ["bank-account-setup", "payment-processing"].flatMap((route) => [
      `Queue "${TX}-${route}.fifo" is encrypted with KMS key "transactions-key-key", whose policy does not allow sns.amazonaws.com to kms:GenerateDataKey and kms:Decrypt: nothing would be delivered; add sns.amazonaws.com to the key's serviceUsers.`,
      `Dead-letter queue "${TX}-${route}-subscription-dlq.fifo" is encrypted with KMS key "transactions-key-key", whose policy does not allow sns.amazonaws.com to kms:GenerateDataKey and kms:Decrypt: nothing would be delivered; add sns.amazonaws.com to the key's serviceUsers.`,
    ]),
  },
  {
    what: "the orders key no longer admitting CloudWatch Logs for the unit's log groups",
    policy: "kms-key-policy-allows-delivering-services",
    transform: weaken(T.key, "orders-key-key", (p) => editDoc(p, "policy", withoutSid("AllowLogsToUseKey"))),
    messages: ORDERS_LOG_GROUPS.map(logsKeyMessage),
  },
  {
    what: "the state machine's role without the key of the queue it sends orders to",
    policy: "kms-key-usable-by-roles",
    transform: weaken(T.rolePolicy, "orders-workflow-policy", (p) => editDoc(p, "policy", withoutSid("FulfillmentQueueKey"))),
    messages: [
      `Role "${DOFS}-order-workflow" may sqs:SendMessage on "${DOFS}-fulfillment" but not kms:GenerateDataKey, kms:Decrypt on its KMS key ${ORDERS_KEY}: every call would fail with KMS.AccessDeniedException; grant kms:GenerateDataKey, kms:Decrypt on the key.`,
    ],
  },
  // ── Issue 11: what is lost without a word (subscription DLQs, alarms that see failed messages,
  //    run-time timeouts, the FIFO topic's throughput scope) ─────────────────────────────────────
  // Ported from the noloss branch's program.test.ts cases. Two of them cannot fire one policy alone
  // here, so their weakening is the part only the issue-11 policy sees:
  // - a subscription's redrivePolicy dropped outright leaves its DLQ an ordinary queue without a DLQ
  //   (sqs-queue-has-dlq fires as well; the "no dead-letter queue" message is in rules.test.ts):
  //   here the subscription's DLQ is of the wrong kind, or its policy does not admit the topic;
  // - a consumed queue's DLQ alarm without actions is cloudwatch-alarm-actions-enabled's (and one on
  //   another queue cloudwatch-alarm-coverage's): here the consumed queue's own age alarm is gone.
  {
    what: "a FIFO topic's subscription dead-lettering to a standard queue",
    policy: "sns-subscription-has-dlq",
    transform: weaken(T.queue, "transactions-payment-processing-subscription-dlq", (p) => ({
      ...p,
      name: `${TX}-payment-processing-subscription-dlq`,
      fifoQueue: undefined,
      contentBasedDeduplication: undefined,
      deduplicationScope: undefined,
      fifoThroughputLimit: undefined,
    })),
    messages: [
      `Subscription "transactions-payment-processing-subscription" of the FIFO topic "${TX}-transaction-processing.fifo" dead-letters to the standard queue "${TX}-payment-processing-subscription-dlq": SNS requires a FIFO queue as the DLQ of a FIFO topic's subscription; make it FIFO (fifoQueue: true, name ending in .fifo).`,
    ],
  },
  {
    what: "a subscription's dead-letter queue whose policy admits another topic",
    policy: "sns-subscription-has-dlq",
    transform: weaken(T.queuePolicy, "transactions-bank-account-setup-subscription-dlq-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "TransactionTopicDelivers").forEach((s) => void (s.Condition = { ArnEquals: { "aws:SourceArn": arn("sns", "another-topic.fifo") } })))),
    messages: [
      `Dead-letter queue "${TX}-bank-account-setup-subscription-dlq.fifo" of subscription "transactions-bank-account-setup-subscription" has no queue policy statement letting sns.amazonaws.com send from ${arn("sns", `${TX}-transaction-processing.fifo`)}: SNS could not move undeliverable messages there either; allow sqs:SendMessage to Service sns.amazonaws.com with ArnEquals aws:SourceArn = the topic ARN.`,
    ],
  },
  {
    what: "the workflow's execution timeout back at a fixed 300 s (below its slowest path)",
    policy: "sfn-execution-timeout-covers-retries",
    transform: weaken(T.stateMachine, "orders-workflow", (p) => ({ ...p, definition: JSON.stringify({ ...(JSON.parse(String(p.definition)) as Props), TimeoutSeconds: 300 }) })),
    messages: [
      `State machine "${DOFS}-order-workflow" times out after 300 s, but its slowest path (every Task retried to the end) takes up to 806 s: a slow failure ends the execution before its failure handling; set the definition's TimeoutSeconds to at least 806.`,
    ],
  },
  {
    what: "a consumed queue whose oldest message no alarm watches (failures through batchItemFailures leave Errors at 0)",
    policy: "sqs-consumer-queue-alarmed",
    transform: weaken(T.metricAlarm, "monitoring-transactions-payment-oldest-message", (p) => ({ ...p, metricName: "NumberOfMessagesReceived" })),
    messages: [
      `Queue "${TX}-payment-processing.fifo" is consumed by a function but no alarm (with an action) watches the age of its oldest message: a consumer failing every message through batchItemFailures shows no Lambda error; alarm on ApproximateAgeOfOldestMessage.`,
    ],
  },
  {
    what: "the API function timing out after API Gateway (30 s)",
    policy: "lambda-api-timeout-below-integration-timeout",
    transform: weaken(T.function, "orders-api-function", (p) => ({ ...p, timeout: 30 })),
    messages: [
      `Function "${DOFS}-orders-api" may run 30 s, but its API Gateway integration "orders-post-order-integration" gives up after 29 s: the client gets a 504 while the function runs on; set its timeout to at most 28 s.`,
      `Function "${DOFS}-orders-api" may run 30 s, but its API Gateway integration "orders-get-order-integration" gives up after 29 s: the client gets a 504 while the function runs on; set its timeout to at most 28 s.`,
    ],
  },
  {
    what: "the transaction topic without its throughput scope",
    policy: "sns-fifo-topic-throughput-scope-set",
    transform: weaken(T.topic, "transactions-topic", (p) => ({ ...p, fifoThroughputScope: undefined })),
    messages: [
      `FIFO topic "${TX}-transaction-processing.fifo" leaves fifoThroughputScope unset: a scope left out is never sent, so a topic once in MessageGroup scope stays there; set it to "Topic" (or "MessageGroup" with high-throughput queues).`,
    ],
  },
  {
    what: "the transaction topic in MessageGroup scope while its queues are limited per queue",
    policy: "sns-fifo-topic-throughput-scope-set",
    transform: weaken(T.topic, "transactions-topic", (p) => ({ ...p, fifoThroughputScope: "MessageGroup" })),
    messages: [
      ...["bank-account-setup", "payment-processing"].map((route) => `FIFO topic "${TX}-transaction-processing.fifo" is in MessageGroup (high-throughput) scope but delivers to "${TX}-${route}.fifo", whose throughput is limited per queue: set the queue's fifoThroughputLimit to "perMessageGroupId" and deduplicationScope to "messageGroup", or the topic's scope to "Topic".`),
    ],
  },
  // Issue 15's policies over what issue 11 added: the subscriptions' DLQs, the EventBridge rule.
  {
    what: "a subscription's dead-letter queue whose messages no alarm watches",
    policy: "cloudwatch-alarm-coverage",
    transform: weaken(T.metricAlarm, "monitoring-transactions-payment-subscription-dlq-messages", (p) => ({ ...p, metricName: "NumberOfMessagesSent" })),
    messages: [
      `Dead-letter queue "${TX}-payment-processing-subscription-dlq.fifo" has no alarm on its visible messages: a message that lands there is never noticed; add an alarm on AWS/SQS ApproximateNumberOfMessagesVisible with dimension QueueName "${TX}-payment-processing-subscription-dlq.fifo" (threshold 0).`,
    ],
  },
  {
    what: "the alarm key no longer letting EventBridge publish the returns to OK to the alarm topic",
    policy: "kms-key-policy-allows-delivering-services",
    transform: weaken(T.key, "monitoring-key-key", (p) => editDoc(p, "policy", withoutSid("AllowEventsToUseKey"))),
    messages: [
      "Topic \"utility-serverless-staging-alarms\" is encrypted with KMS key \"monitoring-key-key\", whose policy does not allow events.amazonaws.com to kms:GenerateDataKey and kms:Decrypt: nothing would be delivered; add events.amazonaws.com to the key's serviceUsers.",
    ],
  },
  // ── The catalogue (policies/rules/action-catalogue.ts) ─────────────────────────────────────────
  {
    what: "a misspelt action (sqs:RecieveMessage), which IAM accepts and which grants nothing",
    policy: "iam-actions-exist",
    transform: weaken(T.rolePolicy, "transactions-payment-processing-consumer-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "DeadLetterQueue").forEach((s) => void (s.Action = [...(s.Action as string[]), "sqs:RecieveMessage"])))),
    messages: ["statement \"DeadLetterQueue\" in \"policy\" names \"sqs:RecieveMessage\", which is not an IAM action: sqs has no such action (did you mean sqs:ReceiveMessage?)"],
  },
  {
    what: "a queue statement that also names the topic, which no sqs action applies to",
    policy: "iam-resources-fit-actions",
    transform: weaken(T.rolePolicy, "transactions-payment-processing-consumer-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "SourceQueue").forEach((s) => void (s.Resource = [s.Resource as string, arn("sns", `${TX}-transaction-processing.fifo`)])))),
    messages: [
      `statement "SourceQueue" in "policy" names resource ${arn("sns", `${TX}-transaction-processing.fifo`)}, which none of its actions (sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility, sqs:GetQueueAttributes, sqs:GetQueueUrl) applies to: it grants nothing there.`,
    ],
  },
  {
    what: "an action without resource-level permissions (xray:PutTraceSegments) given the table's ARNs",
    policy: "iam-actions-fit-resources",
    transform: weaken(T.rolePolicy, "orders-store-policy", (p) =>
      editDoc(p, "policy", (d) => d.Statement.filter((s) => s.Sid === "FailedOrdersTable").forEach((s) => void (s.Action = [...(s.Action as string[]), "xray:PutTraceSegments"])))),
    messages: [
      `statement "FailedOrdersTable" in "policy" gives xray:PutTraceSegments, which takes no resource, the resources ${arn("dynamodb", `table/${DOFS}-failed-orders`)}: it grants nothing (IAM accepts only "*" for it).`,
    ],
  },
];
