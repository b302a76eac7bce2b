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
import { DLQ_RETENTION_SECONDS } from "../lib/encrypted-queue";
import { ServiceKey, accountContext, denyInsecureTransport } from "../lib/keys";
import { physicalName } from "../lib/naming";
import type { Transform } from "../lib/transform";
import { dashboardBody } from "./dashboard";
import { DEFAULT_NAMESPACE } from "./watched";
import type { WatchedSystem } from "./watched";

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
    const dashboardArgs: aws.cloudwatch.DashboardArgs = { dashboardName, dashboardBody: dashboardBody({ region: args.region, namespace: this.namespace, systems: args.systems, alarmArns: Object.values(this.alarms).map((a) => a.arn) }) };
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
}
