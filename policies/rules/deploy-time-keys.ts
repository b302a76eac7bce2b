/**
 * Deploy-time failures of keys: a service that puts messages into an encrypted queue or topic (SNS
 * into a queue, CloudWatch into the alarm topic, CloudWatch Logs into a log group) or a role that
 * reads or writes one must be allowed by the key's policy, or nothing is delivered and every call
 * fails with KMS.AccessDeniedException at run time. Part of the deploy-time rules (deploy-time.ts).
 *
 * Sources: the SNS docs on delivering to encrypted queues; the CloudWatch Logs docs on encrypting
 * log data with AWS KMS; the KMS docs on key policies that delegate to IAM.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import type { Statement } from "../lib/documents";
import { coversAction, coversResource, globMatch, isAllow, missingActions, principals } from "../lib/documents";
import { StackIndex, known, parseArn } from "../lib/stack";
import { T } from "../lib/types";
import { physical } from "./common";
/** KMS actions a service needs to put messages into an encrypted queue or topic. */
const SERVICE_KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];

function keyAllowsService(stack: StackIndex, key: ReturnType<StackIndex["keyByRef"]> & object, service: string): string[] {
  const forService = stack.keyPolicy(key).filter((s) => isAllow(s) && principals(s).some((p) => p.kind === "Service" && p.value === service));
  return missingActions(forService, SERVICE_KMS_ACTIONS, String(key.props.arn));
}

export const keyAllowsServices: StackValidationPolicy = {
  name: "kms-key-policy-allows-delivering-services",
  description: "The key of an encrypted queue, topic or log group lets the AWS service that writes into it use it: SNS for subscribed queues, CloudWatch for alarm topics, EventBridge for rule targets, CloudWatch Logs for log groups. AWS managed keys never do.",
  remediationSteps: "Use a customer managed key (ServiceKey) and list the service in serviceUsers: { service: \"sns.amazonaws.com\", sourceArnLike: <topic ARN pattern> } (kms:GenerateDataKey and kms:Decrypt with aws:SourceArn/aws:SourceAccount conditions); for log groups `cloudWatchLogsKeyUser(region, ...)` (logs.<region>.amazonaws.com, kms:Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe*, with a kms:EncryptionContext:aws:logs:arn condition covering the log group ARNs).",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const check = (service: string, target: NonNullable<ReturnType<StackIndex["queueByArn"]>>, what: string, urn: string) => {
      const ref = target.props.kmsMasterKeyId;
      if (!ref) return;
      const name = physical(target.props, target.name);
      if (/alias\/aws\//.test(String(ref))) {
        report(`${what} "${name}" is encrypted with the AWS managed key ${String(ref)}, which ${service} may not use: nothing would be delivered; encrypt it with a customer managed key whose policy allows ${service}.`, urn);
        return;
      }
      const key = stack.keyByRef(ref);
      if (!key) return;
      const missing = keyAllowsService(stack, key, service);
      if (missing.length) {
        report(`${what} "${name}" is encrypted with KMS key "${key.name}", whose policy does not allow ${service} to ${missing.join(" and ")}: nothing would be delivered; add ${service} to the key's serviceUsers.`, urn);
      }
    };
    for (const sub of stack.of(T.subscription)) {
      // SNS encrypts into the subscribed queue, and into the subscription's dead-letter queue.
      const queue = sub.props.protocol === "sqs" ? stack.queueByArn(sub.props.endpoint) : undefined;
      if (queue) check("sns.amazonaws.com", queue, "Queue", sub.urn);
      const dlq = stack.queueByArn(StackIndex.redrive(sub)?.deadLetterTargetArn);
      if (dlq) check("sns.amazonaws.com", dlq, "Dead-letter queue", sub.urn);
    }
    for (const alarm of stack.of(T.metricAlarm)) {
      const actions = ["alarmActions", "okActions", "insufficientDataActions"].flatMap((k) => (alarm.props[k] as string[] | undefined) ?? []);
      for (const arn of new Set(actions)) {
        const topic = stack.topicByArn(arn);
        if (topic) check("cloudwatch.amazonaws.com", topic, "Alarm topic", alarm.urn);
      }
    }
    for (const target of stack.of(T.eventTarget)) {
      const dest = stack.topicByArn(target.props.arn) ?? stack.queueByArn(target.props.arn);
      if (dest) check("events.amazonaws.com", dest, dest.type === T.topic ? "Topic" : "Queue", target.urn);
    }
    for (const group of stack.of(T.logGroup)) {
      const key = stack.keyByRef(group.props.kmsKeyId);
      const groupArn = parseArn(known(() => group.props.arn));
      if (!key || !groupArn) continue;
      const service = `logs.${groupArn.region}.amazonaws.com`;
      // The encryption context CloudWatch Logs sends names the log group (without the ":*" suffix).
      const contextArn = String(group.props.arn).replace(/:\*$/, "");
      const forService = stack.keyPolicy(key).filter((s) => isAllow(s) && principals(s).some((p) => p.kind === "Service" && p.value === service) && logsContextAllows(s, contextArn));
      const missing = missingActions(forService, LOGS_KMS_ACTIONS, String(key.props.arn));
      if (missing.length) {
        report(`Log group "${physical(group.props, group.name)}" is encrypted with KMS key "${key.name}", whose policy does not allow ${service} to ${missing.join(", ")} for it (encryption context ${contextArn}): CloudWatch Logs refuses the key and the log group is not created; add ${service} to the key policy (cloudWatchLogsKeyUser).`, group.urn);
      }
    }
  },
};

/** What CloudWatch Logs does with a log group's key (AWS's documented key policy statement). */
const LOGS_KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"];

/** Does a statement's `kms:EncryptionContext:aws:logs:arn` condition (if any) admit this log group ARN? */
function logsContextAllows(s: Statement, logGroupArn: string): boolean {
  const patterns = Object.entries(s.Condition ?? {}).flatMap(([, block]) =>
    Object.entries(block ?? {}).filter(([k]) => k.toLowerCase() === "kms:encryptioncontext:aws:logs:arn").flatMap(([, v]) => (Array.isArray(v) ? v : [v]).map(String)),
  );
  return patterns.length === 0 || patterns.some((p) => globMatch(p, logGroupArn, false));
}

/** What a role needs on the key of a queue/topic it uses. */
const ROLE_KMS_NEEDS: { action: string; on: "queue" | "topic"; kms: string[] }[] = [
  { action: "sqs:SendMessage", on: "queue", kms: ["kms:GenerateDataKey", "kms:Decrypt"] },
  { action: "sqs:ReceiveMessage", on: "queue", kms: ["kms:Decrypt"] },
  { action: "sns:Publish", on: "topic", kms: ["kms:GenerateDataKey", "kms:Decrypt"] },
];

/** Does the key policy let IAM policies grant it (account root statement) or name the role? */
function keyDelegates(statements: Statement[], roleArn: string, actions: string[], keyArn: string): boolean {
  const forRole = statements.filter((s) => isAllow(s) && principals(s).some((p) => p.kind === "AWS" && (p.value === roleArn || /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(p.value) || /^\d{12}$/.test(p.value))));
  return missingActions(forRole, actions, keyArn).length === 0;
}

export const keyUsableByRoles: StackValidationPolicy = {
  name: "kms-key-usable-by-roles",
  description: "A role that sends to, receives from or publishes to an encrypted queue or topic (a function, a state machine) may use its key: the matching KMS actions in its policy, and a key policy that delegates to IAM or names the role.",
  remediationSteps: "Link the resource with its kmsKeyArn (grants.ts adds kms:GenerateDataKey/kms:Decrypt on the key for send and publish, kms:Decrypt for consume); for a state machine's role add the same statement; keep the key policy's account-root statement.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const role of stack.of(T.role)) {
      const allows = stack.roleStatements(role).filter(isAllow);
      if (!allows.length) continue;
      for (const need of ROLE_KMS_NEEDS) {
        for (const target of stack.of(need.on === "queue" ? T.queue : T.topic)) {
          const arn = String(target.props.arn);
          if (!allows.some((s) => coversAction(s, need.action) && coversResource(s, arn) && !(s.Resource === "*"))) continue;
          const key = stack.keyByRef(target.props.kmsMasterKeyId);
          if (!key) continue;
          const keyArn = String(key.props.arn);
          const roleName = physical(role.props, role.name);
          const missing = missingActions(allows, need.kms, keyArn);
          if (missing.length) {
            report(`Role "${roleName}" may ${need.action} on "${physical(target.props, target.name)}" but not ${missing.join(", ")} on its KMS key ${keyArn}: every call would fail with KMS.AccessDeniedException; grant ${missing.join(", ")} on the key.`, role.urn);
          } else if (!keyDelegates(stack.keyPolicy(key), String(role.props.arn), need.kms, keyArn)) {
            report(`Role "${roleName}" may ${need.action} on "${physical(target.props, target.name)}" and is granted ${need.kms.join(", ")} on its KMS key "${key.name}", but the key policy neither delegates to IAM (account root statement) nor names the role: add the account-root statement or the role to the key policy.`, role.urn);
          }
        }
      }
    }
  },
};
