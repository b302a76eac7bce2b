/**
 * Monitoring: the stack's CloudWatch alarms and dashboard, over whatever it is given to watch.
 *
 * - An SNS alarm topic encrypted with its own customer managed key, whose key policy lets
 *   `cloudwatch.amazonaws.com` use it (CloudWatch is not an IAM principal of the account, so without
 *   that statement an encrypted topic silently drops every alarm). The key statement is the one AWS
 *   documents for alarms on encrypted topics ("Enable compatibility between event sources from AWS
 *   services and encrypted topics": `kms:Decrypt` and `kms:GenerateDataKey*`, no conditions); the
 *   confused-deputy conditions (`aws:SourceAccount`, `aws:SourceArn` = this stack's alarms) are on
 *   the topic policy, which decides who may publish. An optional e-mail subscription.
 * - Alarms notify the topic on ALARM. A return to OK is notified only after an ALARM (`okNotifications`,
 *   default `after-alarm`): an EventBridge rule matches this stack's "CloudWatch Alarm State Change"
 *   events from ALARM to OK and publishes a one-line message. CloudWatch's own `okActions` fire on
 *   every transition to OK, including a new alarm's first evaluation (INSUFFICIENT_DATA → OK), which
 *   would mail an "OK" per alarm on every first deploy; `always` uses them anyway, `never` sends none.
 * - Alarms:
 *   dead-letter queues with any visible message, and whose oldest message nears the end of its
 *   retention; source queues whose oldest message is too old; topics whose deliveries fail
 *   (`NumberOfNotificationsFailed`) or whose failed deliveries could not even reach the
 *   subscription's DLQ (`NumberOfNotificationsFailedToRedriveToDlq`: those are lost); business
 *   failure metrics (the functions' EMF `TransactionsFailed` per type) that persist: a consumer
 *   reports failed messages through `batchItemFailures`, so Lambda's `Errors` stays at 0 however
 *   often they fail; function errors and throttles; API 5XX errors and p99 latency; state machine
 *   failed executions.
 * - One dashboard with a section per system, in the order its messages flow, including the
 *   business metrics the functions write in EMF under the metrics namespace (`functions/lib/metrics.ts`).
 *
 * Missing data never alarms (`notBreaching`): an idle queue or function is healthy.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DLQ_RETENTION_SECONDS } from "./lib/encrypted-queue";
import { ServiceKey, accountContext, denyInsecureTransport } from "./lib/keys";
import { physicalName } from "./lib/naming";
import type { Transform } from "./lib/transform";

/** The seed's namespace. */
export const DEFAULT_NAMESPACE = "OTEL/UtilityCustomer/Enhanced";

/** An API Gateway REST API stage. */
export interface WatchedApi {
  /** The REST API's name (CloudWatch dimension `ApiName`). */
  name: pulumi.Input<string>;
  /** The stage name (dimension `Stage`). */
  stage: pulumi.Input<string>;
}

/** The resources of one system, by a short label used in alarm and resource names. */
export interface WatchedSystem {
  /** Section title on the dashboard. @example "FifoTransactionBus" */
  title: string;
  /** Which business metrics to chart for it. @default none */
  businessMetrics?: "transactions" | "orders";
  /** SNS topics (name), charted as the start of the flow. @default {} */
  topics?: Record<string, pulumi.Input<string>>;
  /** API Gateway REST APIs. @default {} */
  apis?: Record<string, WatchedApi>;
  /** State machines (ARN). @default {} */
  stateMachines?: Record<string, pulumi.Input<string>>;
  /** Queues consumed by functions (name): oldest-message age alarm. @default {} */
  sourceQueues?: Record<string, pulumi.Input<string>>;
  /** Dead-letter queues (name): alarm on any visible message, and on an oldest message near expiry. @default {} */
  deadLetterQueues?: Record<string, pulumi.Input<string>>;
  /**
   * EMF metrics (in the namespace) that count failed attempts, with their exact dimensions: alarmed
   * when failures persist (`failurePeriods` periods of 5 minutes in a row).
   * @default {}
   * @example { payment: { metricName: "TransactionsFailed", dimensions: { service: "payment-processing", transaction_type: "payment" } } }
   */
  failureMetrics?: Record<string, { metricName: string; dimensions: Record<string, pulumi.Input<string>> }>;
  /** Lambda functions (name): errors and throttles alarms. @default {} */
  functions?: Record<string, pulumi.Input<string>>;
}

export interface MonitoringArgs {
  /**
   * Prefix of every physical name (alarms, topic, dashboard, key alias).
   * @example "utility-serverless-dev"
   */
  namePrefix: string;
  /** The stack's region (dashboard widgets). */
  region: string;
  /**
   * What to watch, one entry per system, in the order the dashboard shows them.
   * @example { transactions: { title: "FifoTransactionBus", businessMetrics: "transactions", deadLetterQueues: { payment: dlq.name } } }
   */
  systems: Record<string, WatchedSystem>;
  /** CloudWatch namespace of the functions' EMF metrics. @default "OTEL/UtilityCustomer/Enhanced" */
  namespace?: string;
  /** E-mail address subscribed to the alarm topic (it must confirm the subscription). @default none */
  alarmEmail?: string;
  /** Oldest-message age (seconds) that alarms on a source queue. @default 300 */
  oldestMessageAgeSeconds?: number;
  /** API p99 latency (milliseconds) that alarms. @default 3000 */
  apiLatencyP99Ms?: number;
  /**
   * Age (seconds) of a dead-letter queue's oldest message that alarms: it expires at the DLQ's
   * retention, so someone must redrive or inspect it before.
   * @default DLQ_RETENTION_SECONDS minus 3 days (11 days)
   */
  deadLetterAgeSeconds?: number;
  /**
   * Consecutive 5-minute periods with failures of a `failureMetrics` metric before it alarms: a
   * retry that succeeds within minutes (a payment before its bank account setup) must not page.
   * @default 3
   */
  failurePeriods?: number;
  /**
   * When an alarm's return to OK is notified: `after-alarm` (an EventBridge rule, only for a
   * transition from ALARM), `always` (CloudWatch's okActions, on every transition to OK, the first
   * evaluation of a new alarm included) or `never`.
   * @default "after-alarm"
   */
  okNotifications?: "after-alarm" | "always" | "never";
  /**
   * Escape hatch: adjust each alarm's args before it is created.
   * @example { alarm: (args) => { args.evaluationPeriods = 3; } }
   */
  transform?: { alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>; dashboard?: Transform<aws.cloudwatch.DashboardArgs> };
}

export class Monitoring extends pulumi.ComponentResource {
  /** Encrypts the alarm topic. */
  readonly key: ServiceKey;
  /** Where every alarm notifies. */
  readonly alarmTopic: aws.sns.Topic;
  /** The e-mail subscription, when `alarmEmail` is set. */
  readonly emailSubscription?: aws.sns.TopicSubscription;
  /** The rule that notifies an alarm's return to OK after an ALARM (`okNotifications: "after-alarm"`). */
  readonly recoveryRule?: aws.cloudwatch.EventRule;
  /** The rule's target: the alarm topic, with a one-line message. */
  readonly recoveryTarget?: aws.cloudwatch.EventTarget;
  /** Every alarm, by logical name. */
  readonly alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};
  readonly dashboard: aws.cloudwatch.Dashboard;
  /** The dashboard's console URL. */
  readonly dashboardUrl: pulumi.Output<string>;

  private readonly args: MonitoringArgs;
  private readonly namespace: string;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:Monitoring", name, {}, opts);
    this.args = args;
    this.namespace = args.namespace ?? DEFAULT_NAMESPACE;
    const parent = { parent: this };
    const { accountId, partition } = accountContext();

    const afterAlarm = (args.okNotifications ?? "after-alarm") === "after-alarm";
    // As AWS documents the key statement for CloudWatch alarms and EventBridge rules publishing to an
    // encrypted topic: no conditions here (EventBridge's KMS requests carry no aws:SourceArn); the
    // topic policy limits who publishes.
    const documented = ["kms:Decrypt", "kms:GenerateDataKey*"];
    this.key = new ServiceKey(`${name}-key`, {
      description: `Encrypts the ${args.namePrefix} alarm topic`,
      alias: `${args.namePrefix}-alarms`,
      serviceUsers: [
        { service: "cloudwatch.amazonaws.com", actions: documented },
        ...(afterAlarm ? [{ service: "events.amazonaws.com", actions: documented }] : []),
      ],
    }, parent);

    if (afterAlarm) this.recoveryRule = this.createRecoveryRule(name);
    this.alarmTopic = this.createTopic(name, accountId, partition);
    if (this.recoveryRule) this.recoveryTarget = this.notifyRecoveries(name, this.recoveryRule);
    if (args.alarmEmail) {
      this.emailSubscription = new aws.sns.TopicSubscription(`${name}-alarm-email`, {
        topic: this.alarmTopic.arn,
        protocol: "email",
        endpoint: args.alarmEmail,
      }, parent);
    }

    for (const [systemLabel, system] of Object.entries(args.systems)) this.createAlarms(name, systemLabel, system);

    const dashboardName = physicalName(args.namePrefix, "flows", 255);
    const dashboardArgs: aws.cloudwatch.DashboardArgs = { dashboardName, dashboardBody: this.dashboardBody() };
    args.transform?.dashboard?.(dashboardArgs);
    this.dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, dashboardArgs, parent);
    this.dashboardUrl = pulumi.interpolate`https://${args.region}.console.aws.amazon.com/cloudwatch/home?region=${args.region}#dashboards:name=${this.dashboard.dashboardName}`;
    this.registerOutputs({ alarmTopicArn: this.alarmTopic.arn, dashboardUrl: this.dashboardUrl });
  }

  private createTopic(name: string, accountId: pulumi.Output<string>, partition: pulumi.Output<string>): aws.sns.Topic {
    const topic = new aws.sns.Topic(`${name}-alarm-topic`, {
      name: physicalName(this.args.namePrefix, "alarms", 256),
      kmsMasterKeyId: this.key.arn,
    }, { parent: this });
    new aws.sns.TopicPolicy(`${name}-alarm-topic-policy`, {
      arn: topic.arn,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topic.arn,
            Condition: {
              StringEquals: { "aws:SourceAccount": accountId },
              ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${partition}:cloudwatch:${this.args.region}:${accountId}:alarm:${this.args.namePrefix}-*` },
            },
          },
          ...(this.recoveryRule
            ? [{
              Sid: "AlarmRecoveriesPublish",
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sns:Publish",
              Resource: topic.arn,
              Condition: { ArnEquals: { "aws:SourceArn": this.recoveryRule.arn } },
            }]
            : []),
          {
            Sid: "AccountManagesAndSubscribes",
            Effect: "Allow",
            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${accountId}:root` },
            Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],
            Resource: topic.arn,
          },
          denyInsecureTransport("sns", topic.arn),
        ],
      }),
    }, { parent: this });
    return topic;
  }

  /** The rule matching this stack's alarms going from ALARM back to OK. */
  private createRecoveryRule(name: string): aws.cloudwatch.EventRule {
    return new aws.cloudwatch.EventRule(`${name}-alarm-recovered`, {
      name: physicalName(this.args.namePrefix, "alarm-recovered", 64),
      description: `${this.args.namePrefix} alarms back to OK after an ALARM (the alarms notify ALARM themselves)`,
      eventPattern: JSON.stringify({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: {
          alarmName: [{ prefix: `${this.args.namePrefix}-` }],
          state: { value: ["OK"] },
          previousState: { value: ["ALARM"] },
        },
      }),
    }, { parent: this });
  }

  /** Publishes each recovery to the alarm topic as one line. */
  private notifyRecoveries(name: string, rule: aws.cloudwatch.EventRule): aws.cloudwatch.EventTarget {
    return new aws.cloudwatch.EventTarget(`${name}-alarm-recovered-target`, {
      rule: rule.name,
      arn: this.alarmTopic.arn,
      inputTransformer: {
        inputPaths: { alarm: "$.detail.alarmName", time: "$.time", reason: "$.detail.state.reason" },
        inputTemplate: '"OK: <alarm> is back to OK at <time> (it was in ALARM). <reason>"',
      },
    }, { parent: this });
  }

  private alarm(
    logicalName: string,
    physical: string,
    description: string,
    metric: Pick<aws.cloudwatch.MetricAlarmArgs, "namespace" | "metricName" | "dimensions" | "statistic" | "extendedStatistic">,
    condition: { threshold: number; period?: number; evaluationPeriods?: number; datapointsToAlarm?: number },
  ): aws.cloudwatch.MetricAlarm {
    const args: aws.cloudwatch.MetricAlarmArgs = {
      name: physicalName(this.args.namePrefix, physical, 255),
      alarmDescription: description,
      ...metric,
      comparisonOperator: "GreaterThanThreshold",
      threshold: condition.threshold,
      period: condition.period ?? 60,
      evaluationPeriods: condition.evaluationPeriods ?? 1,
      datapointsToAlarm: condition.datapointsToAlarm ?? condition.evaluationPeriods ?? 1,
      treatMissingData: "notBreaching",
      alarmActions: [this.alarmTopic.arn],
      // A return to OK is notified by the recovery rule (after an ALARM only), or here on request.
      okActions: this.args.okNotifications === "always" ? [this.alarmTopic.arn] : [],
    };
    this.args.transform?.alarm?.(args);
    const alarm = new aws.cloudwatch.MetricAlarm(logicalName, args, { parent: this });
    this.alarms[logicalName] = alarm;
    return alarm;
  }

  private createAlarms(name: string, system: string, watched: WatchedSystem): void {
    const oldestAge = this.args.oldestMessageAgeSeconds ?? 300;
    const latency = this.args.apiLatencyP99Ms ?? 3000;
    const deadLetterAge = this.args.deadLetterAgeSeconds ?? DLQ_RETENTION_SECONDS - 3 * 86_400;
    const failurePeriods = this.args.failurePeriods ?? 3;
    for (const [label, topic] of Object.entries(watched.topics ?? {})) {
      this.alarm(`${name}-${system}-${label}-notifications-failed`, `${label}-notifications-failed`, `Topic ${label} failed to deliver messages to a subscription (queue policy, key or deleted queue): they are in the subscription's dead-letter queue`, {
        namespace: "AWS/SNS", metricName: "NumberOfNotificationsFailed", dimensions: { TopicName: topic }, statistic: "Sum",
      }, { threshold: 0, period: 300 });
      this.alarm(`${name}-${system}-${label}-notifications-lost`, `${label}-notifications-lost`, `Topic ${label} could not move failed deliveries to the subscription's dead-letter queue: those messages are lost`, {
        namespace: "AWS/SNS", metricName: "NumberOfNotificationsFailedToRedriveToDlq", dimensions: { TopicName: topic }, statistic: "Sum",
      }, { threshold: 0, period: 300 });
    }
    for (const [label, queue] of Object.entries(watched.deadLetterQueues ?? {})) {
      this.alarm(`${name}-${system}-${label}-dlq-messages`, `${label}-dlq-messages`, `Messages in the ${label} dead-letter queue: they failed for good and need a look (npm run redrive)`, {
        namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queue }, statistic: "Maximum",
      }, { threshold: 0 });
      this.alarm(`${name}-${system}-${label}-dlq-expiring`, `${label}-dlq-expiring`, `The oldest message in the ${label} dead-letter queue is over ${Math.round(deadLetterAge / 86_400)} days old: it expires at the queue's retention; redrive or inspect it now`, {
        namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: queue }, statistic: "Maximum",
      }, { threshold: deadLetterAge, period: 3600 });
    }
    for (const [label, metric] of Object.entries(watched.failureMetrics ?? {})) {
      this.alarm(`${name}-${system}-${label}-failures`, `${label}-failures`, `${metric.metricName} of ${label} for ${failurePeriods * 5} minutes in a row: its messages keep failing (reported through batchItemFailures, invisible to Lambda's Errors)`, {
        namespace: this.namespace, metricName: metric.metricName, dimensions: metric.dimensions, statistic: "Sum",
      }, { threshold: 0, period: 300, evaluationPeriods: failurePeriods });
    }
    for (const [label, queue] of Object.entries(watched.sourceQueues ?? {})) {
      this.alarm(`${name}-${system}-${label}-oldest-message`, `${label}-oldest-message`, `The oldest message in ${label} is over ${oldestAge}s old: its consumer is failing or falling behind`, {
        namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: queue }, statistic: "Maximum",
      }, { threshold: oldestAge, period: 60, evaluationPeriods: 5 });
    }
    for (const [label, fn] of Object.entries(watched.functions ?? {})) {
      this.alarm(`${name}-${system}-${label}-errors`, `${label}-errors`, `Function ${label} reported errors (failed invocations)`, {
        namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: fn }, statistic: "Sum",
      }, { threshold: 0, period: 300 });
      this.alarm(`${name}-${system}-${label}-throttles`, `${label}-throttles`, `Function ${label} was throttled`, {
        namespace: "AWS/Lambda", metricName: "Throttles", dimensions: { FunctionName: fn }, statistic: "Sum",
      }, { threshold: 0, period: 300 });
    }
    for (const [label, api] of Object.entries(watched.apis ?? {})) {
      const dimensions = { ApiName: api.name, Stage: api.stage };
      this.alarm(`${name}-${system}-${label}-5xx`, `${label}-api-5xx`, `API ${label} answered with 5XX errors`, {
        namespace: "AWS/ApiGateway", metricName: "5XXError", dimensions, statistic: "Sum",
      }, { threshold: 0, period: 300 });
      this.alarm(`${name}-${system}-${label}-latency`, `${label}-api-latency-p99`, `API ${label} p99 latency over ${latency} ms`, {
        namespace: "AWS/ApiGateway", metricName: "Latency", dimensions, extendedStatistic: "p99",
      }, { threshold: latency, period: 300, evaluationPeriods: 2 });
    }
    for (const [label, arn] of Object.entries(watched.stateMachines ?? {})) {
      this.alarm(`${name}-${system}-${label}-failed-executions`, `${label}-failed-executions`, `State machine ${label} has failed executions`, {
        namespace: "AWS/States", metricName: "ExecutionsFailed", dimensions: { StateMachineArn: arn }, statistic: "Sum",
      }, { threshold: 0, period: 300 });
    }
  }

  /** The dashboard: per system a title row, then its flow left to right, top to bottom. */
  private dashboardBody(): pulumi.Output<string> {
    const { region } = this.args;
    const ns = this.namespace;
    const widgets: pulumi.Input<Record<string, unknown>>[] = [];
    let y = 0;
    const row = (items: pulumi.Input<Record<string, unknown>>[], height = 6) => {
      const width = Math.max(6, Math.floor(24 / Math.max(1, items.length)));
      // The row's top is read now: the applies run later, after every row has moved `y` on.
      const top = y;
      items.forEach((item, i) => widgets.push(pulumi.output(item).apply((w) => ({ ...w, x: (i * width) % 24, y: top + Math.floor((i * width) / 24) * height, width, height }))));
      y += Math.ceil((items.length * width) / 24) * height;
    };
    const graph = (title: string, metrics: pulumi.Input<unknown[]>[], extra: Record<string, unknown> = {}) =>
      pulumi.all(metrics).apply((m) => ({ type: "metric", properties: { title, region, view: "timeSeries", stacked: false, period: 60, metrics: m, ...extra } }));
    const search = (expression: string, label: string, id: string) => [{ expression, label, id }];
    // A SEARCH schema's names are double-quoted: AWS requires it for names with non-alphanumeric
    // characters (the namespace's slashes, `transaction_type`), and allows it for every name.
    const schema = (...dimensions: string[]) => `{${[ns, ...dimensions].map((n) => `"${n}"`).join(",")}}`;

    for (const [systemLabel, system] of Object.entries(this.args.systems)) {
      widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown: `## ${system.title}` } });
      y += 1;
      const first: pulumi.Input<Record<string, unknown>>[] = [];
      for (const [label, topic] of Object.entries(system.topics ?? {})) {
        first.push(graph(`${label}: published / delivered / failed`, [
          pulumi.output(topic).apply((t) => ["AWS/SNS", "NumberOfMessagesPublished", "TopicName", t, { stat: "Sum" }]),
          pulumi.output(topic).apply((t) => ["AWS/SNS", "NumberOfNotificationsDelivered", "TopicName", t, { stat: "Sum" }]),
          pulumi.output(topic).apply((t) => ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", t, { stat: "Sum" }]),
        ]));
      }
      for (const [label, api] of Object.entries(system.apis ?? {})) {
        const dims = pulumi.all([api.name, api.stage]);
        first.push(graph(`${label}: requests and errors`, [
          dims.apply(([n, s]) => ["AWS/ApiGateway", "Count", "ApiName", n, "Stage", s, { stat: "Sum" }]),
          dims.apply(([n, s]) => ["AWS/ApiGateway", "4XXError", "ApiName", n, "Stage", s, { stat: "Sum" }]),
          dims.apply(([n, s]) => ["AWS/ApiGateway", "5XXError", "ApiName", n, "Stage", s, { stat: "Sum" }]),
        ]));
        first.push(graph(`${label}: latency p50 / p99 (ms)`, [
          dims.apply(([n, s]) => ["AWS/ApiGateway", "Latency", "ApiName", n, "Stage", s, { stat: "p50" }]),
          dims.apply(([n, s]) => ["AWS/ApiGateway", "Latency", "ApiName", n, "Stage", s, { stat: "p99" }]),
        ]));
      }
      for (const [label, arn] of Object.entries(system.stateMachines ?? {})) {
        first.push(graph(`${label}: executions`, ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"].map((metric) =>
          pulumi.output(arn).apply((a) => ["AWS/States", metric, "StateMachineArn", a, { stat: "Sum" }]),
        )));
      }
      if (first.length) row(first);

      const queues = Object.entries(system.sourceQueues ?? {});
      if (queues.length) {
        row([
          graph("Queues: messages visible", queues.map(([label, q]) => pulumi.output(q).apply((n) => ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", n, { stat: "Maximum", label }]))),
          graph("Queues: oldest message age (s)", queues.map(([label, q]) => pulumi.output(q).apply((n) => ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", n, { stat: "Maximum", label }]))),
        ]);
      }
      const functions = Object.entries(system.functions ?? {});
      if (functions.length) {
        row([
          graph("Functions: invocations", functions.map(([label, f]) => pulumi.output(f).apply((n) => ["AWS/Lambda", "Invocations", "FunctionName", n, { stat: "Sum", label }]))),
          graph("Functions: errors and throttles", functions.flatMap(([label, f]) => [
            pulumi.output(f).apply((n) => ["AWS/Lambda", "Errors", "FunctionName", n, { stat: "Sum", label: `${label} errors` }]),
            pulumi.output(f).apply((n) => ["AWS/Lambda", "Throttles", "FunctionName", n, { stat: "Sum", label: `${label} throttles` }]),
          ])),
          graph("Functions: duration p99 (ms)", functions.map(([label, f]) => pulumi.output(f).apply((n) => ["AWS/Lambda", "Duration", "FunctionName", n, { stat: "p99", label }]))),
        ]);
      }
      if (system.businessMetrics === "transactions") {
        row([
          graph("Transactions processed by type", [search(`SEARCH('${schema("service", "transaction_type")} MetricName="TransactionsProcessed"', 'Sum', 60)`, "processed", `${systemLabel}p`)]),
          graph("Transactions failed / dead-lettered by type", [
            search(`SEARCH('${schema("service", "transaction_type")} MetricName="TransactionsFailed"', 'Sum', 60)`, "failed", `${systemLabel}f`),
            search(`SEARCH('${schema("service", "transaction_type")} MetricName="TransactionsDeadLettered"', 'Sum', 60)`, "dead-lettered", `${systemLabel}d`),
          ]),
          graph("Transaction latency p99 (ms), publish → processed", [search(`SEARCH('${schema("service", "transaction_type")} MetricName="TransactionProcessingLatency"', 'p99', 60)`, "p99", `${systemLabel}l`)]),
        ]);
      } else if (system.businessMetrics === "orders") {
        row([
          graph("Orders placed", [search(`SEARCH('${schema("service")} MetricName="OrdersPlaced"', 'Sum', 60)`, "placed", `${systemLabel}p`)]),
          graph("Orders by final status", [search(`SEARCH('${schema("service", "status")} MetricName="OrdersCompleted"', 'Sum', 60)`, "completed", `${systemLabel}c`)]),
          graph("Order latency p99 (ms), placed → final status", [search(`SEARCH('${schema("service", "status")} MetricName="OrderProcessingLatency"', 'p99', 60)`, "p99", `${systemLabel}l`)]),
        ]);
      }
      const dlqs = Object.entries(system.deadLetterQueues ?? {});
      if (dlqs.length) {
        row([graph("Dead-letter queues: messages visible", dlqs.map(([label, q]) => pulumi.output(q).apply((n) => ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", n, { stat: "Maximum", label }])))]);
      }
    }
    const alarmArns = Object.values(this.alarms).map((a) => a.arn);
    if (alarmArns.length) {
      widgets.push(pulumi.all(alarmArns).apply((arns) => ({ type: "alarm", x: 0, y, width: 24, height: Math.min(12, 2 + Math.ceil(arns.length / 4)), properties: { title: "Alarms", alarms: arns } })));
    }
    return pulumi.all(widgets).apply((w) => JSON.stringify({ start: "-PT3H", periodOverride: "inherit", widgets: w }));
  }
}
