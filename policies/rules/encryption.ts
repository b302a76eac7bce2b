/**
 * Encryption at rest (SNS, SQS, DynamoDB and CloudWatch Logs with customer managed keys; keys that
 * rotate, stay enabled and cannot be deleted in a hurry) and in transit (every queue and topic policy
 * denies requests sent without TLS).
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_26,
 * CKV_AWS_27, CKV2_AWS_73, CKV_AWS_119, CKV_AWS_7, CKV_AWS_227, CKV_AWS_158; cfn_nag W47, W48, W74,
 * W84; Security Hub SNS.1, SQS.1, KMS.4. Not enforced, and why (docs/policies.md): KMS.3 (keys
 * scheduled for deletion: an account's state, not a declaration).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { deniesInsecureTransport, isPublicPrincipal, parseDocument, statements, coversAction } from "../lib/documents";
import { StackIndex, documentsOf } from "../lib/stack";
import { T } from "../lib/types";
import { config, matchesAny, onTypes, physical } from "./common";

/** Config shared by the at-rest policies: names whose data is not customer data may use AWS managed keys. */
interface AtRestConfig {
  awsManagedKeyAllowedNames: string[];
}
const atRestSchema = {
  properties: {
    awsManagedKeyAllowedNames: {
      type: "array" as const,
      items: { type: "string" as const },
      default: [] as string[],
      description: "Regular expressions of physical names that carry no customer data and may use an AWS managed key.",
    },
  },
};
const AT_REST_DEFAULTS: AtRestConfig = { awsManagedKeyAllowedNames: [] };

export const snsTopicEncrypted: ResourceValidationPolicy = {
  name: "sns-topic-encrypted-with-cmk",
  description: "SNS topics are encrypted at rest with a customer managed KMS key.",
  remediationSteps: "Set `kmsMasterKeyId` on the topic to the ARN of a customer managed key (a ServiceKey from components/lib/keys.ts) whose policy allows the services that publish to it.",
  configSchema: atRestSchema,
  validateResource: onTypes([T.topic], (props, args, report) => {
    const name = physical(props, args.name);
    const key = props.kmsMasterKeyId as string | undefined;
    const allowed = matchesAny(name, config(args, AT_REST_DEFAULTS).awsManagedKeyAllowedNames);
    if (!key) report(`Topic "${name}" is not encrypted at rest: set kmsMasterKeyId to the ARN of a customer managed KMS key.`);
    else if (/alias\/aws\/sns$/.test(key) && !allowed) {
      report(`Topic "${name}" uses the AWS managed key alias/aws/sns, which cannot be shared with other services or audited per use: set kmsMasterKeyId to a customer managed KMS key.`);
    }
  }),
};

export const sqsQueueEncrypted: ResourceValidationPolicy = {
  name: "sqs-queue-encrypted-with-cmk",
  description: "SQS queues are encrypted at rest with a customer managed KMS key.",
  remediationSteps: "Set `kmsMasterKeyId` on the queue to a customer managed key (and `kmsDataKeyReusePeriodSeconds`, e.g. 300); alias/aws/sqs does not let SNS deliver into the queue, and neither it nor SSE-SQS can be audited or shared per key policy.",
  configSchema: atRestSchema,
  validateResource: onTypes([T.queue], (props, args, report) => {
    const name = physical(props, args.name);
    const key = props.kmsMasterKeyId as string | undefined;
    const allowed = matchesAny(name, config(args, AT_REST_DEFAULTS).awsManagedKeyAllowedNames);
    if (!key) {
      if (props.sqsManagedSseEnabled === true) {
        if (!allowed) report(`Queue "${name}" uses SSE-SQS (an SQS owned key): set kmsMasterKeyId to a customer managed KMS key.`);
      } else report(`Queue "${name}" is not encrypted at rest: set kmsMasterKeyId to the ARN of a customer managed KMS key.`);
    } else if (/alias\/aws\/sqs$/.test(key) && !allowed) {
      report(`Queue "${name}" uses the AWS managed key alias/aws/sqs, whose policy no other service can be added to: set kmsMasterKeyId to a customer managed KMS key.`);
    }
  }),
};

export const dynamodbTableEncrypted: ResourceValidationPolicy = {
  name: "dynamodb-table-encrypted-with-cmk",
  description: "DynamoDB tables use server-side encryption with a customer managed KMS key.",
  remediationSteps: "Set `serverSideEncryption: { enabled: true, kmsKeyArn: <customer managed key ARN> }` on the table.",
  configSchema: atRestSchema,
  validateResource: onTypes([T.table], (props, args, report) => {
    const name = physical(props, args.name);
    const sse = props.serverSideEncryption as { enabled?: boolean; kmsKeyArn?: string } | undefined;
    if (matchesAny(name, config(args, AT_REST_DEFAULTS).awsManagedKeyAllowedNames)) return;
    if (!sse?.enabled) report(`Table "${name}" is encrypted only with an AWS owned key: set serverSideEncryption to { enabled: true, kmsKeyArn: <customer managed key ARN> }.`);
    else if (!sse.kmsKeyArn) report(`Table "${name}" uses the AWS managed key aws/dynamodb: set serverSideEncryption.kmsKeyArn to a customer managed KMS key.`);
  }),
};

export const kmsKeyRotation: ResourceValidationPolicy = {
  name: "kms-key-rotation-enabled",
  description: "Symmetric customer managed KMS keys rotate their key material yearly.",
  remediationSteps: "Set `enableKeyRotation: true` on the key (ServiceKey in components/lib/keys.ts does).",
  validateResource: onTypes([T.key], (props, args, report) => {
    const spec = (props.customerMasterKeySpec ?? props.keySpec ?? "SYMMETRIC_DEFAULT") as string;
    const usage = (props.keyUsage ?? "ENCRYPT_DECRYPT") as string;
    if (spec !== "SYMMETRIC_DEFAULT" || usage !== "ENCRYPT_DECRYPT") return; // AWS rotates only symmetric encryption keys
    if (props.enableKeyRotation !== true) report(`KMS key "${args.name}" does not rotate its key material: set enableKeyRotation to true.`);
  }),
};

export const kmsKeyEnabled: ResourceValidationPolicy = {
  name: "kms-key-enabled",
  description: "Customer managed KMS keys are enabled.",
  remediationSteps: "Remove `isEnabled: false` from the key (ServiceKey never sets it). A disabled key stops every queue, topic, table and log group it encrypts: sends, receives, reads and writes fail with KMS.DisabledException.",
  validateResource: onTypes([T.key], (props, args, report) => {
    if (props.isEnabled === false) {
      report(`KMS key "${args.name}" is disabled (isEnabled: false): every queue, topic, table and log group it encrypts stops working; remove isEnabled or set it to true.`);
    }
  }),
};

interface DeletionWindowConfig {
  minDeletionWindowDays: number;
}

export const kmsKeyDeletionWindow: ResourceValidationPolicy = {
  name: "kms-key-deletion-window",
  description: "Customer managed KMS keys wait at least 30 days (the configured minimum) before a scheduled deletion completes.",
  remediationSteps: "Set `deletionWindowInDays` to 30 (AWS's maximum and default; ServiceKey's default) or leave it unset. Data encrypted under a deleted key is lost for good; the window is the time anyone has to notice and cancel the deletion.",
  configSchema: { properties: { minDeletionWindowDays: { type: "integer", minimum: 7, maximum: 30, default: 30, description: "Shortest deletion window accepted, in days (AWS allows 7..30)." } } },
  validateResource: onTypes([T.key], (props, args, report) => {
    const { minDeletionWindowDays: min } = config<DeletionWindowConfig>(args, { minDeletionWindowDays: 30 });
    const days = typeof props.deletionWindowInDays === "number" ? props.deletionWindowInDays : 30;
    if (days < min) {
      report(`KMS key "${args.name}" is deleted ${days} days after a deletion is scheduled, less than the minimum ${min}: everything it encrypts is lost for good then; set deletionWindowInDays to at least ${min}.`);
    }
  }),
};

export const logGroupEncrypted: ResourceValidationPolicy = {
  name: "cloudwatch-log-group-encrypted-with-cmk",
  description: "CloudWatch log groups are encrypted with a customer managed KMS key.",
  remediationSteps: "Set `kmsKeyId` on the log group to the ARN of a customer managed key whose policy admits CloudWatch Logs (`logs.<region>.amazonaws.com`, with a `kms:EncryptionContext:aws:logs:arn` condition on the log group ARNs): the unit's ServiceKey with `cloudWatchLogsKeyUser` (components/lib/keys.ts).",
  validateResource: onTypes([T.logGroup], (props, args, report) => {
    if (!props.kmsKeyId) {
      report(`Log group "${physical(props, args.name)}" is not encrypted with a customer managed key: set kmsKeyId to the ARN of a key whose policy admits logs.<region>.amazonaws.com.`);
    }
  }),
};

const TLS_TYPES = [T.queue, T.queuePolicy, T.topic, T.topicPolicy];

export const tlsDenyStatement: ResourceValidationPolicy = {
  name: "queue-topic-policy-denies-insecure-transport",
  description: "Every SQS queue policy and SNS topic policy denies requests sent without TLS.",
  remediationSteps: "Add the statement `denyInsecureTransport(\"sqs\" | \"sns\", <arn>)` from components/lib/keys.ts: Effect Deny, Principal \"*\", Action \"sqs:*\"/\"sns:*\", Condition { Bool: { \"aws:SecureTransport\": \"false\" } }.",
  validateResource: onTypes(TLS_TYPES, (props, args, report) => {
    const service = args.type.startsWith("aws:sqs") ? "sqs" : "sns";
    for (const ref of documentsOf(args.type, props)) {
      const parsed = parseDocument(ref.raw);
      if (!parsed.ok) continue; // policy-document-has-version reports it
      const ok = statements(parsed.doc).some((s) => deniesInsecureTransport(s) && isPublicPrincipal(s) && coversAction(s, `${service}:SendMessage`) && coversAction(s, `${service}:Publish`) && coversAction(s, `${service}:ReceiveMessage`));
      if (!ok) {
        report(`The ${service.toUpperCase()} policy in "${ref.property}" does not deny requests sent without TLS: add { Effect: "Deny", Principal: "*", Action: "${service}:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }.`);
      }
    }
  }),
};

export const queueTopicHasPolicy: StackValidationPolicy = {
  name: "queue-topic-has-resource-policy",
  description: "Every SQS queue and SNS topic has a resource policy (where TLS is enforced).",
  remediationSteps: "Declare an aws.sqs.QueuePolicy / aws.sns.TopicPolicy for the resource with at least the denyInsecureTransport statement (components/lib/keys.ts).",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const queue of stack.of(T.queue)) {
      if (!stack.hasQueuePolicy(queue)) report(`Queue "${physical(queue.props, queue.name)}" has no queue policy, so nothing denies requests sent without TLS: add an aws.sqs.QueuePolicy with the denyInsecureTransport("sqs", queue.arn) statement.`, queue.urn);
    }
    for (const topic of stack.of(T.topic)) {
      if (!stack.hasTopicPolicy(topic)) report(`Topic "${physical(topic.props, topic.name)}" has no topic policy, so nothing denies requests sent without TLS: add an aws.sns.TopicPolicy with the denyInsecureTransport("sns", topic.arn) statement.`, topic.urn);
    }
  },
};

export const encryptionPolicies = [snsTopicEncrypted, sqsQueueEncrypted, dynamodbTableEncrypted, kmsKeyRotation, kmsKeyEnabled, kmsKeyDeletionWindow, logGroupEncrypted, tlsDenyStatement, queueTopicHasPolicy];
