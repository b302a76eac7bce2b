/**
 * Every policy: a positive case (the compliant fixture world reports nothing) and at least one
 * negative case (one deliberate mistake, the exact messages it must produce).
 */
import { describe, expect, it } from "vitest";
import { GATEWAY_RESPONSE_TEMPLATES } from "../../components/orders/api-model";
import { policies } from "../../policies/pack";
import { T } from "../../policies/lib/types";
import { GATEWAY_RESPONSE_TYPE } from "../../policies/rules/gateway-responses";
import { SUPPORTED_RUNTIMES } from "../../policies/rules/supply-chain";
import type { World } from "./fixtures";
import { ALARM_TOPIC_ARN, DLQ_ARN, EXECUTION_LOGS, FN_ARN, KEY_ARN, LOGS_KEY_STATEMENT, OTEL, QUEUE_ARN, QUEUE_URL, ROLE_ARN, ROOT, STATE_MACHINE_ARN, SUB_DLQ_ARN, TOPIC_ARN, add, arn, messages, policyDoc, remove, set, tlsDeny, world } from "./fixtures";

interface Case {
  /** What the mistake is. */
  what: string;
  break: (w: World) => World;
  expected: string[];
  config?: Record<string, unknown>;
}

const SUPPORTED = SUPPORTED_RUNTIMES.join(", ");
const USE_CONTEXT = 'Use static JSON with $context variables, e.g. {"message":$context.error.messageString,"requestId":"$context.requestId"}.';
const ROLE_POLICY = (w: World, ...statements: object[]) => set(w, "role-policy", { policy: policyDoc(...statements) });
const LAMBDA_TRUST = { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" };
const TRUST = (w: World, ...statements: object[]) => set(w, "role", { assumeRolePolicy: policyDoc(...statements) });
const protect = (w: World, name: string, value: boolean) => {
  w[name]!.protect = value;
  return w;
};

const CASES: Record<string, Case[]> = {
  // Encryption
  "sns-topic-encrypted-with-cmk": [
    { what: "no key", break: (w) => set(w, "topic", { kmsMasterKeyId: undefined }), expected: ['Topic "bus-topic.fifo" is not encrypted at rest: set kmsMasterKeyId to the ARN of a customer managed KMS key.'] },
    { what: "AWS managed key", break: (w) => set(w, "topic", { kmsMasterKeyId: "alias/aws/sns" }), expected: ['Topic "bus-topic.fifo" uses the AWS managed key alias/aws/sns, which cannot be shared with other services or audited per use: set kmsMasterKeyId to a customer managed KMS key.'] },
  ],
  "sqs-queue-encrypted-with-cmk": [
    { what: "no key", break: (w) => set(w, "queue", { kmsMasterKeyId: undefined }), expected: ['Queue "bus-payment.fifo" is not encrypted at rest: set kmsMasterKeyId to the ARN of a customer managed KMS key.'] },
    { what: "SSE-SQS", break: (w) => set(w, "dlq", { kmsMasterKeyId: undefined, sqsManagedSseEnabled: true }), expected: ['Queue "bus-payment-dlq.fifo" uses SSE-SQS (an SQS owned key): set kmsMasterKeyId to a customer managed KMS key.'] },
    { what: "AWS managed key", break: (w) => set(w, "queue", { kmsMasterKeyId: "alias/aws/sqs" }), expected: ['Queue "bus-payment.fifo" uses the AWS managed key alias/aws/sqs, whose policy no other service can be added to: set kmsMasterKeyId to a customer managed KMS key.'] },
  ],
  "dynamodb-table-encrypted-with-cmk": [
    { what: "AWS owned key", break: (w) => set(w, "table", { serverSideEncryption: undefined }), expected: ['Table "bus-payments" is encrypted only with an AWS owned key: set serverSideEncryption to { enabled: true, kmsKeyArn: <customer managed key ARN> }.'] },
    { what: "AWS managed key", break: (w) => set(w, "table", { serverSideEncryption: { enabled: true } }), expected: ['Table "bus-payments" uses the AWS managed key aws/dynamodb: set serverSideEncryption.kmsKeyArn to a customer managed KMS key.'] },
  ],
  "kms-key-rotation-enabled": [
    { what: "rotation off", break: (w) => set(w, "key", { enableKeyRotation: false }), expected: ['KMS key "key" does not rotate its key material: set enableKeyRotation to true.'] },
  ],
  "kms-key-enabled": [
    { what: "a disabled key", break: (w) => set(w, "key", { isEnabled: false }), expected: ['KMS key "key" is disabled (isEnabled: false): every queue, topic, table and log group it encrypts stops working; remove isEnabled or set it to true.'] },
  ],
  "kms-key-deletion-window": [
    { what: "a 7-day window", break: (w) => set(w, "key", { deletionWindowInDays: 7 }), expected: ['KMS key "key" is deleted 7 days after a deletion is scheduled, less than the minimum 30: everything it encrypts is lost for good then; set deletionWindowInDays to at least 30.'] },
    { what: "a window below a configured minimum", break: (w) => set(w, "key", { deletionWindowInDays: 20 }), config: { minDeletionWindowDays: 21 }, expected: ['KMS key "key" is deleted 20 days after a deletion is scheduled, less than the minimum 21: everything it encrypts is lost for good then; set deletionWindowInDays to at least 21.'] },
  ],
  "cloudwatch-log-group-encrypted-with-cmk": [
    { what: "a log group without a key", break: (w) => set(w, "sfn-logs", { kmsKeyId: undefined }), expected: ['Log group "/aws/vendedlogs/states/orders" is not encrypted with a customer managed key: set kmsKeyId to the ARN of a key whose policy admits logs.<region>.amazonaws.com.'] },
  ],
  "queue-topic-policy-denies-insecure-transport": [
    {
      what: "queue policy without the TLS deny",
      break: (w) => set(w, "dlq-policy", { policy: policyDoc({ Sid: "Read", Effect: "Allow", Principal: { AWS: ROOT }, Action: "sqs:ReceiveMessage", Resource: DLQ_ARN }) }),
      expected: ['The SQS policy in "policy" does not deny requests sent without TLS: add { Effect: "Deny", Principal: "*", Action: "sqs:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }.'],
    },
    {
      what: "topic policy whose deny covers only Publish",
      break: (w) => set(w, "topic-policy", { policy: policyDoc({ ...tlsDeny("sns", TOPIC_ARN), Action: "sns:Publish" }) }),
      expected: ['The SNS policy in "policy" does not deny requests sent without TLS: add { Effect: "Deny", Principal: "*", Action: "sns:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }.'],
    },
  ],
  "queue-topic-has-resource-policy": [
    { what: "queue without a policy", break: (w) => remove(w, "dlq-policy"), expected: ['Queue "bus-payment-dlq.fifo" has no queue policy, so nothing denies requests sent without TLS: add an aws.sqs.QueuePolicy with the denyInsecureTransport("sqs", queue.arn) statement.'] },
    { what: "topic without a policy", break: (w) => remove(w, "topic-policy"), expected: ['Topic "bus-topic.fifo" has no topic policy, so nothing denies requests sent without TLS: add an aws.sns.TopicPolicy with the denyInsecureTransport("sns", topic.arn) statement.'] },
  ],
  // Least privilege
  "iam-no-wildcard-actions": [
    {
      what: "a role linked with sqs:*",
      break: (w) => ROLE_POLICY(w, { Sid: "SourceQueue", Effect: "Allow", Action: ["sqs:*"], Resource: QUEUE_ARN }),
      expected: ['statement "SourceQueue" in "policy" allows "sqs:*": replace it with the exact actions needed (e.g. sqs:SendMessage, dynamodb:PutItem).'],
    },
    {
      what: "NotAction",
      break: (w) => ROLE_POLICY(w, { Effect: "Allow", NotAction: "iam:*", Resource: QUEUE_ARN }),
      expected: ['statement #1 in "policy" allows NotAction "iam:*", which grants every other action: list the allowed actions in Action instead.'],
    },
    {
      what: "kms:* in a key policy for someone other than the account root",
      break: (w) => set(w, "key", { policy: policyDoc({ Sid: "Root", Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, { Sid: "Role", Effect: "Allow", Principal: { AWS: ROLE_ARN }, Action: "kms:*", Resource: "*" }) }),
      expected: ['statement "Role" in "policy" allows "kms:*": replace it with the exact actions needed (e.g. sqs:SendMessage, dynamodb:PutItem).'],
    },
    {
      what: "* in a queue policy",
      break: (w) => set(w, "queue-policy", { policy: policyDoc({ Sid: "All", Effect: "Allow", Principal: { AWS: ROOT }, Action: "*", Resource: QUEUE_ARN }, tlsDeny("sqs", QUEUE_ARN)) }),
      expected: ['statement "All" in "policy" allows "*": replace it with the exact actions needed (e.g. sqs:SendMessage, dynamodb:PutItem).'],
    },
  ],
  "iam-no-wildcard-resources": [
    {
      what: "dynamodb on *",
      break: (w) => ROLE_POLICY(w, { Sid: "Tables", Effect: "Allow", Action: ["dynamodb:PutItem", "xray:PutTraceSegments"], Resource: "*" }),
      expected: ['statement "Tables" in "policy" allows dynamodb:PutItem on "*": scope Resource to the ARNs of the resources used (only actions without resource-level permissions, like xray:PutTraceSegments, may use "*").'],
    },
    {
      what: "every queue of the account",
      break: (w) => ROLE_POLICY(w, { Sid: "Queues", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: arn("sqs", "*") }),
      expected: [`statement "Queues" in "policy" allows sqs:SendMessage on "${arn("sqs", "*")}": scope Resource to the ARNs of the resources used (only actions without resource-level permissions, like xray:PutTraceSegments, may use "*").`],
    },
    {
      what: "NotResource",
      break: (w) => ROLE_POLICY(w, { Sid: "Not", Effect: "Allow", Action: ["sqs:SendMessage"], NotResource: QUEUE_ARN }),
      expected: ['statement "Not" in "policy" uses NotResource, which grants every other resource: list the resources in Resource instead.'],
    },
  ],
  "iam-no-broad-managed-policies": [
    { what: "SQS full access", break: (w) => add(w, T.rolePolicyAttachment, "full", { role: "bus-payment", policyArn: "arn:aws:iam::aws:policy/AmazonSQSFullAccess" }), expected: ["Attaches the broad managed policy arn:aws:iam::aws:policy/AmazonSQSFullAccess: detach it and grant only the actions the principal uses, on its resources."] },
    { what: "administrator on the role", break: (w) => set(w, "role", { managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] }), expected: ["Attaches the broad managed policy arn:aws:iam::aws:policy/AdministratorAccess: detach it and grant only the actions the principal uses, on its resources."] },
  ],
  "lambda-one-role-per-function": [
    {
      what: "two functions, one role",
      break: (w) => add(w, T.function, "fn2", { name: "bus-other", role: ROLE_ARN, timeout: 30, layers: [OTEL], tracingConfig: { mode: "Active" } }, { arn: arn("lambda", "function:bus-other") }),
      expected: [
        `Function "bus-payment" shares its execution role ${ROLE_ARN} with "bus-other": give each function its own role with only its own permissions.`,
        `Function "bus-other" shares its execution role ${ROLE_ARN} with "bus-payment": give each function its own role with only its own permissions.`,
      ],
    },
  ],
  "resource-policy-no-public-principal": [
    {
      what: "queue open to *",
      break: (w) => set(w, "queue-policy", { policy: policyDoc({ Sid: "Anyone", Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Resource: QUEUE_ARN }, tlsDeny("sqs", QUEUE_ARN)) }),
      expected: ['statement "Anyone" in "policy" allows Principal "*" without a source condition: name the principal, or add a condition on aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID.'],
    },
    {
      what: "queue open to everyone but the account (Allow with NotPrincipal)",
      break: (w) => set(w, "queue-policy", { policy: policyDoc({ Sid: "AllButRoot", Effect: "Allow", NotPrincipal: { AWS: ROOT }, Action: "sqs:SendMessage", Resource: QUEUE_ARN }, tlsDeny("sqs", QUEUE_ARN)) }),
      expected: [`statement "AllButRoot" in "policy" allows everyone but {"AWS":"${ROOT}"} (Allow with NotPrincipal) without a source condition: name the principals in Principal instead.`],
    },
    {
      what: "Lambda permission for a service without sourceArn",
      break: (w) => set(w, "api-permission", { sourceArn: undefined }),
      expected: ["Lambda permission lets apigateway.amazonaws.com invoke the function on behalf of any resource in any account: set sourceArn to the calling resource's ARN (e.g. the API's execution ARN)."],
    },
    {
      what: "Lambda permission for *",
      break: (w) => set(w, "api-permission", { principal: "*", sourceArn: undefined }),
      expected: ["Lambda permission lets any principal invoke the function: set principal to the service or account that calls it, and sourceArn."],
    },
  ],
  "iam-role-trust-restricted": [
    {
      what: "{ AWS: \"*\" } may assume an execution role",
      break: (w) => TRUST(w, LAMBDA_TRUST, { Sid: "Anyone", Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }),
      expected: ['statement "Anyone" of role "bus-payment"\'s trust policy lets any AWS principal ("*") assume the role: name the service or the exact role ARNs that assume it.'],
    },
    {
      what: "a bare account and sts:* in a service role's trust",
      break: (w) => TRUST(w, LAMBDA_TRUST, { Effect: "Allow", Principal: { AWS: "123456789012" }, Action: "sts:*" }),
      expected: [
        'statement #2 of role "bus-payment"\'s trust policy allows "sts:*": a trust policy allows only sts:AssumeRole (and sts:TagSession, sts:SetSourceIdentity); list those.',
        'statement #2 of role "bus-payment"\'s trust policy lets every principal of account 123456789012 assume a service role (it also trusts lambda.amazonaws.com): anyone there with sts:AssumeRole on it gets the service\'s permissions; remove the account principal.',
      ],
    },
    {
      what: "Allow with NotPrincipal",
      break: (w) => TRUST(w, { Effect: "Allow", NotPrincipal: { AWS: ROOT }, Action: "sts:AssumeRole" }),
      expected: [`statement #1 of role "bus-payment"'s trust policy lets everyone but {"AWS":"${ROOT}"} assume the role (Allow with NotPrincipal): name the principals in Principal instead.`],
    },
  ],
  "iam-role-trust-matches-use": [
    {
      what: "an execution role trusting Step Functions instead of Lambda",
      break: (w) => TRUST(w, { Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole" }),
      expected: [
        'Role "bus-payment" is used by Lambda function "bus-payment" but its trust policy does not let lambda.amazonaws.com assume it: AWS rejects the resource (the role cannot be assumed); add { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }.',
        'Role "bus-payment" is used by Lambda function "bus-payment" but its trust policy also lets states.amazonaws.com assume it: anything that service runs for anyone in the account could act with this role\'s permissions; remove states.amazonaws.com from the trust policy.',
      ],
    },
  ],
  // The action catalogue (IAM Access Analyzer's "invalid action", "unsupported resource ARN", "no supported resource")
  "iam-actions-exist": [
    { what: "a misspelt action", break: (w) => ROLE_POLICY(w, { Sid: "SourceQueue", Effect: "Allow", Action: ["sqs:RecieveMessage"], Resource: QUEUE_ARN }), expected: ['statement "SourceQueue" in "policy" names "sqs:RecieveMessage", which is not an IAM action: sqs has no such action (did you mean sqs:ReceiveMessage?)'] },
    { what: "an unknown service", break: (w) => ROLE_POLICY(w, { Sid: "Nope", Effect: "Allow", Action: ["sqsx:ReceiveMessage"], Resource: QUEUE_ARN }), expected: ['statement "Nope" in "policy" names "sqsx:ReceiveMessage", which is not an IAM action: IAM has no service prefix "sqsx"'] },
  ],
  "iam-resources-fit-actions": [
    { what: "a topic ARN given to sqs:SendMessage", break: (w) => ROLE_POLICY(w, { Sid: "Send", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [QUEUE_ARN, TOPIC_ARN] }), expected: [`statement "Send" in "policy" names resource ${TOPIC_ARN}, which none of its actions (sqs:SendMessage) applies to: it grants nothing there.`] },
  ],
  "iam-actions-fit-resources": [
    { what: "an action without resource-level permissions given an ARN", break: (w) => ROLE_POLICY(w, { Sid: "Trace", Effect: "Allow", Action: ["xray:PutTraceSegments"], Resource: QUEUE_ARN }), expected: [`statement "Trace" in "policy" gives xray:PutTraceSegments, which takes no resource, the resources ${QUEUE_ARN}: it grants nothing (IAM accepts only "*" for it).`] },
    { what: "an action given only resources of another type", break: (w) => ROLE_POLICY(w, { Sid: "Publish", Effect: "Allow", Action: ["sns:Publish", "sqs:SendMessage"], Resource: QUEUE_ARN }), expected: [`statement "Publish" in "policy" gives sns:Publish only resources it does not apply to (${QUEUE_ARN}; it applies to topic): it grants nothing.`] },
  ],
  // Resilience
  "sqs-queue-has-dlq": [
    {
      // Without the redrive policy the former DLQ is an ordinary queue too, and has none either.
      what: "redrive policy dropped",
      break: (w) => set(w, "queue", { redrivePolicy: undefined }),
      expected: [
        'Queue "bus-payment-dlq.fifo" has no dead-letter queue: set redrivePolicy to { deadLetterTargetArn: <its DLQ\'s ARN>, maxReceiveCount: <receives before it moves> }.',
        'Queue "bus-payment.fifo" has no dead-letter queue: set redrivePolicy to { deadLetterTargetArn: <its DLQ\'s ARN>, maxReceiveCount: <receives before it moves> }.',
      ],
    },
  ],
  "sqs-dlq-retention-covers-source": [
    { what: "DLQ keeps less than its source", break: (w) => set(w, "dlq", { messageRetentionSeconds: 86_400 }), expected: ['Dead-letter queue "bus-payment-dlq.fifo" keeps messages 86400 s, less than its source "bus-payment.fifo" (345600 s): set its messageRetentionSeconds to at least 345600 (1209600 is the maximum).'] },
  ],
  "sns-fifo-queue-behind-fifo-topic": [
    { what: "FIFO queue behind a standard topic", break: (w) => set(w, "topic", { fifoTopic: false }), expected: ['FIFO queue "bus-payment.fifo" is subscribed to the standard topic "bus-topic.fifo": SNS cannot deliver a standard topic to a FIFO queue; make the topic FIFO (fifoTopic: true, name ending in .fifo).'] },
    { what: "FIFO topic to e-mail", break: (w) => set(w, "subscription", { protocol: "email", endpoint: "ops@example.com" }), expected: ['Subscription "subscription" delivers FIFO topic "bus-topic.fifo" over email: FIFO topics deliver only to SQS queues; subscribe a queue and consume it.'] },
  ],
  "sqs-visibility-timeout-factor": [
    { what: "visibility 2 × timeout", break: (w) => set(w, "queue", { visibilityTimeoutSeconds: 60 }), expected: ['Queue "bus-payment.fifo" has a visibility timeout of 60 s, less than 6 × the 30 s timeout of its consumer "bus-payment": set visibilityTimeoutSeconds to at least 180.'] },
    { what: "a stricter factor from config", break: (w) => w, config: { visibilityFactor: 10 }, expected: ['Queue "bus-payment.fifo" has a visibility timeout of 180 s, less than 10 × the 30 s timeout of its consumer "bus-payment": set visibilityTimeoutSeconds to at least 300.'] },
  ],
  "lambda-esm-reports-batch-item-failures": [
    { what: "no partial batch responses", break: (w) => set(w, "trigger", { functionResponseTypes: undefined }), expected: [`Event source mapping "trigger" from ${QUEUE_ARN} does not report partial batch failures: set functionResponseTypes to ["ReportBatchItemFailures"].`] },
  ],
  "dynamodb-table-pitr-enabled": [
    { what: "PITR off", break: (w) => set(w, "table", { pointInTimeRecovery: { enabled: false } }), expected: ['Table "bus-payments" has no point-in-time recovery: set pointInTimeRecovery to { enabled: true }.'] },
  ],
  "dynamodb-table-deletion-protection": [
    { what: "no deletion protection", break: (w) => set(w, "table", { deletionProtectionEnabled: undefined }), expected: ['Table "bus-payments" has no deletion protection: a replaced or destroyed stack deletes it with every item; set deletionProtectionEnabled to true (a stack whose tables are disposable sets tableProtectionOptOut to the reason instead).'] },
    {
      what: "an opt-out the pack config refuses",
      break: (w) => set(w, "table", { deletionProtectionEnabled: false, tags: { DeletionProtectionOptOut: "test data only" } }),
      config: { allowOptOut: false },
      expected: ['Table "bus-payments" has no deletion protection: a replaced or destroyed stack deletes it with every item; set deletionProtectionEnabled to true (a stack whose tables are disposable sets tableProtectionOptOut to the reason instead).'],
    },
    { what: "an opt-out tag without a reason", break: (w) => set(w, "table", { deletionProtectionEnabled: false, tags: { DeletionProtectionOptOut: " " } }), expected: ['Table "bus-payments" has no deletion protection: a replaced or destroyed stack deletes it with every item; set deletionProtectionEnabled to true (a stack whose tables are disposable sets tableProtectionOptOut to the reason instead).'] },
  ],
  "dynamodb-ledger-table-protected": [
    { what: "a ledger table without protect", break: (w) => protect(w, "table", false), expected: ['Table "bus-payments" holds records that do not expire but is not protected: a change that replaces it, or a pulumi destroy, deletes the ledger; declare it with the protect resource option (or, if its items all expire, tag it DataClass=ephemeral with TTL on).'] },
    {
      what: "tagged ephemeral but its items never expire",
      break: (w) => protect(set(w, "table", { tags: { DataClass: "ephemeral" } }), "table", false),
      expected: ['Table "bus-payments" holds records that do not expire but is not protected: a change that replaces it, or a pulumi destroy, deletes the ledger; declare it with the protect resource option (or, if its items all expire, tag it DataClass=ephemeral with TTL on).'],
    },
  ],
  // Observability
  "lambda-otel-layer": [
    { what: "no layers", break: (w) => set(w, "fn", { layers: undefined }), expected: ['Function "bus-payment" has no OpenTelemetry layer (layers: none): add the ADOT collector layer of its region (stack setting otelLayerArn).'] },
  ],
  "lambda-active-tracing": [
    { what: "PassThrough", break: (w) => set(w, "fn", { tracingConfig: { mode: "PassThrough" } }), expected: ['Function "bus-payment" does not trace actively (tracingConfig.mode is PassThrough): set tracingConfig to { mode: "Active" }.'] },
  ],
  "lambda-explicit-timeout": [
    { what: "default timeout", break: (w) => set(w, "fn", { timeout: undefined }), expected: ['Function "bus-payment" has no explicit timeout and would run with Lambda\'s 3 s default: set timeout (seconds).'] },
  ],
  "log-group-retention": [
    { what: "never expires", break: (w) => set(w, "fn-logs", { retentionInDays: undefined }), expected: ['Log group "/aws/lambda/bus-payment" never expires its logs: set retentionInDays (at least 7).'] },
    { what: "one day", break: (w) => set(w, "fn-logs", { retentionInDays: 1 }), expected: ['Log group "/aws/lambda/bus-payment" keeps logs 1 day, less than the minimum 7: set retentionInDays to at least 7.'] },
    { what: "below a configured minimum", break: (w) => w, config: { minRetentionDays: 30 }, expected: ['Log group "/aws/lambda/bus-payment" keeps logs 14 days, less than the minimum 30: set retentionInDays to at least 30.'] },
  ],
  "lambda-has-log-group": [
    { what: "log group not declared", break: (w) => remove(w, "fn-logs"), expected: ['Function "bus-payment" logs to "/aws/lambda/bus-payment", which the stack does not declare: Lambda would create it with no retention; declare an aws.cloudwatch.LogGroup named "/aws/lambda/bus-payment" with retentionInDays.'] },
  ],
  "sfn-logging-and-tracing": [
    {
      what: "no logging, no tracing",
      break: (w) => set(w, "workflow", { loggingConfiguration: { level: "OFF" }, tracingConfiguration: undefined }),
      expected: ['State machine "orders" does not log executions: set loggingConfiguration to { level: "ERROR" (or "ALL"), logDestination: "<log group ARN>:*" }.', 'State machine "orders" does not trace: set tracingConfiguration to { enabled: true }.'],
    },
  ],
  "apigateway-stage-access-logging": [
    { what: "no access logs", break: (w) => set(w, "stage", { accessLogSettings: undefined }), expected: ['API stage "dev" writes no access logs: set accessLogSettings to { destinationArn: <log group ARN>, format: <access log format> }.'] },
  ],
  "apigateway-stage-throttling": [
    { what: "no usage plan or method settings", break: (w) => remove(w, "usage-plan"), expected: ['API stage "dev" is not throttled: add MethodSettings with methodPath "*/*" and throttlingRateLimit/throttlingBurstLimit for it, or a usage plan on it with throttleSettings.'] },
    { what: "HTTP API stage without route throttling", break: (w) => add(w, T.httpStage, "http-stage", { apiId: "h1", name: "$default" }), expected: ['HTTP API stage "$default" is not throttled: set defaultRouteSettings.throttlingRateLimit and throttlingBurstLimit.'] },
  ],
  "apigateway-stage-xray-tracing": [
    { what: "X-Ray off", break: (w) => set(w, "stage", { xrayTracingEnabled: false }), expected: ['API stage "dev" does not trace with X-Ray: set xrayTracingEnabled to true.'] },
  ],
  "apigateway-stage-execution-logging": [
    { what: "no method settings", break: (w) => remove(w, "stage-settings"), expected: ['API stage "dev" has no method settings for "*/*": execution errors are not logged and there are no per-method metrics; add MethodSettings with methodPath "*/*" and settings { loggingLevel: "ERROR", metricsEnabled: true, dataTraceEnabled: false }.'] },
    {
      what: "INFO, no metrics, data tracing on",
      break: (w) => set(w, "stage-settings", { settings: { loggingLevel: "INFO", metricsEnabled: false, dataTraceEnabled: true } }),
      expected: [
        'API stage "dev" logs executions at INFO: set the "*/*" method settings\' loggingLevel to ERROR.',
        'API stage "dev" has no per-method CloudWatch metrics: set the "*/*" method settings\' metricsEnabled to true.',
        'API stage "dev" traces data for "*/*" (dataTraceEnabled): whole requests and responses, customer data included, go to the logs; set dataTraceEnabled to false.',
      ],
    },
    {
      what: "a method that turns logging off, and an undeclared execution log group",
      break: (w) => add(remove(w, "execution-logs"), T.methodSettings, "get-settings", { restApi: "api123", stageName: "dev", methodPath: "order/GET", settings: { loggingLevel: "OFF" } }),
      expected: [
        'API stage "dev" turns execution logging off for "order/GET": remove the override or set loggingLevel to ERROR.',
        `API stage "dev" writes execution logs to "${EXECUTION_LOGS}", which the stack does not declare: API Gateway would create it with no retention and no key; declare an aws.cloudwatch.LogGroup named "${EXECUTION_LOGS}" with retentionInDays and kmsKeyId.`,
      ],
    },
  ],
  "cloudwatch-alarm-actions-enabled": [
    { what: "no actions", break: (w) => set(w, "fn-errors", { alarmActions: undefined, okActions: undefined }), expected: ['Alarm "fn-errors" has no alarm action: when it fires nobody hears; set alarmActions to the stack\'s alarm topic ARN.'] },
    { what: "actions disabled", break: (w) => set(w, "dlq-messages", { actionsEnabled: false }), expected: ['Alarm "dlq-messages" has its actions disabled (actionsEnabled: false): when it fires nobody hears; remove actionsEnabled or set it to true.'] },
  ],
  "cloudwatch-alarm-coverage": [
    {
      what: "no errors, DLQ or failed-executions alarms",
      break: (w) => remove(remove(remove(w, "fn-errors"), "dlq-messages"), "workflow-failed"),
      expected: [
        'Function "bus-payment" has no alarm on its errors: failed invocations go unnoticed; add an alarm on AWS/Lambda Errors with dimension FunctionName "bus-payment" that notifies the alarm topic.',
        'Dead-letter queue "bus-payment-dlq.fifo" has no alarm on its visible messages: a message that lands there is never noticed; add an alarm on AWS/SQS ApproximateNumberOfMessagesVisible with dimension QueueName "bus-payment-dlq.fifo" (threshold 0).',
        `State machine "orders" has no alarm on failed executions: add an alarm on AWS/States ExecutionsFailed with dimension StateMachineArn ${STATE_MACHINE_ARN}.`,
      ],
    },
    {
      what: "an alarm on another function's errors",
      break: (w) => set(w, "fn-errors", { dimensions: { FunctionName: "bus-other" } }),
      expected: ['Function "bus-payment" has no alarm on its errors: failed invocations go unnoticed; add an alarm on AWS/Lambda Errors with dimension FunctionName "bus-payment" that notifies the alarm topic.'],
    },
  ],
  // Supply chain
  "lambda-runtime-supported": [
    { what: "nodejs16.x", break: (w) => set(w, "fn", { runtime: "nodejs16.x" }), expected: [`Function "bus-payment" uses the runtime nodejs16.x, which is not supported for new functions (allowed: ${SUPPORTED}): AWS no longer patches it and blocks creating functions on it; move to a supported runtime.`] },
    { what: "no runtime", break: (w) => set(w, "fn", { runtime: undefined }), expected: [`Function "bus-payment" has no runtime: AWS requires one for a .zip package; set runtime to one of ${SUPPORTED}.`] },
    { what: "a runtime outside a configured list", break: (w) => w, config: { allowedRuntimes: ["nodejs24.x"] }, expected: ['Function "bus-payment" uses the runtime nodejs22.x, which is not supported for new functions (allowed: nodejs24.x): AWS no longer patches it and blocks creating functions on it; move to a supported runtime.'] },
  ],
  "lambda-layer-provenance": [
    {
      what: "an aws-otel-named layer from another account and region",
      break: (w) => set(w, "fn", { layers: ["arn:aws:lambda:eu-west-1:999999999999:layer:aws-otel-collector-amd64-ver-0-98-0:5"] }),
      expected: [
        "Function \"bus-payment\" runs layer arn:aws:lambda:eu-west-1:999999999999:layer:aws-otel-collector-amd64-ver-0-98-0:5, published by account 999999999999, which is not an allowed publisher (901920570463, 615299751070): a layer runs inside the function with its role's permissions; use the layer from its publisher's account, or review it and add 999999999999 to allowedAccounts.",
        "Function \"bus-payment\" runs in us-east-1 but its layer arn:aws:lambda:eu-west-1:999999999999:layer:aws-otel-collector-amd64-ver-0-98-0:5 is published in eu-west-1: Lambda attaches only layers of the function's own region (CreateFunction fails); use the layer version ARN published in us-east-1.",
      ],
    },
    { what: "not a layer ARN", break: (w) => set(w, "fn", { layers: ["aws-otel-collector"] }), expected: ['Function "bus-payment" lists "aws-otel-collector", which is not a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>): fix the ARN.'] },
    { what: "the expected region from config", break: (w) => w, config: { region: "us-east-2" }, expected: [`Function "bus-payment" runs in us-east-2 but its layer ${OTEL} is published in us-east-1: Lambda attaches only layers of the function's own region (CreateFunction fails); use the layer version ARN published in us-east-2.`] },
  ],
  // API
  "apigateway-method-authorization": [
    { what: "open POST", break: (w) => set(w, "post-order", { apiKeyRequired: false }), expected: ['Method POST on resource res1 is open to anyone: set apiKeyRequired to true, or authorization to "AWS_IAM", "COGNITO_USER_POOLS" or "CUSTOM" with an authorizer.'] },
    { what: "open HTTP API route", break: (w) => add(w, T.route, "route", { apiId: "h1", routeKey: "GET /order/{id}" }), expected: ['Route "GET /order/{id}" is open to anyone: set authorizationType to "AWS_IAM", "JWT" or "CUSTOM" with an authorizerId.'] },
  ],
  "apigateway-request-validation": [
    { what: "no validator", break: (w) => set(w, "post-order", { requestValidatorId: undefined }), expected: ["Method POST on resource res1 has no request validator: set requestValidatorId to an aws.apigateway.RequestValidator (with requestModels for a body, requestParameters for path and query)."] },
  ],
  "apigateway-cors-complete": [
    {
      what: "a resource without its preflight",
      break: (w) => remove(w, "options-order"),
      expected: ["REST API api123 allows origins, but resource res1 (POST) has no OPTIONS method: browsers refuse every call to it that needs a preflight."],
    },
    {
      what: "a preflight behind the API key, integrated with a function",
      break: (w) => set(set(w, "options-order", { apiKeyRequired: true }), "options-order-integration", { type: "AWS_PROXY" }),
      expected: [
        "The OPTIONS method of resource res1 requires authorization or an API key, which a browser's preflight never sends: set authorization NONE and apiKeyRequired false.",
        "The OPTIONS method of resource res1 is integrated as AWS_PROXY: make it a MOCK integration, so API Gateway answers preflights itself.",
      ],
    },
    {
      what: "a preflight that never sets the origin",
      break: (w) => set(w, "options-order-integration-200", { responseParameters: {}, responseTemplates: { "application/json": "" } }),
      expected: ["The preflight of resource res1 never sets Access-Control-Allow-Origin: declare its 200 method response and an integration response that sets it."],
    },
    {
      what: "gateway responses without the header, without Vary, and no DEFAULT_5XX",
      break: (w) =>
        add(
          set(remove(w, "cors-default_5xx"), "cors-default_4xx", { responseParameters: { "gatewayresponse.header.Access-Control-Allow-Origin": "'https://shop.example.com'" } }),
          GATEWAY_RESPONSE_TYPE,
          "throttled",
          { restApiId: "api123", responseType: "THROTTLED", responseTemplates: { "application/json": '{"message":$context.error.messageString}' } },
        ),
      expected: [
        "REST API api123 allows origins but declares no DEFAULT_5XX gateway response: AWS's own 5XX answers carry no CORS headers, so pages cannot read them.",
        "Gateway response DEFAULT_4XX of REST API api123 sets Access-Control-Allow-Origin to 'https://shop.example.com' without Vary: Origin: a cache may hand one origin's answer to another.",
        "Gateway response THROTTLED of REST API api123 has no Access-Control-Allow-Origin header: a page sees a network error instead of the answer.",
      ],
    },
  ],
  "apigateway-gateway-response-no-vtl": [
    {
      what: "$util.escapeJavaScript in a template",
      break: (w) => add(w, GATEWAY_RESPONSE_TYPE, "bad-body", { restApiId: "api123", responseType: "BAD_REQUEST_BODY", responseTemplates: { "application/json": '{"errors":"$util.escapeJavaScript($context.error.validationErrorString)"}' } }),
      expected: [`Gateway response BAD_REQUEST_BODY (application/json) uses $util, which API Gateway does not evaluate in gateway responses (simple variable substitution only): clients would get the template text literally. ${USE_CONTEXT}`],
    },
    {
      what: "#if, #set and $input",
      break: (w) => add(w, GATEWAY_RESPONSE_TYPE, "default-4xx", { restApiId: "api123", responseType: "DEFAULT_4XX", responseTemplates: { "application/json": '#set($m = $input.path(\'$.x\'))#if($m){"message":"$m"}#end' } }),
      expected: [`Gateway response DEFAULT_4XX (application/json) uses $input, VTL directives (#set, #if, #foreach, ...), which API Gateway does not evaluate in gateway responses (simple variable substitution only): clients would get the template text literally. ${USE_CONTEXT}`],
    },
  ],
  // Deploy-time
  "aws-name-valid": [
    {
      what: "an 81-character FIFO queue name",
      break: (w) => set(w, "dlq", { name: `${"q".repeat(76)}.fifo` }),
      expected: [`The SQS queue name "${"q".repeat(76)}.fifo" is 81 characters; AWS allows 1..80: shorten it.`],
    },
    { what: "a 65-character function name", break: (w) => set(w, "fn", { name: "f".repeat(65) }), expected: [`The Lambda function name "${"f".repeat(65)}" is 65 characters; AWS allows 1..64: shorten it.`] },
    { what: "a space in a role name", break: (w) => set(w, "role", { name: "bus payment" }), expected: ['The IAM role name "bus payment" has characters AWS rejects: use only letters, digits and \'+=,.@_-\'.'] },
    {
      what: "an autonamed queue from a long logical name",
      break: (w) => add(w, T.queue, "l".repeat(70), { fifoQueue: true }),
      expected: [`The SQS queue name Pulumi would generate from "${"l".repeat(70)}" is 83 characters; AWS allows at most 80: set name explicitly or shorten the logical name.`],
    },
  ],
  "fifo-name-suffix": [
    { what: "FIFO queue without .fifo", break: (w) => set(w, "dlq", { name: "bus-payment-dlq" }), expected: ['"bus-payment-dlq" is FIFO (fifoQueue: true) but its name does not end in ".fifo": AWS rejects it; append ".fifo".'] },
    { what: "standard topic with .fifo", break: (w) => set(w, "topic", { fifoTopic: undefined }), expected: ['"bus-topic.fifo" ends in ".fifo" but fifoTopic is not true: AWS rejects it; set fifoTopic: true or drop the suffix.'] },
  ],
  "lambda-sqs-event-source-settings-valid": [
    {
      what: "FIFO batch of 20 with a window",
      break: (w) => set(w, "trigger", { batchSize: 20, maximumBatchingWindowInSeconds: 5 }),
      expected: [
        `Event source mapping "trigger" reads the FIFO queue ${QUEUE_ARN} in batches of 20: FIFO queues allow at most 10; set batchSize to 10 or less.`,
        `Event source mapping "trigger" sets a 5 s batching window on the FIFO queue ${QUEUE_ARN}: AWS rejects it for FIFO queues; remove maximumBatchingWindowInSeconds.`,
      ],
    },
    {
      what: "standard batch of 100 without a window, concurrency 1",
      break: (w) => set(w, "trigger", { eventSourceArn: arn("sqs", "standard"), batchSize: 100, scalingConfig: { maximumConcurrency: 1 } }),
      expected: [
        'Event source mapping "trigger" uses batchSize 100 without a batching window: AWS requires maximumBatchingWindowInSeconds ≥ 1 when batchSize is above 10.',
        'Event source mapping "trigger" sets scalingConfig.maximumConcurrency to 1: AWS accepts 2..1000.',
      ],
    },
  ],
  "lambda-sqs-visibility-exceeds-function-timeout": [
    { what: "visibility below the timeout", break: (w) => set(w, "queue", { visibilityTimeoutSeconds: 20 }), expected: ['Queue "bus-payment.fifo" has a visibility timeout of 20 s, below the 30 s timeout of its consumer "bus-payment": AWS rejects the event source mapping; set visibilityTimeoutSeconds to at least 30 (6 × is recommended).'] },
    { what: "default visibility (30 s) and a 60 s function", break: (w) => set(set(w, "queue", { visibilityTimeoutSeconds: undefined }), "fn", { timeout: 60 }), expected: ['Queue "bus-payment.fifo" has a visibility timeout of 30 s, below the 60 s timeout of its consumer "bus-payment": AWS rejects the event source mapping; set visibilityTimeoutSeconds to at least 60 (6 × is recommended).'] },
  ],
  "sns-filter-policy-valid": [
    { what: "a bare string value", break: (w) => set(w, "subscription", { filterPolicy: JSON.stringify({ transaction_type: "payment" }) }), expected: ['Subscription "subscription" has a filter policy SNS rejects: "transaction_type" must be an array of values, e.g. ["payment"].'] },
    { what: "nesting in the attributes scope", break: (w) => set(w, "subscription", { filterPolicy: JSON.stringify({ tx: { type: ["payment"] } }) }), expected: ['Subscription "subscription" has a filter policy SNS rejects: "tx" is nested: attribute-based filter policies (MessageAttributes scope) cannot nest; give each attribute an array.'] },
    {
      what: "six keys and 729 combinations",
      break: (w) => set(w, "subscription", { filterPolicy: JSON.stringify(Object.fromEntries(["a", "b", "c", "d", "e", "f"].map((k) => [k, ["1", "2", "3"]]))) }),
      expected: ['Subscription "subscription" has a filter policy SNS rejects: it has 6 keys; SNS allows at most 5.', 'Subscription "subscription" has a filter policy SNS rejects: it has 729 value combinations; SNS allows at most 150.'],
    },
    { what: "not JSON", break: (w) => set(w, "subscription", { filterPolicy: "{transaction_type: [payment]}" }), expected: [`Subscription "subscription" has a filter policy that is not valid JSON (${jsonError("{transaction_type: [payment]}")}): fix the JSON.`] },
  ],
  "policy-document-has-version": [
    { what: "no Version", break: (w) => set(w, "role-policy", { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "sqs:SendMessage", Resource: QUEUE_ARN }] }) }), expected: ['The policy document in "policy" has no Version: set "Version": "2012-10-17".'] },
    { what: "the 2008 grammar in a trust policy", break: (w) => set(w, "role", { assumeRolePolicy: JSON.stringify({ Version: "2008-10-17", Statement: [] }) }), expected: ['The policy document in "assumeRolePolicy" has Version "2008-10-17": set "Version": "2012-10-17".'] },
    { what: "not JSON", break: (w) => set(w, "queue-policy", { policy: "{" }), expected: [`The policy document in "policy" is not valid JSON (${jsonError("{")}): AWS rejects it.`] },
  ],
  "sqs-dlq-matches-source-type": [
    {
      what: "standard DLQ behind a FIFO queue, maxReceiveCount 0",
      break: (w) => set(set(w, "dlq", { fifoQueue: false }), "queue", { redrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 0 }) }),
      expected: ['Queue "bus-payment.fifo" has redrive maxReceiveCount 0: AWS accepts 1..1000.', 'Queue "bus-payment.fifo" is FIFO but its dead-letter queue "bus-payment-dlq.fifo" is standard: AWS rejects the redrive policy; make the DLQ FIFO.'],
    },
  ],
  "cloudwatch-log-retention-allowed-value": [
    { what: "10 days", break: (w) => set(w, "fn-logs", { retentionInDays: 10 }), expected: ['Log group "/aws/lambda/bus-payment" has retentionInDays 10, which CloudWatch Logs rejects: use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.'] },
  ],
  "lambda-sqs-trigger-role-can-consume": [
    {
      what: "role without DeleteMessage",
      break: (w) => ROLE_POLICY(w, { Sid: "SourceQueue", Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], Resource: QUEUE_ARN }, { Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY_ARN }),
      expected: [`Function "bus-payment" is triggered by "bus-payment.fifo" but its role may not sqs:DeleteMessage on it: AWS rejects the event source mapping; grant them on ${QUEUE_ARN}.`],
    },
  ],
  "sns-sqs-subscription-queue-policy-allows-topic": [
    {
      what: "queue policy for another topic",
      break: (w) => set(w, "queue-policy", { policy: policyDoc({ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: QUEUE_ARN, Condition: { ArnEquals: { "aws:SourceArn": arn("sns", "other") } } }, tlsDeny("sqs", QUEUE_ARN)) }),
      expected: [`Queue "bus-payment.fifo" is subscribed to ${TOPIC_ARN} but its queue policy does not let sns.amazonaws.com send from that topic: SNS would drop every message; allow sqs:SendMessage to Service sns.amazonaws.com with ArnEquals aws:SourceArn = the topic ARN.`],
    },
  ],
  "kms-key-policy-allows-delivering-services": [
    {
      what: "key policy without SNS",
      break: (w) => set(w, "key", { policy: policyDoc({ Sid: "Root", Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, LOGS_KEY_STATEMENT) }),
      expected: [
        'Queue "bus-payment.fifo" is encrypted with KMS key "key", whose policy does not allow sns.amazonaws.com to kms:GenerateDataKey and kms:Decrypt: nothing would be delivered; add sns.amazonaws.com to the key\'s serviceUsers.',
        'Dead-letter queue "bus-payment-subscription-dlq.fifo" is encrypted with KMS key "key", whose policy does not allow sns.amazonaws.com to kms:GenerateDataKey and kms:Decrypt: nothing would be delivered; add sns.amazonaws.com to the key\'s serviceUsers.',
      ],
    },
    {
      what: "a subscription's dead-letter queue on alias/aws/sqs",
      break: (w) => set(w, "sub-dlq", { kmsMasterKeyId: "alias/aws/sqs" }),
      expected: ['Dead-letter queue "bus-payment-subscription-dlq.fifo" is encrypted with the AWS managed key alias/aws/sqs, which sns.amazonaws.com may not use: nothing would be delivered; encrypt it with a customer managed key whose policy allows sns.amazonaws.com.'],
    },
    {
      what: "subscribed queue on alias/aws/sqs",
      break: (w) => set(w, "queue", { kmsMasterKeyId: "alias/aws/sqs" }),
      expected: ['Queue "bus-payment.fifo" is encrypted with the AWS managed key alias/aws/sqs, which sns.amazonaws.com may not use: nothing would be delivered; encrypt it with a customer managed key whose policy allows sns.amazonaws.com.'],
    },
    {
      what: "alarm topic (by alias) whose key does not allow CloudWatch",
      break: (w) => add(set(w, "topic", { kmsMasterKeyId: "alias/bus" }), T.metricAlarm, "alarm", { name: "dlq-not-empty", alarmActions: [TOPIC_ARN] }),
      expected: ['Alarm topic "bus-topic.fifo" is encrypted with KMS key "key", whose policy does not allow cloudwatch.amazonaws.com to kms:GenerateDataKey and kms:Decrypt: nothing would be delivered; add cloudwatch.amazonaws.com to the key\'s serviceUsers.'],
    },
    {
      what: "log groups whose key admits CloudWatch Logs only for other log groups, or not for this region",
      break: (w) => {
        const onlyLambda = { ...LOGS_KEY_STATEMENT, Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": arn("logs", "log-group:/aws/lambda/*") } } };
        const keyPolicy = JSON.parse(String(w.key!.inputs.policy)) as { Statement: object[] };
        return set(w, "key", { policy: policyDoc(...keyPolicy.Statement.slice(0, 2), onlyLambda, { ...LOGS_KEY_STATEMENT, Sid: "OtherRegion", Principal: { Service: "logs.eu-west-1.amazonaws.com" }, Condition: undefined }) });
      },
      expected: [
        `Log group "/aws/vendedlogs/states/orders" is encrypted with KMS key "key", whose policy does not allow logs.us-east-1.amazonaws.com to kms:Encrypt, kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo, kms:GenerateDataKey, kms:DescribeKey for it (encryption context ${arn("logs", "log-group:/aws/vendedlogs/states/orders")}): CloudWatch Logs refuses the key and the log group is not created; add logs.us-east-1.amazonaws.com to the key policy (cloudWatchLogsKeyUser).`,
        `Log group "${EXECUTION_LOGS}" is encrypted with KMS key "key", whose policy does not allow logs.us-east-1.amazonaws.com to kms:Encrypt, kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo, kms:GenerateDataKey, kms:DescribeKey for it (encryption context ${arn("logs", `log-group:${EXECUTION_LOGS}`)}): CloudWatch Logs refuses the key and the log group is not created; add logs.us-east-1.amazonaws.com to the key policy (cloudWatchLogsKeyUser).`,
      ],
    },
  ],
  "kms-key-usable-by-roles": [
    {
      what: "a producer role without the key",
      break: (w) => ROLE_POLICY(w, { Sid: "SourceQueue", Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], Resource: QUEUE_ARN }, { Sid: "SourceKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY_ARN }, { Sid: "DeadLetterQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: DLQ_ARN }),
      expected: [`Role "bus-payment" may sqs:SendMessage on "bus-payment-dlq.fifo" but not kms:GenerateDataKey on its KMS key ${KEY_ARN}: every call would fail with KMS.AccessDeniedException; grant kms:GenerateDataKey on the key.`],
    },
    {
      what: "a key policy that does not delegate to IAM",
      break: (w) => set(w, "key", { policy: policyDoc({ Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${"123456789012"}:role/admin` }, Action: ["kms:Create*", "kms:Describe*"], Resource: "*" }, { Sid: "Sns", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: "*" }) }),
      expected: [
        'Role "bus-payment" may sqs:SendMessage on "bus-payment-dlq.fifo" and is granted kms:GenerateDataKey, kms:Decrypt on its KMS key "key", but the key policy neither delegates to IAM (account root statement) nor names the role: add the account-root statement or the role to the key policy.',
        'Role "bus-payment" may sqs:ReceiveMessage on "bus-payment.fifo" and is granted kms:Decrypt on its KMS key "key", but the key policy neither delegates to IAM (account root statement) nor names the role: add the account-root statement or the role to the key policy.',
      ],
    },
  ],
  // Issue 11: no silent loss, run-time limits
  "sns-subscription-has-dlq": [
    {
      what: "a subscription without a DLQ",
      break: (w) => set(w, "subscription", { redrivePolicy: undefined }),
      expected: [`Subscription "subscription" (sqs from ${TOPIC_ARN}) has no dead-letter queue: SNS discards a message it cannot deliver (a queue policy or key that stops it, a deleted queue); set redrivePolicy to { deadLetterTargetArn: <a queue's ARN> }.`],
    },
    {
      what: "a standard DLQ for a FIFO topic's subscription, whose policy does not admit the topic",
      break: (w) => set(set(w, "sub-dlq", { fifoQueue: undefined, name: "bus-payment-subscription-dlq" }), "sub-dlq-policy", { policy: policyDoc(tlsDeny("sqs", SUB_DLQ_ARN)) }),
      expected: [
        'Subscription "subscription" of the FIFO topic "bus-topic.fifo" dead-letters to the standard queue "bus-payment-subscription-dlq": SNS requires a FIFO queue as the DLQ of a FIFO topic\'s subscription; make it FIFO (fifoQueue: true, name ending in .fifo).',
        `Dead-letter queue "bus-payment-subscription-dlq" of subscription "subscription" has no queue policy statement letting sns.amazonaws.com send from ${TOPIC_ARN}: SNS could not move undeliverable messages there either; allow sqs:SendMessage to Service sns.amazonaws.com with ArnEquals aws:SourceArn = the topic ARN.`,
      ],
    },
  ],
  "sfn-execution-timeout-covers-retries": [
    {
      what: "an execution timeout below its retries (the old fixed 300 s)",
      break: (w) => set(w, "workflow", { definition: JSON.stringify({ StartAt: "Store", TimeoutSeconds: 300, States: { Store: { Type: "Task", Resource: FN_ARN, TimeoutSeconds: 35, Retry: [{ ErrorEquals: ["States.TaskFailed"], MaxAttempts: 3 }], Catch: [{ ErrorEquals: ["States.ALL"], Next: "Record" }], End: true }, Record: { Type: "Task", Resource: FN_ARN, TimeoutSeconds: 35, Retry: [{ ErrorEquals: ["States.ALL"], MaxAttempts: 5 }], End: true } } }) }),
      expected: ['State machine "orders" times out after 300 s, but its slowest path (every Task retried to the end) takes up to 388 s: a slow failure ends the execution before its failure handling; set the definition\'s TimeoutSeconds to at least 388.'],
    },
    {
      what: "an EXPRESS workflow whose slowest path exceeds 300 s",
      break: (w) => set(w, "workflow", { type: "EXPRESS", definition: JSON.stringify({ StartAt: "Store", States: { Store: { Type: "Task", Resource: FN_ARN, TimeoutSeconds: 100, End: true, Retry: [{ ErrorEquals: ["States.ALL"], MaxAttempts: 2 }] } } }) }),
      expected: ['Express state machine "orders" runs at most 300 s, but its slowest path (every Task retried to the end) takes up to 303 s: a slow failure ends the execution before its failure handling; shorten the Task timeouts or retries, or use STANDARD.'],
    },
    {
      what: "a bounded execution with an unbounded Task",
      break: (w) => set(w, "workflow", { definition: JSON.stringify({ StartAt: "Store", TimeoutSeconds: 60, States: { Store: { Type: "Task", Resource: FN_ARN, End: true } } }) }),
      expected: ['State machine "orders" stops after 60 s, but its slowest path has no bound (Task "Store" has no TimeoutSeconds): give every Task a TimeoutSeconds so the execution timeout can cover its retries.'],
    },
  ],
  "sns-fifo-topic-throughput-scope-set": [
    {
      what: "a FIFO topic without fifoThroughputScope",
      break: (w) => set(w, "topic", { fifoThroughputScope: undefined }),
      expected: ['FIFO topic "bus-topic.fifo" leaves fifoThroughputScope unset: a scope left out is never sent, so a topic once in MessageGroup scope stays there; set it to "Topic" (or "MessageGroup" with high-throughput queues).'],
    },
    {
      what: "a MessageGroup topic delivering to a per-queue FIFO queue",
      break: (w) => set(w, "topic", { fifoThroughputScope: "MessageGroup" }),
      expected: ['FIFO topic "bus-topic.fifo" is in MessageGroup (high-throughput) scope but delivers to "bus-payment.fifo", whose throughput is limited per queue: set the queue\'s fifoThroughputLimit to "perMessageGroupId" and deduplicationScope to "messageGroup", or the topic\'s scope to "Topic".'],
    },
  ],
  "sqs-consumer-queue-alarmed": [
    {
      what: "a consumed queue whose oldest message nobody watches",
      break: (w) => remove(w, "queue-oldest-message"),
      expected: ['Queue "bus-payment.fifo" is consumed by a function but no alarm (with an action) watches the age of its oldest message: a consumer failing every message through batchItemFailures shows no Lambda error; alarm on ApproximateAgeOfOldestMessage.'],
    },
    {
      what: "its DLQ alarm without an action",
      break: (w) => set(w, "dlq-messages", { alarmActions: [] }),
      expected: ['Dead-letter queue "bus-payment-dlq.fifo" of the consumed queue "bus-payment.fifo" has no alarm (with an action): messages that failed for good would sit there unseen; alarm on its ApproximateNumberOfMessagesVisible > 0.'],
    },
  ],
  "lambda-api-timeout-below-integration-timeout": [
    {
      what: "a 30 s function behind a REST integration (29 s)",
      break: (w) => add(w, T.integration, "post-order-integration", { restApi: "api123", resourceId: "res1", httpMethod: "POST", type: "AWS_PROXY", integrationHttpMethod: "POST", uri: `arn:aws:apigateway:${"us-east-1"}:lambda:path/2015-03-31/functions/${FN_ARN}/invocations` }),
      expected: ['Function "bus-payment" may run 30 s, but its API Gateway integration "post-order-integration" gives up after 29 s: the client gets a 504 while the function runs on; set its timeout to at most 28 s.'],
    },
    {
      what: "an HTTP API integration with a 10 s timeout",
      break: (w) => add(w, T.httpIntegration, "http-integration", { apiId: "http1", integrationType: "AWS_PROXY", integrationUri: FN_ARN, timeoutMilliseconds: 10_000 }),
      expected: ['Function "bus-payment" may run 30 s, but its API Gateway integration "http-integration" gives up after 10 s: the client gets a 504 while the function runs on; set its timeout to at most 9 s.'],
    },
  ],
};

/** The message V8 gives for JSON.parse of `text`. */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("the fixture world", () => {
  it("is compliant with every policy (the positive case of each)", async () => {
    for (const policy of policies) expect({ policy: policy.name, messages: await messages(policy.name, world()) }).toEqual({ policy: policy.name, messages: [] });
  });
});

describe.each(policies.map((p) => p.name))("%s", (name) => {
  const cases = CASES[name] ?? [];
  it("has negative cases", () => expect(cases.length).toBeGreaterThan(0));
  it.each(cases.map((c) => [c.what, c] as const))("reports %s", async (_what, c) => {
    expect(await messages(name, c.break(world()), c.config)).toEqual(c.expected);
  });
});

describe("documented exceptions and edge cases (positive)", () => {
  it("accepts the KMS key policy's account-root kms:* statement", async () => {
    expect(await messages("iam-no-wildcard-actions", world())).toEqual([]);
  });
  it("accepts X-Ray and log-delivery actions on *, and more actions allowed through config", async () => {
    const w = ROLE_POLICY(world(), { Effect: "Allow", Action: ["logs:CreateLogDelivery", "cloudwatch:PutMetricData", "xray:GetSamplingRules"], Resource: "*" }, { Effect: "Allow", Action: ["ssm:DescribeParameters"], Resource: "*" });
    expect(await messages("iam-no-wildcard-resources", w, { extraAllowedActions: ["ssm:DescribeParameters"] })).toEqual([]);
  });
  it("accepts * principals tied to a source, and deny statements for *", async () => {
    const w = set(world(), "queue-policy", { policy: policyDoc({ Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Resource: QUEUE_ARN, Condition: { ArnEquals: { "aws:SourceArn": TOPIC_ARN } } }, tlsDeny("sqs", QUEUE_ARN)) });
    expect(await messages("resource-policy-no-public-principal", w)).toEqual([]);
    expect(await messages("sns-sqs-subscription-queue-policy-allows-topic", w)).toEqual([]);
  });
  it("accepts AWS managed keys for names allow-listed as carrying no customer data", async () => {
    const w = set(world(), "topic", { kmsMasterKeyId: "alias/aws/sns" });
    expect(await messages("sns-topic-encrypted-with-cmk", w, { awsManagedKeyAllowedNames: ["^bus-topic"] })).toEqual([]);
  });
  it("accepts a DLQ without its own DLQ, a standard queue batch above 10 with a window, and OPTIONS without auth", async () => {
    const w = set(world(), "trigger", { eventSourceArn: arn("sqs", "standard"), batchSize: 100, maximumBatchingWindowInSeconds: 1 });
    expect(await messages("lambda-sqs-event-source-settings-valid", w)).toEqual([]);
    expect(await messages("sqs-queue-has-dlq", world())).toEqual([]);
    expect(await messages("apigateway-method-authorization", world())).toEqual([]);
  });
  it("does not check asymmetric keys for rotation", async () => {
    const w = set(world(), "key", { enableKeyRotation: false, customerMasterKeySpec: "RSA_2048", keyUsage: "SIGN_VERIFY" });
    expect(await messages("kms-key-rotation-enabled", w)).toEqual([]);
  });
  it("accepts gateway responses that only substitute $context and $stageVariables (the program's, and AWS's example)", async () => {
    let w = world();
    for (const [type, template] of Object.entries(GATEWAY_RESPONSE_TEMPLATES)) w = add(w, GATEWAY_RESPONSE_TYPE, type, { restApiId: "api123", responseType: type, responseTemplates: { "application/json": template } });
    w = add(w, GATEWAY_RESPONSE_TYPE, "aws-example", { restApiId: "api123", responseType: "UNAUTHORIZED", statusCode: "401", responseTemplates: { "application/json": '{ "message": $context.error.messageString, "type": "$context.error.responseType", "stage": "$stageVariables.name" }' } });
    expect(await messages("apigateway-gateway-response-no-vtl", w)).toEqual([]);
  });
  it("accepts a table opted out with a reason, and an ephemeral table with TTL unprotected", async () => {
    const optedOut = protect(set(world(), "table", { deletionProtectionEnabled: false, tags: { DeletionProtectionOptOut: "dev holds test data only" } }), "table", false);
    expect(await messages("dynamodb-table-deletion-protection", optedOut)).toEqual([]);
    expect(await messages("dynamodb-ledger-table-protected", optedOut)).toEqual([]);
    const ephemeral = protect(set(world(), "table", { tags: { DataClass: "ephemeral" }, ttl: { attributeName: "expires_at", enabled: true } }), "table", false);
    expect(await messages("dynamodb-ledger-table-protected", ephemeral)).toEqual([]);
  });
  it("counts an SNS subscription's dead-letter queue as a DLQ, and accepts an oldest-message alarm on a consumed DLQ", async () => {
    let w = add(world(), T.queue, "sub-dlq", { name: "bus-sub-dlq.fifo", fifoQueue: true, kmsMasterKeyId: KEY_ARN, messageRetentionSeconds: 1_209_600 }, { arn: arn("sqs", "bus-sub-dlq.fifo"), url: "https://sqs/bus-sub-dlq.fifo" });
    w = set(w, "subscription", { redrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("sqs", "bus-sub-dlq.fifo") }) });
    expect(await messages("sqs-queue-has-dlq", w)).toEqual([]);
    expect(await messages("cloudwatch-alarm-coverage", w)).toEqual(['Dead-letter queue "bus-sub-dlq.fifo" has no alarm on its visible messages: a message that lands there is never noticed; add an alarm on AWS/SQS ApproximateNumberOfMessagesVisible with dimension QueueName "bus-sub-dlq.fifo" (threshold 0).']);
    w = add(world(), T.eventSourceMapping, "dlq-trigger", { eventSourceArn: DLQ_ARN, functionName: FN_ARN, functionResponseTypes: ["ReportBatchItemFailures"] });
    w = set(w, "dlq-messages", { metricName: "ApproximateAgeOfOldestMessage" });
    expect(await messages("cloudwatch-alarm-coverage", w)).toEqual([]);
    expect(await messages("cloudwatch-alarm-actions-enabled", add(world(), T.metricAlarm, "math", { name: "math", alarmActions: [ALARM_TOPIC_ARN], metricQueries: [{ id: "e", metric: { namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: "x" } } }] }))).toEqual([]);
  });
  it("accepts a layer from the function's own account, and container-image functions without a runtime", async () => {
    const w = set(world(), "fn", { layers: [OTEL, "arn:aws:lambda:us-east-1:123456789012:layer:own:1"] });
    expect(await messages("lambda-layer-provenance", w)).toEqual([]);
    expect(await messages("lambda-runtime-supported", set(world(), "fn", { runtime: undefined, packageType: "Image" }))).toEqual([]);
  });
  it("accepts a trust policy with conditions (Step Functions' confused-deputy guard) and a role nothing in the stack uses", async () => {
    const w = add(world(), T.role, "ci", { name: "ci", assumeRolePolicy: policyDoc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: ["sts:AssumeRole", "sts:TagSession"] }) }, { arn: `arn:aws:iam::123456789012:role/ci` });
    expect(await messages("iam-role-trust-restricted", w)).toEqual([]);
    expect(await messages("iam-role-trust-matches-use", w)).toEqual([]);
  });
  it("accepts throttling through method settings", async () => {
    const w = add(remove(world(), "usage-plan"), T.methodSettings, "throttle", { restApi: "api123", stageName: "dev", methodPath: "*/*", settings: { throttlingRateLimit: 10, throttlingBurstLimit: 20 } });
    expect(await messages("apigateway-stage-throttling", w)).toEqual([]);
  });
  it("uses the fixture function and queue consistently", () => {
    expect(world().trigger!.inputs.functionName).toBe(FN_ARN);
    expect(world().queue!.state.url).toBe(QUEUE_URL);
  });
});

describe("sfn-execution-timeout-covers-retries, computed like the program", () => {
  it("finds the same slowest path in the order workflow as the program does, and passes the derived timeout", async () => {
    const { orderWorkflowDefinition, taskTimeoutFor, worstCaseSeconds: programWorstCase } = await import("../../components/orders/workflow-definition");
    const { worstCaseSeconds: packWorstCase } = await import("../../policies/lib/asl");
    for (const seconds of [3, 30, 120]) {
      const definition = orderWorkflowDefinition({ validateFunctionArn: FN_ARN, storeFunctionArn: FN_ARN, fulfillmentQueueUrl: QUEUE_URL, taskTimeoutSeconds: taskTimeoutFor(seconds) });
      expect(packWorstCase(definition)).toBe(programWorstCase(definition));
      expect(await messages("sfn-execution-timeout-covers-retries", set(world(), "workflow", { definition: JSON.stringify(definition) }))).toEqual([]);
    }
  });
  it("leaves an unbounded STANDARD execution alone (its own timeout is a year)", async () => {
    expect(await messages("sfn-execution-timeout-covers-retries", set(world(), "workflow", { definition: JSON.stringify({ StartAt: "T", States: { T: { Type: "Task", Resource: FN_ARN, End: true } } }) }))).toEqual([]);
  });
});
