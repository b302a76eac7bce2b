/**
 * Deploy-time and run-time failures the mock runtime cannot see but AWS would hit: names AWS
 * rejects, the `.fifo` suffix rule, event source mapping limits, visibility timeouts below the
 * consumer's timeout, filter policies AWS rejects, policy documents without `Version`, DLQs of the
 * wrong kind, retention periods CloudWatch does not offer, and cross-service permissions (a role or
 * a service that must be allowed to use a queue or a key, or nothing is delivered).
 *
 * Sources: the SQS, SNS, Lambda, IAM, DynamoDB, CloudWatch Logs and Step Functions quotas pages;
 * the SNS filter policy constraints; the SNS docs on delivering to encrypted queues; the Lambda
 * SQS event source docs (batch size and window for FIFO, visibility timeout, execution role).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { Statement } from "../lib/documents";
import { conditionKeys, coversAction, coversResource, isAllow, missingActions, parseDocument, principals } from "../lib/documents";
import { StackIndex, DEFAULTS, documentsOf, num } from "../lib/stack";
import { AUTONAME_SUFFIX, NAME_RULES, T } from "../lib/types";
import { onTypes, physical } from "./common";
import { keyAllowsServices, keyUsableByRoles } from "./deploy-time-keys";

export const nameValid: ResourceValidationPolicy = {
  name: "aws-name-valid",
  description: "Physical names fit AWS's length and character rules (SQS 80 including .fifo, Lambda 64, IAM role 64, state machine 80, table 3..255, ...).",
  remediationSteps: "Shorten the name prefix or the resource's short name (physicalName() in components/lib/naming.ts checks the length at program start), and use only the characters AWS allows for the type.",
  validateResource: (args, report) => {
    const rule = NAME_RULES[args.type];
    if (!rule) return;
    const property = rule.property ?? "name";
    const explicit = args.props[property] as string | undefined;
    const fifo = args.props.fifoQueue === true || args.props.fifoTopic === true;
    if (explicit === undefined) {
      if (args.props.namePrefix !== undefined) return; // AWS adds a 26-character suffix; checked by the provider
      const length = args.name.length + AUTONAME_SUFFIX + (fifo ? 5 : 0);
      if (length > rule.max) report(`The ${rule.what} Pulumi would generate from "${args.name}" is ${length} characters; AWS allows at most ${rule.max}: set ${property} explicitly or shorten the logical name.`);
      return;
    }
    if (explicit.length > rule.max || explicit.length < rule.min) {
      report(`The ${rule.what} "${explicit}" is ${explicit.length} characters; AWS allows ${rule.min}..${rule.max}: shorten it.`);
    }
    if (!rule.pattern.test(explicit)) report(`The ${rule.what} "${explicit}" has characters AWS rejects: use only ${rule.chars}.`);
  },
};

export const fifoSuffix: ResourceValidationPolicy = {
  name: "fifo-name-suffix",
  description: "FIFO queues and topics have names ending in `.fifo`, and only they do.",
  remediationSteps: "For a FIFO queue/topic end the name in `.fifo` (physicalName(prefix, name, max, \".fifo\")); for a standard one drop the suffix or set fifoQueue/fifoTopic: true.",
  validateResource: onTypes([T.queue, T.topic], (props, args, report) => {
    const name = props.name as string | undefined;
    if (name === undefined) return;
    const flag = args.type === T.queue ? "fifoQueue" : "fifoTopic";
    const fifo = props[flag] === true;
    if (fifo && !name.endsWith(".fifo")) report(`"${name}" is FIFO (${flag}: true) but its name does not end in ".fifo": AWS rejects it; append ".fifo".`);
    if (!fifo && name.endsWith(".fifo")) report(`"${name}" ends in ".fifo" but ${flag} is not true: AWS rejects it; set ${flag}: true or drop the suffix.`);
  }),
};

export const esmSettings: ResourceValidationPolicy = {
  name: "lambda-sqs-event-source-settings-valid",
  description: "SQS event source mappings use settings AWS accepts: FIFO batch size at most 10 and no batching window; standard batches above 10 need a window; maximum concurrency 2..1000.",
  remediationSteps: "For a FIFO queue keep batchSize ≤ 10 and leave maximumBatchingWindowInSeconds unset; for a standard queue with batchSize > 10 set maximumBatchingWindowInSeconds ≥ 1; keep scalingConfig.maximumConcurrency within 2..1000.",
  validateResource: onTypes([T.eventSourceMapping], (props, args, report) => {
    const source = String(props.eventSourceArn ?? "");
    if (!/^arn:[^:]+:sqs:/.test(source)) return;
    const batch = num(props.batchSize, 10);
    const window = num(props.maximumBatchingWindowInSeconds, 0);
    const concurrency = (props.scalingConfig as { maximumConcurrency?: number } | undefined)?.maximumConcurrency;
    if (source.endsWith(".fifo")) {
      if (batch > 10) report(`Event source mapping "${args.name}" reads the FIFO queue ${source} in batches of ${batch}: FIFO queues allow at most 10; set batchSize to 10 or less.`);
      if (window > 0) report(`Event source mapping "${args.name}" sets a ${window} s batching window on the FIFO queue ${source}: AWS rejects it for FIFO queues; remove maximumBatchingWindowInSeconds.`);
    } else {
      if (batch > 10_000) report(`Event source mapping "${args.name}" uses batchSize ${batch}: SQS allows at most 10000.`);
      if (batch > 10 && window < 1) report(`Event source mapping "${args.name}" uses batchSize ${batch} without a batching window: AWS requires maximumBatchingWindowInSeconds ≥ 1 when batchSize is above 10.`);
    }
    if (concurrency !== undefined && (concurrency < 2 || concurrency > 1000)) {
      report(`Event source mapping "${args.name}" sets scalingConfig.maximumConcurrency to ${concurrency}: AWS accepts 2..1000.`);
    }
  }),
};

export const visibilityAboveTimeout: StackValidationPolicy = {
  name: "lambda-sqs-visibility-exceeds-function-timeout",
  description: "A queue's visibility timeout is at least its consumer function's timeout (AWS rejects the event source mapping otherwise).",
  remediationSteps: "Raise the queue's visibilityTimeoutSeconds (6 × the function timeout is the recommendation) or lower the function's timeout.",
  validateStack: (args, report) => {
    for (const { queue, fn, mapping } of new StackIndex(args.resources).sqsMappings()) {
      if (!fn) continue;
      const visibility = num(queue.props.visibilityTimeoutSeconds, DEFAULTS.queueVisibilityTimeout);
      const timeout = num(fn.props.timeout, DEFAULTS.functionTimeout);
      if (visibility < timeout) {
        report(`Queue "${physical(queue.props, queue.name)}" has a visibility timeout of ${visibility} s, below the ${timeout} s timeout of its consumer "${physical(fn.props, fn.name)}": AWS rejects the event source mapping; set visibilityTimeoutSeconds to at least ${timeout} (6 × is recommended).`, mapping.urn);
      }
    }
  },
};

/** Counts filter policy keys (leaf attributes) and the product of array sizes, as SNS does. */
function filterShape(node: unknown, scope: string, path: string, problems: string[], counts: { keys: number; combinations: number }): void {
  if (!node || typeof node !== "object" || Array.isArray(node)) {
    problems.push(`${path || "the filter policy"} must be a JSON object`);
    return;
  }
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const here = path ? `${path}.${key}` : key;
    if (key === "$or") {
      if (!Array.isArray(value)) problems.push(`"${here}" must be an array of objects`);
      else value.forEach((alt, i) => filterShape(alt, scope, `${here}[${i}]`, problems, counts));
      continue;
    }
    if (Array.isArray(value)) {
      counts.keys += 1;
      counts.combinations *= Math.max(1, value.length);
      if (value.length === 0) problems.push(`"${here}" has no values`);
      continue;
    }
    if (value && typeof value === "object") {
      if (scope === "MessageAttributes") problems.push(`"${here}" is nested: attribute-based filter policies (MessageAttributes scope) cannot nest; give each attribute an array`);
      else filterShape(value, scope, here, problems, counts);
      continue;
    }
    problems.push(`"${here}" must be an array of values, e.g. ["${String(value)}"]`);
  }
}

export const filterPolicyValid: ResourceValidationPolicy = {
  name: "sns-filter-policy-valid",
  description: "Subscription filter policies are JSON objects SNS accepts: values in arrays, no nesting in the MessageAttributes scope, at most 5 keys, at most 150 value combinations, at most 256 KB.",
  remediationSteps: "Write the filter policy as { \"attribute\": [\"value\", ...] } (nested objects only with filterPolicyScope \"MessageBody\"), with at most 5 keys and at most 150 combinations (the product of the array sizes).",
  validateResource: onTypes([T.subscription], (props, args, report) => {
    const raw = props.filterPolicy;
    if (raw === undefined || raw === null || raw === "") return;
    const scope = String(props.filterPolicyScope ?? "MessageAttributes");
    if (!["MessageAttributes", "MessageBody"].includes(scope)) report(`Subscription "${args.name}" has filterPolicyScope "${scope}": use "MessageAttributes" or "MessageBody".`);
    const text = typeof raw === "string" ? raw : JSON.stringify(raw);
    if (Buffer.byteLength(text, "utf8") > 256 * 1024) report(`Subscription "${args.name}" has a filter policy of ${Buffer.byteLength(text, "utf8")} bytes: SNS accepts at most 256 KB.`);
    let policy: unknown;
    try {
      policy = JSON.parse(text);
    } catch (e) {
      report(`Subscription "${args.name}" has a filter policy that is not valid JSON (${(e as Error).message}): fix the JSON.`);
      return;
    }
    const problems: string[] = [];
    const counts = { keys: 0, combinations: 1 };
    filterShape(policy, scope, "", problems, counts);
    if (counts.keys > 5) problems.push(`it has ${counts.keys} keys; SNS allows at most 5`);
    if (counts.combinations > 150) problems.push(`it has ${counts.combinations} value combinations; SNS allows at most 150`);
    for (const p of problems) report(`Subscription "${args.name}" has a filter policy SNS rejects: ${p}.`);
  }),
};

const DOC_TYPES = [T.rolePolicy, T.policy, T.role, T.userPolicy, T.groupPolicy, T.queue, T.queuePolicy, T.topic, T.topicPolicy, T.key, T.keyPolicy, T.logResourcePolicy];

export const documentVersion: ResourceValidationPolicy = {
  name: "policy-document-has-version",
  description: "Every IAM, key and resource policy document parses and declares `\"Version\": \"2012-10-17\"`.",
  remediationSteps: "Start the document with `\"Version\": \"2012-10-17\"`: without it IAM uses the 2008 grammar, where policy variables like ${aws:username} are literal text.",
  validateResource: onTypes(DOC_TYPES, (props, _args, report) => {
    for (const ref of documentsOf(_args.type, props)) {
      const parsed = parseDocument(ref.raw);
      if (!parsed.ok) report(`The policy document in "${ref.property}" ${parsed.error}: AWS rejects it.`);
      else if (parsed.doc.Version !== "2012-10-17") {
        report(`The policy document in "${ref.property}" has ${parsed.doc.Version ? `Version "${parsed.doc.Version}"` : "no Version"}: set "Version": "2012-10-17".`);
      }
    }
  }),
};

export const dlqKind: StackValidationPolicy = {
  name: "sqs-dlq-matches-source-type",
  description: "A FIFO queue's dead-letter queue is FIFO and a standard queue's is standard; maxReceiveCount is 1..1000.",
  remediationSteps: "Make the DLQ the same kind as its source (fifoQueue and the .fifo suffix) and keep maxReceiveCount within 1..1000.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const queue of stack.of(T.queue)) {
      const redrive = StackIndex.redrive(queue);
      if (!redrive) continue;
      const name = physical(queue.props, queue.name);
      const count = redrive.maxReceiveCount;
      if (typeof count !== "number" || count < 1 || count > 1000) report(`Queue "${name}" has redrive maxReceiveCount ${String(count)}: AWS accepts 1..1000.`, queue.urn);
      const dlq = stack.queueByArn(redrive.deadLetterTargetArn);
      if (dlq && (dlq.props.fifoQueue === true) !== (queue.props.fifoQueue === true)) {
        const kind = (q: typeof dlq) => (q.props.fifoQueue === true ? "FIFO" : "standard");
        report(`Queue "${name}" is ${kind(queue)} but its dead-letter queue "${physical(dlq.props, dlq.name)}" is ${kind(dlq)}: AWS rejects the redrive policy; make the DLQ ${kind(queue)}.`, queue.urn);
      }
    }
  },
};

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export const logRetentionValue: ResourceValidationPolicy = {
  name: "cloudwatch-log-retention-allowed-value",
  description: "Log group retention is one of the periods CloudWatch Logs accepts.",
  remediationSteps: `Use one of ${LOG_RETENTION_DAYS.join(", ")} days.`,
  validateResource: onTypes([T.logGroup], (props, args, report) => {
    const days = props.retentionInDays;
    if (typeof days === "number" && days !== 0 && !LOG_RETENTION_DAYS.includes(days)) {
      report(`Log group "${physical(props, args.name)}" has retentionInDays ${days}, which CloudWatch Logs rejects: use one of ${LOG_RETENTION_DAYS.join(", ")}.`);
    }
  }),
};

const CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];

export const triggerRole: StackValidationPolicy = {
  name: "lambda-sqs-trigger-role-can-consume",
  description: "The execution role of a function triggered by a queue may receive, delete and read attributes of that queue (AWS rejects the event source mapping otherwise).",
  remediationSteps: "Link the queue as the function's `source` with access \"consume\" (grants.ts LINK_ACTIONS.queue.consume), which grants sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes on the queue.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const { queue, fn, mapping } of stack.sqsMappings()) {
      const role = fn ? stack.roleByRef(fn.props.role) : undefined;
      if (!fn || !role) continue;
      const missing = missingActions(stack.roleStatements(role), CONSUME_ACTIONS, String(queue.props.arn));
      if (missing.length) {
        report(`Function "${physical(fn.props, fn.name)}" is triggered by "${physical(queue.props, queue.name)}" but its role may not ${missing.join(", ")} on it: AWS rejects the event source mapping; grant them on ${String(queue.props.arn)}.`, mapping.urn);
      }
    }
  },
};

/** Does a queue policy let SNS (or anyone, conditioned) send from this topic? */
/** Does a queue policy let SNS send from `topicArn`? (Also used for subscription dead-letter queues.) */
export function allowsTopic(statements: Statement[], queueArn: string, topicArn: string): boolean {
  return statements.some((s) => {
    if (!isAllow(s) || !coversAction(s, "sqs:SendMessage") || !coversResource(s, queueArn)) return false;
    const ps = principals(s);
    const snsOrAny = ps.some((p) => (p.kind === "Service" && p.value === "sns.amazonaws.com") || p.value === "*");
    if (!snsOrAny) return false;
    const sourceArns = Object.values(s.Condition ?? {}).flatMap((block) => Object.entries(block ?? {}).filter(([k]) => k.toLowerCase() === "aws:sourcearn").flatMap(([, v]) => (Array.isArray(v) ? v : [v]).map(String)));
    return sourceArns.some((a) => a === topicArn || /[*?]/.test(a)) || (!conditionKeys(s).includes("aws:sourcearn") && ps.some((p) => p.kind === "Service"));
  });
}

export const subscriptionQueuePolicy: StackValidationPolicy = {
  name: "sns-sqs-subscription-queue-policy-allows-topic",
  description: "A queue subscribed to a topic has a queue policy that lets SNS send from that topic (SNS drops every message otherwise, silently).",
  remediationSteps: "Add to the queue's policy: { Effect: \"Allow\", Principal: { Service: \"sns.amazonaws.com\" }, Action: \"sqs:SendMessage\", Resource: <queue ARN>, Condition: { ArnEquals: { \"aws:SourceArn\": <topic ARN> } } }.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const sub of stack.of(T.subscription)) {
      if (sub.props.protocol !== "sqs") continue;
      const queue = stack.queueByArn(sub.props.endpoint);
      if (!queue) continue;
      if (!allowsTopic(stack.queuePolicies(queue), String(queue.props.arn), String(sub.props.topic))) {
        report(`Queue "${physical(queue.props, queue.name)}" is subscribed to ${String(sub.props.topic)} but its queue policy does not let sns.amazonaws.com send from that topic: SNS would drop every message; allow sqs:SendMessage to Service sns.amazonaws.com with ArnEquals aws:SourceArn = the topic ARN.`, sub.urn);
      }
    }
  },
};

export const fifoThroughputScope: StackValidationPolicy = {
  name: "sns-fifo-topic-throughput-scope-set",
  description: "Every FIFO topic sets fifoThroughputScope (Topic or MessageGroup), and a MessageGroup topic delivers only to high-throughput FIFO queues.",
  remediationSteps: "Always set `fifoThroughputScope`: \"MessageGroup\" with high throughput, \"Topic\" without (FifoTransactionBus does), and keep the subscribed queues' fifoThroughputLimit/deduplicationScope in the same mode. A scope left out is never sent, so turning high throughput off leaves a topic in MessageGroup scope while its queues go back to per-queue limits.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const topic of stack.of(T.topic)) {
      if (topic.props.fifoTopic !== true) continue;
      const name = physical(topic.props, topic.name);
      const scope = topic.props.fifoThroughputScope;
      if (scope === undefined || scope === null || scope === "") {
        report(`FIFO topic "${name}" leaves fifoThroughputScope unset: a scope left out is never sent, so a topic once in MessageGroup scope stays there; set it to "Topic" (or "MessageGroup" with high-throughput queues).`, topic.urn);
        continue;
      }
      if (scope !== "MessageGroup") continue;
      for (const sub of stack.of(T.subscription)) {
        if (sub.props.topic !== topic.props.arn || sub.props.protocol !== "sqs") continue;
        const queue = stack.queueByArn(sub.props.endpoint);
        if (queue?.props.fifoQueue === true && queue.props.fifoThroughputLimit !== "perMessageGroupId") {
          report(`FIFO topic "${name}" is in MessageGroup (high-throughput) scope but delivers to "${physical(queue.props, queue.name)}", whose throughput is limited per queue: set the queue's fifoThroughputLimit to "perMessageGroupId" and deduplicationScope to "messageGroup", or the topic's scope to "Topic".`, sub.urn);
        }
      }
    }
  },
};

export const deployTimePolicies = [
  nameValid,
  fifoSuffix,
  esmSettings,
  visibilityAboveTimeout,
  filterPolicyValid,
  documentVersion,
  dlqKind,
  logRetentionValue,
  triggerRole,
  subscriptionQueuePolicy,
  keyAllowsServices,
  keyUsableByRoles,
  fifoThroughputScope,
];
