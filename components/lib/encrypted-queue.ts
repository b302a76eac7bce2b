/**
 * EncryptedQueue: one SQS queue the way every queue of this program is built: encrypted with a
 * customer managed key, a queue policy that refuses anything but TLS (plus any statements the
 * caller adds, e.g. an SNS topic's delivery), and, when it has a dead-letter queue, the redrive
 * policy on it and a redrive-allow policy on the DLQ that admits this queue only. `link()` is what a
 * function's link needs to grant on it (the queue and its key).
 *
 * ```ts
 * const dlq = new EncryptedQueue("payments-dlq", { name: "acme-payments-dlq.fifo", fifo: true, kmsKeyArn: key.arn,
 *   messageRetentionSeconds: DLQ_RETENTION_SECONDS }, { parent: this });
 * const queue = new EncryptedQueue("payments-queue", { name: "acme-payments.fifo", fifo: true, kmsKeyArn: key.arn,
 *   deadLetter: { queue: dlq, maxReceiveCount: 5 } }, { parent: this });
 * ```
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "./aliases";
import type { LinkTarget } from "./grants";
import { denyInsecureTransport } from "./keys";
import type { Transform } from "./transform";
import { transformed } from "./transform";

/** SQS's longest retention, used for every dead-letter queue so nothing expires before it is looked at. */
export const DLQ_RETENTION_SECONDS = 1_209_600;
/** AWS's advice for Lambda sources: a visibility timeout of at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** How long SQS reuses a data key before asking KMS again (AWS's default; fewer KMS calls than 60 s). */
export const KMS_DATA_KEY_REUSE_SECONDS = 300;

export interface EncryptedQueueArgs {
  /**
   * Physical queue name, `.fifo` included for a FIFO queue.
   * @example "utility-customer-system-dev-payment-processing.fifo"
   */
  name: string;
  /** ARN of the customer managed key that encrypts the messages. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * A FIFO queue: ordered per message group, deduplicated by the sender's `MessageDeduplicationId`
   * (never by content: two identical payments with different ids are two payments).
   * @default false
   */
  fifo?: boolean;
  /**
   * FIFO high-throughput mode: deduplication and throughput limits per message group instead of per
   * queue. Only for a FIFO queue.
   * @default false
   */
  highThroughput?: boolean;
  /** How long an unconsumed message is kept, in seconds. @default SQS's default (4 days) */
  messageRetentionSeconds?: number;
  /**
   * How long a received message stays invisible; for a Lambda source, `VISIBILITY_TIMEOUT_FACTOR`
   * times the function timeout.
   * @default SQS's default (30 s)
   */
  visibilityTimeoutSeconds?: number;
  /**
   * Where a message goes after `maxReceiveCount` receives without a delete. The DLQ gets a
   * redrive-allow policy that admits this queue only.
   * @default no dead-letter queue
   * @example { queue: dlq, maxReceiveCount: 5 }
   */
  deadLetter?: { queue: EncryptedQueue; maxReceiveCount: number };
  /**
   * Statements added to the queue policy before the TLS-only deny, given the queue's ARN.
   * @default none
   * @example (arn) => [{ Sid: "TopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: arn }]
   */
  policyStatements?: (queueArn: pulumi.Output<string>) => Record<string, unknown>[];
  /**
   * The component its resources were declared under before this component existed: they keep
   * their old URNs as aliases, so a deployed stack's queues are updated in place, not replaced.
   * @default none (a new queue)
   */
  formerParent?: pulumi.Resource;
  /**
   * Escape hatch: adjust the underlying resources' args before they are created.
   * @default {}
   * @example { queue: (args) => { args.delaySeconds = 5; } }
   */
  transform?: { queue?: Transform<aws.sqs.QueueArgs>; policy?: Transform<aws.sqs.QueuePolicyArgs> };
}

export class EncryptedQueue extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  /** The queue policy (TLS only, plus the caller's statements): a subscription delivering here depends on it. */
  readonly policy: aws.sqs.QueuePolicy;
  /** The DLQ's redrive-allow policy, when the queue has a dead-letter queue. */
  readonly redriveAllowPolicy?: aws.sqs.RedriveAllowPolicy;
  readonly arn: pulumi.Output<string>;
  readonly url: pulumi.Output<string>;
  /** Physical name (the `name` arg). */
  readonly queueName: pulumi.Output<string>;
  /** The logical name it was declared with (its DLQ's redrive-allow policy is named after it). */
  readonly logicalName: string;

  private readonly kmsKeyArn: pulumi.Input<string>;

  constructor(name: string, args: EncryptedQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:EncryptedQueue", name, {}, opts);
    if (args.highThroughput && !args.fifo) throw new Error(`EncryptedQueue ${name}: highThroughput applies to FIFO queues only`);
    this.kmsKeyArn = args.kmsKeyArn;
    this.logicalName = name;
    const child = childOf(this, args.formerParent);

    this.queue = new aws.sqs.Queue(name, transformed<aws.sqs.QueueArgs>({
      name: args.name,
      ...(args.fifo ? { fifoQueue: true, contentBasedDeduplication: false, ...throughputMode(args.highThroughput ?? false) } : {}),
      kmsMasterKeyId: args.kmsKeyArn,
      kmsDataKeyReusePeriodSeconds: KMS_DATA_KEY_REUSE_SECONDS,
      ...(args.messageRetentionSeconds !== undefined ? { messageRetentionSeconds: args.messageRetentionSeconds } : {}),
      ...(args.visibilityTimeoutSeconds !== undefined ? { visibilityTimeoutSeconds: args.visibilityTimeoutSeconds } : {}),
      ...(args.deadLetter
        ? { redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: args.deadLetter.queue.arn, maxReceiveCount: args.deadLetter.maxReceiveCount }) }
        : {}),
    }, args.transform?.queue), child);
    this.arn = this.queue.arn;
    this.url = this.queue.url;
    this.queueName = this.queue.name;

    if (args.deadLetter) {
      // Only this queue may redrive into its DLQ.
      this.redriveAllowPolicy = new aws.sqs.RedriveAllowPolicy(`${args.deadLetter.queue.logicalName}-redrive-allow`, {
        queueUrl: args.deadLetter.queue.url,
        redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [this.queue.arn] }),
      }, child);
    }

    this.policy = new aws.sqs.QueuePolicy(`${name}-policy`, transformed<aws.sqs.QueuePolicyArgs>({
      queueUrl: this.queue.url,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [...(args.policyStatements?.(this.queue.arn) ?? []), denyInsecureTransport("sqs", this.queue.arn)],
      }),
    }, args.transform?.policy), child);

    this.registerOutputs({ arn: this.arn, url: this.url });
  }

  /** What a function's link to this queue needs: its ARN, URL and the key that encrypts it. */
  link(): LinkTarget {
    return { arn: this.queue.arn, url: this.queue.url, kmsKeyArn: this.kmsKeyArn };
  }
}

/** FIFO throughput: per message group in high-throughput mode, else per queue (SQS's defaults). */
function throughputMode(highThroughput: boolean): Pick<aws.sqs.QueueArgs, "deduplicationScope" | "fifoThroughputLimit"> {
  return highThroughput
    ? { deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" }
    : { deduplicationScope: "queue", fifoThroughputLimit: "perQueue" };
}
