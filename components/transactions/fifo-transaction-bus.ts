/**
 * FifoTransactionBus: customer transactions through one SNS FIFO topic, ordered per customer
 * (`MessageGroupId` = customer id), deduplicated by `transaction_id`, and routed by
 * `transaction_type` filter policies to one SQS FIFO queue per type, each with a FIFO dead-letter
 * queue and a typed consumer Lambda.
 *
 * ```
 * publisher ─▶ SNS FIFO topic ─┬─ filter transaction_type=bank_account_setup ─▶ queue ─▶ bank-account-setup ─▶ bank-accounts table
 *                              └─ filter transaction_type=payment ─────────────▶ queue ─▶ payment-processing ─▶ payments table
 *                                                                  (each queue ─▶ DLQ after maxReceiveCount)
 * ```
 *
 * Each subscription has its own FIFO dead-letter queue (`redrivePolicy`): SNS puts there what it
 * cannot deliver to the route queue (a queue or key policy that stops it, a deleted queue), which
 * it would otherwise discard after its retries.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRIC } from "../../functions/lib/metrics";
import type { StackSettings } from "../lib/settings";
import type { WatchedSystem } from "../monitoring/watched";
import type { LinkTarget } from "../lib/grants";
import { DLQ_RETENTION_SECONDS, EncryptedQueue, VISIBILITY_TIMEOUT_FACTOR } from "../lib/encrypted-queue";
import { ServiceKey, accountContext, cloudWatchLogsKeyUser, denyInsecureTransport } from "../lib/keys";
import { tableProtection } from "../lib/tables";
import type { TransactionRoute, TransactionType } from "./routes";
import { TRANSACTION_ROUTES } from "./routes";
import { physicalName } from "../lib/naming";
import type { Transform } from "../lib/transform";
import { transformed } from "../lib/transform";
import { TypedFunction } from "../lib/typed-function";

export interface FifoTransactionBusArgs {
  /** The stack's validated settings (transaction types, maxReceiveCount, batch size, throughput mode, ...). */
  settings: StackSettings;
  /**
   * Prefix of every physical name.
   * @default `utility-customer-system-<stack>`
   * @example "utility-customer-system-dev" → topic "utility-customer-system-dev-transaction-processing.fifo"
   */
  namePrefix?: string;
  /**
   * Routes to deploy, by transaction type.
   * @default the routes of `settings.transactionTypes`, from `TRANSACTION_ROUTES`
   */
  routes?: Partial<Record<TransactionType, TransactionRoute>>;
  /**
   * Escape hatch: adjust the underlying resources' args before they are created.
   * @default {}
   * @example { table: (args) => { args.tags = { data: "ledger" }; }, queue: (args) => { args.delaySeconds = 1; } }
   */
  transform?: {
    topic?: Transform<aws.sns.TopicArgs>;
    /** Both tables (`args.name` tells which). */
    table?: Transform<aws.dynamodb.TableArgs>;
    /** Every route queue and its DLQ (`args.name` tells which). */
    queue?: Transform<aws.sqs.QueueArgs>;
    /** Every route's subscription. */
    subscription?: Transform<aws.sns.TopicSubscriptionArgs>;
  };
}

/** One transaction type's queue, DLQ, subscription (with its own DLQ) and consumer. */
export interface TransactionRouteResources {
  queue: EncryptedQueue;
  deadLetterQueue: EncryptedQueue;
  /** Where SNS puts the messages it could not deliver to `queue`. */
  subscriptionDeadLetterQueue: EncryptedQueue;
  subscription: aws.sns.TopicSubscription;
  consumer: TypedFunction;
}

/**
 * Receives a bus queue allows beyond its consumer's `maxReceiveCount` before the queue's redrive
 * policy moves a message. The consumer dead-letters a failing message itself, with its reason, on
 * its `maxReceiveCount`-th receive; if that invocation never finishes (a crash, a timeout, a
 * throttle), these spare receives let a later one do it, instead of SQS moving the message without
 * a reason. The redrive policy stays the backstop for a message whose every invocation crashes. (A
 * default-volume soak with 11% of invocations failing found 2 of 25 dead-lettered payments moved
 * without their reason when the redrive policy used `maxReceiveCount` itself.)
 */
export const REDRIVE_BACKSTOP_RECEIVES = 3;

export class FifoTransactionBus extends pulumi.ComponentResource {
  /** Encrypts the topic, the queues, the tables and the consumers' log groups. */
  readonly key: ServiceKey;
  /** Encrypts the fingerprint key parameter only. */
  readonly fingerprintKeyKey: ServiceKey;
  /**
   * The HMAC key of bank account fingerprints (`accountFingerprintKey`), an SSM SecureString: the
   * bank account setup function reads it at cold start, so it is not in its configuration.
   */
  readonly fingerprintKey: aws.ssm.Parameter;
  readonly topic: aws.sns.Topic;
  readonly bankAccountsTable: aws.dynamodb.Table;
  readonly paymentsTable: aws.dynamodb.Table;
  readonly routes: Partial<Record<TransactionType, TransactionRouteResources>> = {};
  /** Transaction type → queue URL. */
  readonly queueUrls: pulumi.Output<Record<string, string>>;
  /** Transaction type → dead-letter queue URL. */
  readonly deadLetterQueueUrls: pulumi.Output<Record<string, string>>;
  /** Transaction type → the URL of its subscription's dead-letter queue. */
  readonly subscriptionDeadLetterQueueUrls: pulumi.Output<Record<string, string>>;

  private readonly prefix: string;
  private readonly settings: StackSettings;
  private readonly transform: NonNullable<FifoTransactionBusArgs["transform"]>;

  constructor(name: string, args: FifoTransactionBusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:FifoTransactionBus", name, {}, opts);
    this.settings = args.settings;
    this.prefix = args.namePrefix ?? `utility-customer-system-${args.settings.stack}`;
    this.transform = args.transform ?? {};
    const { accountId, partition } = accountContext();

    this.key = new ServiceKey(`${name}-key`, {
      description: `Encrypts ${this.prefix} transactions: topic, queues, tables, log groups`,
      alias: `${this.prefix}-transactions`,
      serviceUsers: [
        // SNS encrypts what it delivers into the route queues with this key.
        { service: "sns.amazonaws.com", sourceArnLike: pulumi.interpolate`arn:${partition}:sns:${args.settings.region}:${accountId}:${this.prefix}-*` },
        // CloudWatch Logs encrypts the consumers' log groups with it.
        cloudWatchLogsKeyUser(args.settings.region, accountId, partition, [`/aws/lambda/${this.prefix}-*`]),
      ],
    }, { parent: this });

    this.topic = this.createTopic(name);
    this.bankAccountsTable = this.createTable(`${name}-bank-accounts`, "bank-accounts", "record");
    this.paymentsTable = this.createTable(`${name}-payments`, "payments", "entry");

    this.fingerprintKeyKey = new ServiceKey(`${name}-fingerprint-key`, {
      description: `Encrypts the ${this.prefix} account fingerprint key parameter`,
      alias: `${this.prefix}-fingerprint-key`,
    }, { parent: this });
    this.fingerprintKey = this.createFingerprintKey(name);

    const catalogue: Record<string, LinkTarget> = {
      bankAccounts: this.tableTarget(this.bankAccountsTable),
      payments: this.tableTarget(this.paymentsTable),
      fingerprintKey: { arn: this.fingerprintKey.arn, name: this.fingerprintKey.name, kmsKeyArn: this.fingerprintKeyKey.arn },
    };
    const routes = args.routes ?? Object.fromEntries(args.settings.transactionTypes.map((t) => [t, TRANSACTION_ROUTES[t]]));
    for (const [type, route] of Object.entries(routes) as [TransactionType, TransactionRoute][]) {
      this.routes[type] = this.createRoute(name, type, route, catalogue);
    }

    const urls = (pick: (r: TransactionRouteResources) => EncryptedQueue) =>
      pulumi.all(Object.fromEntries(Object.entries(this.routes).map(([type, r]) => [type, pick(r!).url]))) as pulumi.Output<Record<string, string>>;
    this.queueUrls = urls((r) => r.queue);
    this.deadLetterQueueUrls = urls((r) => r.deadLetterQueue);
    this.subscriptionDeadLetterQueueUrls = urls((r) => r.subscriptionDeadLetterQueue);
    this.registerOutputs({
      topicArn: this.topic.arn,
      queueUrls: this.queueUrls,
      deadLetterQueueUrls: this.deadLetterQueueUrls,
      subscriptionDeadLetterQueueUrls: this.subscriptionDeadLetterQueueUrls,
    });
  }

  /**
   * What the stack's Monitoring watches of the bus: the topic (failed deliveries), route queues,
   * DLQs and subscription DLQs, consumers, and each type's failed attempts (`TransactionsFailed`,
   * the consumers' EMF metric: dimensions `service` = the consumer's name, `transaction_type`).
   */
  watched(): WatchedSystem {
    const routes = Object.entries(this.routes).flatMap(([type, r]) => (r ? [[type, r] as const] : []));
    return {
      title: "FifoTransactionBus",
      businessMetrics: "transactions",
      topics: { bus: this.topic.name },
      sourceQueues: Object.fromEntries(routes.map(([type, r]) => [type, r.queue.queueName])),
      deadLetterQueues: Object.fromEntries(
        routes.flatMap(([type, r]) => [[type, r.deadLetterQueue.queueName], [`${type}-subscription`, r.subscriptionDeadLetterQueue.queueName]]),
      ),
      functions: Object.fromEntries(routes.map(([type, r]) => [type, r.consumer.functionName])),
      failureMetrics: Object.fromEntries(
        routes.map(([type, r]) => [type, { metricName: METRIC.transactionsFailed, dimensions: { service: r.consumer.definitionName, transaction_type: type } }]),
      ),
    };
  }

  private createTopic(name: string): aws.sns.Topic {
    const topic = new aws.sns.Topic(`${name}-topic`, transformed<aws.sns.TopicArgs>({
      name: physicalName(this.prefix, "transaction-processing", 256, ".fifo"),
      fifoTopic: true,
      // Dedup by the publisher's MessageDeduplicationId (= transaction_id), never by content: two
      // identical payments with different ids are two payments.
      contentBasedDeduplication: false,
      kmsMasterKeyId: this.key.arn,
      // Always sent: a scope left out is left as it is, so turning high throughput off would keep
      // the topic in MessageGroup scope while its queues went back to per-queue limits.
      fifoThroughputScope: this.settings.highThroughput ? "MessageGroup" : "Topic",
    }, this.transform.topic), { parent: this });
    new aws.sns.TopicPolicy(`${name}-topic-policy`, {
      arn: topic.arn,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountPublishes",
            Effect: "Allow",
            Principal: { AWS: pulumi.interpolate`arn:${accountContext().partition}:iam::${accountContext().accountId}:root` },
            Action: ["sns:Publish", "sns:GetTopicAttributes"],
            Resource: topic.arn,
          },
          denyInsecureTransport("sns", topic.arn),
        ],
      }),
    }, { parent: this });
    return topic;
  }

  /** A ledger table: its rows are kept for good, so it is deletion-protected and `protect`ed (tables.ts). */
  private createTable(resourceName: string, table: string, sortKey: string): aws.dynamodb.Table {
    const protection = tableProtection(this.settings, "ledger");
    return new aws.dynamodb.Table(resourceName, transformed<aws.dynamodb.TableArgs>({
      name: physicalName(this.prefix, table, 255),
      billingMode: "PAY_PER_REQUEST",
      hashKey: "customer_id",
      rangeKey: sortKey,
      attributes: [
        { name: "customer_id", type: "S" },
        { name: sortKey, type: "S" },
      ],
      serverSideEncryption: { enabled: true, kmsKeyArn: this.key.arn },
      pointInTimeRecovery: { enabled: true },
      ...protection.args,
    }, this.transform.table), { parent: this, ...protection.opts });
  }

  /**
   * The secret `accountFingerprintKey` setting as an SSM SecureString under its own key: Pulumi
   * writes it from the (encrypted) stack config; only the functions linked to it may read it.
   */
  private createFingerprintKey(name: string): aws.ssm.Parameter {
    return new aws.ssm.Parameter(`${name}-fingerprint-key-parameter`, {
      name: `/${this.prefix}/account-fingerprint-key`,
      description: "HMAC-SHA256 key of bank account fingerprints (stack setting accountFingerprintKey)",
      type: "SecureString",
      tier: "Standard",
      keyId: this.fingerprintKeyKey.arn,
      value: pulumi.secret(this.settings.accountFingerprintKey),
    }, { parent: this });
  }

  private tableTarget(table: aws.dynamodb.Table): LinkTarget {
    return { arn: table.arn, name: table.name, kmsKeyArn: this.key.arn };
  }

  private createRoute(name: string, type: TransactionType, route: TransactionRoute, catalogue: Record<string, LinkTarget>): TransactionRouteResources {
    const { settings } = this;
    const resourceName = `${name}-${route.queue}`;
    const parent = { parent: this };

    const common = { fifo: true, highThroughput: settings.highThroughput, kmsKeyArn: this.key.arn, formerParent: this, transform: { queue: this.transform.queue } };
    const deadLetterQueue = new EncryptedQueue(`${resourceName}-dlq`, {
      ...common,
      name: physicalName(this.prefix, route.queue, 80, "-dlq.fifo"),
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
    }, parent);
    const queue = new EncryptedQueue(`${resourceName}-queue`, {
      ...common,
      name: physicalName(this.prefix, route.queue, 80, ".fifo"),
      messageRetentionSeconds: settings.queueRetentionSeconds,
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_FACTOR * settings.functionTimeoutSeconds,
      deadLetter: { queue: deadLetterQueue, maxReceiveCount: settings.maxReceiveCount + REDRIVE_BACKSTOP_RECEIVES },
      policyStatements: (arn) => [this.topicDelivers(arn)],
    }, parent);

    // SNS's own dead-letter queue for this subscription: a FIFO queue (the topic is FIFO), encrypted
    // with the bus key (which already admits SNS), whose policy admits the topic.
    const subscriptionDeadLetterQueue = new EncryptedQueue(`${resourceName}-subscription-dlq`, {
      fifo: true,
      highThroughput: settings.highThroughput,
      kmsKeyArn: this.key.arn,
      transform: { queue: this.transform.queue },
      name: physicalName(this.prefix, route.queue, 80, "-subscription-dlq.fifo"),
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
      policyStatements: (arn) => [this.topicDelivers(arn)],
    }, parent);
    const subscription = new aws.sns.TopicSubscription(`${resourceName}-subscription`, transformed<aws.sns.TopicSubscriptionArgs>({
      topic: this.topic.arn,
      protocol: "sqs",
      endpoint: queue.arn,
      rawMessageDelivery: true,
      filterPolicyScope: "MessageAttributes",
      filterPolicy: JSON.stringify({ transaction_type: [type] }),
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: subscriptionDeadLetterQueue.arn }),
    }, this.transform.subscription), { parent: this, dependsOn: [queue.policy, subscriptionDeadLetterQueue.policy] });

    const links: Record<string, LinkTarget> & { source: LinkTarget; deadLetter: LinkTarget } = {
      source: queue.link(),
      deadLetter: deadLetterQueue.link(),
    };
    for (const linkName of Object.keys(route.consumer.links)) {
      if (linkName in links) continue;
      const target = catalogue[linkName];
      if (!target) throw new Error(`Consumer "${route.consumer.name}" links "${linkName}", which the transaction bus does not have (it has: ${Object.keys(catalogue).join(", ")})`);
      links[linkName] = target;
    }
    const consumer = new TypedFunction(`${resourceName}-consumer`, {
      definition: route.consumer,
      links,
      settings,
      namePrefix: this.prefix,
      logKmsKeyArn: this.key.arn,
      sqs: { maxReceiveCount: settings.maxReceiveCount },
    }, parent);
    return { queue, deadLetterQueue, subscriptionDeadLetterQueue, subscription, consumer };
  }

  /** The queue policy statement that lets the topic (and only it) deliver to a queue. */
  private topicDelivers(queueArn: pulumi.Output<string>): Record<string, unknown> {
    return {
      Sid: "TransactionTopicDelivers",
      Effect: "Allow",
      Principal: { Service: "sns.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: queueArn,
      Condition: { ArnEquals: { "aws:SourceArn": this.topic.arn } },
    };
  }
}
