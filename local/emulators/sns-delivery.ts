/**
 * SNS → SQS delivery as AWS decides it, on top of fauxqs 2.4.1, which delivers to any subscribed
 * queue that exists and silently skips one that does not, and only stores a subscription's
 * `RedrivePolicy` (its README: "Subscription-level dead-letter queue config"; `fanOutToSubscriptions`
 * in `dist/sns/actions/publish.js`: `if (!queue) continue`).
 *
 * With this layer a delivery fails, as on AWS, when the queue is gone or its policy does not let
 * `sns.amazonaws.com` send from the topic (`queue-policy.ts`). A failed delivery goes to the
 * subscription's dead-letter queue when it has one whose own policy admits the topic: the message
 * as it would have been delivered (with raw delivery: the published body and its message
 * attributes; else the JSON envelope), with the FIFO message group and deduplication id, deduplicated
 * by the DLQ like any FIFO send. Otherwise SNS discards it. (SNS does not add error attributes to a
 * dead-lettered message: LocalStack's AWS-validated test `test_redrive_policy_sqs_queue_subscription`
 * and its fix localstack/localstack#6640.) Each failure is reported to `onFailure`, with whether it
 * was dead-lettered, and counted per topic like SNS's metrics.
 *
 * How: fauxqs fans out synchronously, reading each subscription with `snsStore.getSubscription`
 * and then its queue with `sqsStore.getQueueByArn(subscription.endpoint)`. Both are wrapped on our
 * own store instances: the subscription just read is remembered until the end of the current
 * synchronous run (a microtask clears it), and the queue lookup for exactly its endpoint is
 * answered with the subscribed queue, the DLQ, or nothing. fauxqs calls `getSubscription` followed
 * by `getQueueByArn` of the same ARN nowhere else (checked against 2.4.1; a test fails if a fauxqs
 * upgrade changes the fan-out).
 */
import type { SnsStore } from "fauxqs/dist/sns/snsStore";
import type { SqsQueue, SqsStore } from "fauxqs/dist/sqs/sqsStore";
import { snsMaySend } from "./queue-policy";

/** One delivery SNS could not make. */
export interface DeliveryFailure {
  topicArn: string;
  subscriptionArn: string;
  /** The subscribed queue's ARN. */
  endpoint: string;
  /** Why it failed. */
  reason: string;
  /** The subscription DLQ the message went to, or undefined when it was discarded. */
  deadLetteredTo?: string;
  /** Why it could not be dead-lettered, when it was discarded although the subscription has a DLQ. */
  deadLetterFailure?: string;
}

/** SNS's delivery metrics of one topic (CloudWatch's names). */
export interface TopicDeliveryCounts {
  NumberOfNotificationsFailed: number;
  NumberOfNotificationsRedrivenToDlq: number;
  NumberOfNotificationsFailedToRedriveToDlq: number;
}

export interface SnsDeliveryOptions {
  /**
   * Decide deliveries on the queue policy, as AWS does. Off, a queue that exists always receives
   * (fauxqs's own behaviour); a missing queue still fails and dead-letters.
   * @default true
   */
  enforceQueuePolicies?: boolean;
  /** Called for each failed delivery. @default nothing */
  onFailure?: (failure: DeliveryFailure) => void;
  /**
   * Decides each delivery instead of the queue policy alone (the local cloud's IAM, which also
   * checks the key of an encrypted queue): why it is refused, or undefined. Only while enforcing.
   * @default the queue policy (`queue-policy.ts`)
   */
  authorize?: (queueArn: string, topicArn: string, queuePolicy: string | undefined) => string | undefined;
}

interface Subscription {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  attributes: Record<string, string>;
}

/** The installed layer: per-topic counts of failed deliveries. */
export interface SnsDelivery {
  counts(topicArn: string): TopicDeliveryCounts;
}

/** Wraps the stores so fan-out deliveries fail and dead-letter as on AWS. */
export function installSnsDelivery(snsStore: SnsStore, sqsStore: SqsStore, options: SnsDeliveryOptions = {}): SnsDelivery {
  const enforce = options.enforceQueuePolicies ?? true;
  const counts = new Map<string, TopicDeliveryCounts>();
  const count = (topicArn: string, metric: keyof TopicDeliveryCounts) => {
    const entry = counts.get(topicArn) ?? { NumberOfNotificationsFailed: 0, NumberOfNotificationsRedrivenToDlq: 0, NumberOfNotificationsFailedToRedriveToDlq: 0 };
    entry[metric] += 1;
    counts.set(topicArn, entry);
  };

  const getSubscription = snsStore.getSubscription.bind(snsStore);
  const getQueueByArn = sqsStore.getQueueByArn.bind(sqsStore);
  let current: Subscription | undefined;

  snsStore.getSubscription = ((arn: string) => {
    const sub = getSubscription(arn) as Subscription | undefined;
    current = sub?.protocol === "sqs" ? sub : undefined;
    if (current) queueMicrotask(() => (current = undefined));
    return sub;
  }) as SnsStore["getSubscription"];

  /** Why SNS cannot deliver from `topicArn` to `queue`, or undefined when it can. */
  const refusal = (queue: SqsQueue | undefined, topicArn: string): string | undefined => {
    if (!queue) return "the queue does not exist (AWS.SimpleQueueService.NonExistentQueue)";
    if (!enforce) return undefined;
    if (options.authorize) return options.authorize(queue.arn, topicArn, queue.attributes.Policy);
    const decision = snsMaySend(queue.attributes.Policy, { queueArn: queue.arn, topicArn });
    return decision.allowed ? undefined : decision.reason;
  };

  sqsStore.getQueueByArn = ((arn: string) => {
    const sub = current;
    if (!sub || sub.endpoint !== arn) return getQueueByArn(arn);
    current = undefined;
    const queue = getQueueByArn(arn);
    const reason = refusal(queue, sub.topicArn);
    if (reason === undefined) return queue;
    count(sub.topicArn, "NumberOfNotificationsFailed");
    const failure: DeliveryFailure = { topicArn: sub.topicArn, subscriptionArn: sub.arn, endpoint: arn, reason };
    const target = deadLetterTarget(sub.attributes.RedrivePolicy);
    if (target) {
      const dlq = getQueueByArn(target);
      const dlqRefusal = refusal(dlq, sub.topicArn);
      if (dlqRefusal === undefined) {
        count(sub.topicArn, "NumberOfNotificationsRedrivenToDlq");
        options.onFailure?.({ ...failure, deadLetteredTo: target });
        return dlq;
      }
      count(sub.topicArn, "NumberOfNotificationsFailedToRedriveToDlq");
      failure.deadLetterFailure = `its dead-letter queue ${target}: ${dlqRefusal}`;
    }
    options.onFailure?.(failure);
    return undefined;
  }) as SqsStore["getQueueByArn"];

  return {
    counts: (topicArn) => ({ NumberOfNotificationsFailed: 0, NumberOfNotificationsRedrivenToDlq: 0, NumberOfNotificationsFailedToRedriveToDlq: 0, ...counts.get(topicArn) }),
  };
}

function deadLetterTarget(redrivePolicy: string | undefined): string | undefined {
  if (!redrivePolicy) return undefined;
  try {
    const target = (JSON.parse(redrivePolicy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    return typeof target === "string" && target ? target : undefined;
  } catch {
    return undefined;
  }
}
