/**
 * Resilience: dead-letter queues, their retention, FIFO ordering kept end to end, visibility
 * timeouts that outlast retries, partial batch failures, point-in-time recovery, and tables that a
 * replaced or destroyed stack cannot take with it (deletion protection, and Pulumi's `protect` on
 * every table whose records do not expire).
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_28;
 * Security Hub DynamoDB.2, DynamoDB.6. Not enforced, and why (docs/policies.md): CKV_AWS_116 (a DLQ
 * for asynchronous invocations), DynamoDB.4 (a backup plan).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Unbounded, worstCaseSeconds } from "../lib/asl";
import { DEFAULTS, StackIndex, num } from "../lib/stack";
import { T } from "../lib/types";
import { config, onTypes, physical } from "./common";
import { allowsTopic } from "./deploy-time";

export const queueHasDlq: StackValidationPolicy = {
  name: "sqs-queue-has-dlq",
  description: "Every SQS queue that is not itself a dead-letter queue has a redrive policy to a dead-letter queue.",
  remediationSteps: "Give the queue `redrivePolicy: { deadLetterTargetArn: <dlq.arn>, maxReceiveCount }` (FifoTransactionBus.createRoute does); a poison message otherwise blocks its FIFO group forever or is retried until it expires.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const dlqs = stack.deadLetterArns();
    for (const queue of stack.of(T.queue)) {
      if (dlqs.has(String(queue.props.arn))) continue;
      const redrive = StackIndex.redrive(queue);
      if (!redrive?.deadLetterTargetArn) {
        report(`Queue "${physical(queue.props, queue.name)}" has no dead-letter queue: set redrivePolicy to { deadLetterTargetArn: <its DLQ's ARN>, maxReceiveCount: <receives before it moves> }.`, queue.urn);
      }
    }
  },
};

export const dlqRetention: StackValidationPolicy = {
  name: "sqs-dlq-retention-covers-source",
  description: "A dead-letter queue keeps messages at least as long as its source queue does.",
  remediationSteps: "Set the DLQ's `messageRetentionSeconds` to at least the source's (1209600, the maximum, is what FifoTransactionBus uses): a message that reaches the DLQ late in its life would otherwise expire before anyone looks at it.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const queue of stack.of(T.queue)) {
      const dlq = stack.queueByArn(StackIndex.redrive(queue)?.deadLetterTargetArn);
      if (!dlq) continue;
      const source = num(queue.props.messageRetentionSeconds, DEFAULTS.queueRetention);
      const kept = num(dlq.props.messageRetentionSeconds, DEFAULTS.queueRetention);
      if (kept < source) {
        report(`Dead-letter queue "${physical(dlq.props, dlq.name)}" keeps messages ${kept} s, less than its source "${physical(queue.props, queue.name)}" (${source} s): set its messageRetentionSeconds to at least ${source} (1209600 is the maximum).`, dlq.urn);
      }
    }
  },
};

export const fifoBehindFifo: StackValidationPolicy = {
  name: "sns-fifo-queue-behind-fifo-topic",
  description: "FIFO queues are subscribed only to FIFO topics, and FIFO topics deliver only to SQS.",
  remediationSteps: "Subscribe a FIFO queue to a FIFO topic (`fifoTopic: true`, name ending in .fifo); a standard topic cannot deliver to it and ordering per message group would be lost anyway.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const sub of stack.of(T.subscription)) {
      const topic = stack.topicByArn(sub.props.topic);
      const queue = sub.props.protocol === "sqs" ? stack.queueByArn(sub.props.endpoint) : undefined;
      if (topic?.props.fifoTopic === true && sub.props.protocol !== "sqs") {
        report(`Subscription "${sub.name}" delivers FIFO topic "${physical(topic.props, topic.name)}" over ${String(sub.props.protocol)}: FIFO topics deliver only to SQS queues; subscribe a queue and consume it.`, sub.urn);
      }
      if (queue?.props.fifoQueue === true && topic && topic.props.fifoTopic !== true) {
        report(`FIFO queue "${physical(queue.props, queue.name)}" is subscribed to the standard topic "${physical(topic.props, topic.name)}": SNS cannot deliver a standard topic to a FIFO queue; make the topic FIFO (fifoTopic: true, name ending in .fifo).`, sub.urn);
      }
    }
  },
};

interface VisibilityConfig {
  visibilityFactor: number;
}

export const visibilityFactor: StackValidationPolicy = {
  name: "sqs-visibility-timeout-factor",
  description: "A queue that triggers a Lambda function has a visibility timeout of at least six times the function's timeout.",
  remediationSteps: "Set the queue's `visibilityTimeoutSeconds` to at least `visibilityFactor` × the function's timeout (VISIBILITY_TIMEOUT_FACTOR in components/lib/encrypted-queue.ts), so retries of a throttled batch do not redeliver messages still being processed.",
  configSchema: { properties: { visibilityFactor: { type: "number", minimum: 1, default: 6, description: "Minimum visibility timeout as a multiple of the consumer's timeout (AWS recommends 6)." } } },
  validateStack: (args, report) => {
    const { visibilityFactor: factor } = config<VisibilityConfig>(args, { visibilityFactor: 6 });
    for (const { queue, fn, mapping } of new StackIndex(args.resources).sqsMappings()) {
      if (!fn) continue;
      const visibility = num(queue.props.visibilityTimeoutSeconds, DEFAULTS.queueVisibilityTimeout);
      const timeout = num(fn.props.timeout, DEFAULTS.functionTimeout);
      if (visibility < timeout) continue; // lambda-sqs-visibility-exceeds-function-timeout reports it: AWS rejects the mapping
      if (visibility < factor * timeout) {
        report(`Queue "${physical(queue.props, queue.name)}" has a visibility timeout of ${visibility} s, less than ${factor} × the ${timeout} s timeout of its consumer "${physical(fn.props, fn.name)}": set visibilityTimeoutSeconds to at least ${factor * timeout}.`, mapping.urn);
      }
    }
  },
};

export const reportBatchItemFailures: ResourceValidationPolicy = {
  name: "lambda-esm-reports-batch-item-failures",
  description: "Every SQS, Kinesis or DynamoDB stream event source mapping reports partial batch failures.",
  remediationSteps: "Set `functionResponseTypes: [\"ReportBatchItemFailures\"]` on the mapping and return `{ batchItemFailures }` from the handler (functions/lib/sqs-handler.ts); otherwise one bad message makes the whole batch retry.",
  validateResource: onTypes([T.eventSourceMapping], (props, args, report) => {
    const source = String(props.eventSourceArn ?? "");
    if (!/^arn:[^:]+:(sqs|kinesis|dynamodb):/.test(source)) return;
    const types = (props.functionResponseTypes as string[] | undefined) ?? [];
    if (!types.includes("ReportBatchItemFailures")) {
      report(`Event source mapping "${args.name}" from ${source} does not report partial batch failures: set functionResponseTypes to ["ReportBatchItemFailures"].`);
    }
  }),
};

export const tablePitr: ResourceValidationPolicy = {
  name: "dynamodb-table-pitr-enabled",
  description: "DynamoDB tables have point-in-time recovery on.",
  remediationSteps: "Set `pointInTimeRecovery: { enabled: true }` on the table.",
  validateResource: onTypes([T.table], (props, args, report) => {
    const pitr = props.pointInTimeRecovery as { enabled?: boolean } | undefined;
    if (pitr?.enabled !== true) report(`Table "${physical(props, args.name)}" has no point-in-time recovery: set pointInTimeRecovery to { enabled: true }.`);
  }),
};

/**
 * The tag through which a stack opts its tables out of deletion protection and `protect`, with the
 * reason as its value (stack setting tableProtectionOptOut). Dev does: its data is disposable.
 */
export const OPT_OUT_TAG = "DeletionProtectionOptOut";
/** The tag that declares what a table holds: `ephemeral` (items expire: TTL on), else a ledger. */
export const DATA_CLASS_TAG = "DataClass";

interface TableProtectionConfig {
  allowOptOut: boolean;
}
const tableProtectionSchema = {
  properties: { allowOptOut: { type: "boolean" as const, default: true, description: `Accept the ${OPT_OUT_TAG} tag (with a reason) on stacks whose tables are disposable; false refuses any opt-out.` } },
};
const tagsOf = (props: Record<string, unknown>) => (props.tags ?? {}) as Record<string, unknown>;
/** The opt-out reason a table carries, when the policy accepts opt-outs. */
function optOutReason(props: Record<string, unknown>, args: { getConfig<T extends object>(): T }): string | undefined {
  const reason = tagsOf(props)[OPT_OUT_TAG];
  const { allowOptOut } = config<TableProtectionConfig>(args, { allowOptOut: true });
  return allowOptOut && typeof reason === "string" && reason.trim() !== "" ? reason : undefined;
}

export const tableDeletionProtection: ResourceValidationPolicy = {
  name: "dynamodb-table-deletion-protection",
  description: "DynamoDB tables have deletion protection, unless the stack opts out with a reason (the DeletionProtectionOptOut tag).",
  remediationSteps: `Set \`deletionProtectionEnabled: true\` on the table (the units do, unless the stack setting tableProtectionOptOut is set). A stack whose tables are disposable (dev) sets tableProtectionOptOut to the reason in Pulumi.<stack>.yaml, which tags each table ${OPT_OUT_TAG}=<reason>; the pack config \`allowOptOut: false\` refuses any opt-out.`,
  configSchema: tableProtectionSchema,
  validateResource: onTypes([T.table], (props, args, report) => {
    if (props.deletionProtectionEnabled === true || optOutReason(props, args)) return;
    report(`Table "${physical(props, args.name)}" has no deletion protection: a replaced or destroyed stack deletes it with every item; set deletionProtectionEnabled to true (a stack whose tables are disposable sets tableProtectionOptOut to the reason instead).`);
  }),
};

export const ledgerTableProtected: ResourceValidationPolicy = {
  name: "dynamodb-ledger-table-protected",
  description: "Every DynamoDB table whose records do not expire (a ledger) has Pulumi's `protect` option, unless the stack opts out with a reason; only a table tagged DataClass=ephemeral with TTL on is exempt.",
  remediationSteps: `Declare the table with the \`protect: true\` resource option (the units do, unless the stack setting tableProtectionOptOut is set): \`pulumi up\` then refuses to replace it and \`pulumi destroy\` to delete it. A table whose items all expire (TTL on) may be tagged ${DATA_CLASS_TAG}=ephemeral instead.`,
  configSchema: tableProtectionSchema,
  validateResource: onTypes([T.table], (props, args, report) => {
    const ttl = props.ttl as { enabled?: boolean } | undefined;
    if (tagsOf(props)[DATA_CLASS_TAG] === "ephemeral" && ttl?.enabled === true) return;
    if (args.opts.protect || optOutReason(props, args)) return;
    report(`Table "${physical(props, args.name)}" holds records that do not expire but is not protected: a change that replaces it, or a pulumi destroy, deletes the ledger; declare it with the protect resource option (or, if its items all expire, tag it ${DATA_CLASS_TAG}=ephemeral with TTL on).`);
  }),
};


/** Subscription protocols that deliver to an application (SNS's A2A), where a lost message is lost data. */
export const A2A_PROTOCOLS = ["sqs", "lambda", "firehose", "http", "https"];

export const subscriptionHasDlq: StackValidationPolicy = {
  name: "sns-subscription-has-dlq",
  description: "Every SNS subscription to an application (SQS, Lambda, Firehose, HTTP/S) has a dead-letter queue: a FIFO queue for a FIFO topic, whose policy lets the topic send to it.",
  remediationSteps: "Give the subscription `redrivePolicy: { deadLetterTargetArn: <queue ARN> }` (FifoTransactionBus.createRoute does): SNS discards a message whose delivery fails on the client side (a queue policy or key policy that stops it, a deleted queue) unless the subscription has a DLQ. For a FIFO topic the DLQ is a FIFO queue; encrypt it with a key that admits SNS, and let its policy allow sqs:SendMessage to Service sns.amazonaws.com with aws:SourceArn = the topic.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    for (const sub of stack.of(T.subscription)) {
      const protocol = String(sub.props.protocol ?? "");
      if (!A2A_PROTOCOLS.includes(protocol)) continue;
      const topicArn = String(sub.props.topic ?? "");
      const target = StackIndex.redrive(sub)?.deadLetterTargetArn;
      if (!target) {
        report(`Subscription "${sub.name}" (${protocol} from ${topicArn}) has no dead-letter queue: SNS discards a message it cannot deliver (a queue policy or key that stops it, a deleted queue); set redrivePolicy to { deadLetterTargetArn: <a queue's ARN> }.`, sub.urn);
        continue;
      }
      const dlq = stack.queueByArn(target);
      if (!dlq) continue;
      const name = physical(dlq.props, dlq.name);
      const topic = stack.topicByArn(topicArn);
      if (topic?.props.fifoTopic === true && dlq.props.fifoQueue !== true) {
        report(`Subscription "${sub.name}" of the FIFO topic "${physical(topic.props, topic.name)}" dead-letters to the standard queue "${name}": SNS requires a FIFO queue as the DLQ of a FIFO topic's subscription; make it FIFO (fifoQueue: true, name ending in .fifo).`, sub.urn);
      }
      if (!allowsTopic(stack.queuePolicies(dlq), String(dlq.props.arn), topicArn)) {
        report(`Dead-letter queue "${name}" of subscription "${sub.name}" has no queue policy statement letting sns.amazonaws.com send from ${topicArn}: SNS could not move undeliverable messages there either; allow sqs:SendMessage to Service sns.amazonaws.com with ArnEquals aws:SourceArn = the topic ARN.`, sub.urn);
      }
    }
  },
};

/** Express workflows run at most five minutes. */
export const EXPRESS_MAX_SECONDS = 300;

export const executionTimeoutCoversRetries: StackValidationPolicy = {
  name: "sfn-execution-timeout-covers-retries",
  description: "A state machine's execution timeout covers its slowest path (every Task retried to the end, with its TimeoutSeconds and backoff), and an EXPRESS one's slowest path fits in 300 s.",
  remediationSteps: "Derive the definition's TimeoutSeconds from its Tasks (worstCaseSeconds in components/orders/workflow-definition.ts does), give every Task a TimeoutSeconds, and for EXPRESS shorten the Task timeouts or retries (the settings schema refuses an EXPRESS stack whose functionTimeoutSeconds is too long) or use STANDARD: an execution that times out mid-retry skips its failure handling (the order stays PENDING).",
  validateStack: (args, report) => {
    for (const machine of new StackIndex(args.resources).of(T.stateMachine)) {
      let definition: { StartAt?: unknown; States?: unknown; TimeoutSeconds?: unknown };
      try {
        definition = JSON.parse(String(machine.props.definition ?? "{}")) as typeof definition;
      } catch {
        continue; // policy-document checks are elsewhere; an unparsable definition fails at deploy
      }
      if (typeof definition.StartAt !== "string") continue;
      const express = machine.props.type === "EXPRESS";
      const limit = typeof definition.TimeoutSeconds === "number" ? definition.TimeoutSeconds : undefined;
      const name = physical(machine.props, machine.name);
      let worst: number;
      try {
        worst = worstCaseSeconds(definition);
      } catch (error) {
        if (!(error instanceof Unbounded)) throw error;
        // Only a problem where the execution itself is bounded.
        if (limit !== undefined || express) {
          report(`State machine "${name}" stops after ${limit ?? EXPRESS_MAX_SECONDS} s, but its slowest path has no bound (${error.message}): give every Task a TimeoutSeconds so the execution timeout can cover its retries.`, machine.urn);
        }
        continue;
      }
      if (express && worst > EXPRESS_MAX_SECONDS) {
        report(`Express state machine "${name}" runs at most ${EXPRESS_MAX_SECONDS} s, but its slowest path (every Task retried to the end) takes up to ${worst} s: a slow failure ends the execution before its failure handling; shorten the Task timeouts or retries, or use STANDARD.`, machine.urn);
      } else if (limit !== undefined && limit < worst) {
        report(`State machine "${name}" times out after ${limit} s, but its slowest path (every Task retried to the end) takes up to ${worst} s: a slow failure ends the execution before its failure handling; set the definition's TimeoutSeconds to at least ${worst}.`, machine.urn);
      }
    }
  },
};

export const resiliencePolicies = [queueHasDlq, dlqRetention, fifoBehindFifo, visibilityFactor, reportBatchItemFailures, tablePitr, tableDeletionProtection, ledgerTableProtected, subscriptionHasDlq, executionTimeoutCoversRetries];
