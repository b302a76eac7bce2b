/**
 * Monitoring on its own, under Pulumi's mock runtime, over a few fake resource names: the encrypted
 * alarm topic and its key policy, the optional e-mail subscription, every alarm, and the dashboard.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { Monitoring } from "../../components/monitoring/monitoring";
import type { MonitoringArgs } from "../../components/monitoring/monitoring";
import { awsCallResult, awsShapedState } from "../../runner/aws-shaped-state";

interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}
const region = "us-east-2";
const accountId = "123456789012";
const resources: Declared[] = [];
const prefix = "utility-serverless-dev";
/** Every alarm `args()` gets (`<prefix>-<name>`): its queues, DLQs, functions, API, state machine and failure metric. */
const EXPECTED_ALARMS = [
  "<prefix>-api-errors",
  "<prefix>-api-throttles",
  "<prefix>-bus-notifications-failed",
  "<prefix>-bus-notifications-lost",
  "<prefix>-fulfillment-dlq-expiring",
  "<prefix>-fulfillment-dlq-messages",
  "<prefix>-fulfillment-errors",
  "<prefix>-fulfillment-oldest-message",
  "<prefix>-fulfillment-throttles",
  "<prefix>-orders-api-5xx",
  "<prefix>-orders-api-latency-p99",
  "<prefix>-payment-dlq-expiring",
  "<prefix>-payment-dlq-messages",
  "<prefix>-payment-errors",
  "<prefix>-payment-failures",
  "<prefix>-payment-oldest-message",
  "<prefix>-payment-throttles",
  "<prefix>-workflow-failed-executions",
];

const args = (overrides: Partial<MonitoringArgs> = {}): MonitoringArgs => ({
  namePrefix: prefix,
  region,
  namespace: "Test/Namespace",
  systems: {
    transactions: {
      title: "FifoTransactionBus",
      businessMetrics: "transactions",
      topics: { bus: "bus.fifo" },
      sourceQueues: { payment: "payment.fifo" },
      deadLetterQueues: { payment: "payment-dlq.fifo" },
      functions: { payment: "payment-fn" },
      failureMetrics: { payment: { metricName: "TransactionsFailed", dimensions: { service: "payment-processing", transaction_type: "payment" } } },
    },
    orders: {
      title: "OrderFulfillment",
      businessMetrics: "orders",
      apis: { orders: { name: "orders-api", stage: "dev" } },
      stateMachines: { workflow: `arn:aws:states:${region}:${accountId}:stateMachine:wf` },
      sourceQueues: { fulfillment: "fulfillment" },
      deadLetterQueues: { fulfillment: "fulfillment-dlq" },
      functions: { api: "api-fn", fulfillment: "fulfillment-fn" },
    },
  },
  ...overrides,
});

/** Resolves once the mock has recorded the resource named `name` (it records a resource before its URN resolves). */
const recorded = new Map<string, () => void>();
function whenRecorded(name: string): Promise<void> {
  if (resources.some((r) => r.name === name)) return Promise.resolve();
  return new Promise((done) => recorded.set(name, done));
}

/**
 * Declares a Monitoring and returns its resources once every one the tests read is recorded: those
 * it exposes by their URNs (a URN resolves when the mock has returned, after it recorded the
 * resource), the alarm topic's policy, which it does not expose, by its recording.
 */
async function declare(name: string, monitoringArgs: MonitoringArgs): Promise<Declared[]> {
  const start = resources.length;
  const monitoring = new Monitoring(name, monitoringArgs);
  const exposed = [monitoring.key, monitoring.key.key, monitoring.key.alias, monitoring.alarmTopic, monitoring.emailSubscription, monitoring.recoveryRule, monitoring.recoveryTarget, ...Object.values(monitoring.alarms), monitoring.dashboard];
  await Promise.all([
    new Promise<void>((done) => pulumi.all(exposed.flatMap((r) => (r ? [r.urn] : []))).apply(() => done())),
    whenRecorded(`${name}-alarm-topic-policy`),
  ]);
  return resources.slice(start).filter((r) => r.name.startsWith(name));
}

let declared: Declared[];
const of = (type: string) => declared.filter((r) => r.type === type);
const policy = (r: Declared, key = "policy") => JSON.parse(r.inputs[key] as string) as { Statement: Record<string, unknown>[] };

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a: MockResourceArgs) => {
        const result = awsShapedState(a, { region, accountId });
        resources.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown>, state: result.state as Record<string, unknown> });
        recorded.get(a.name)?.();
        return result;
      },
      call: (a) => awsCallResult(a, { region, accountId }),
    },
    "utility-serverless",
    "dev",
    false,
  );
  declared = await declare("monitoring", args({ alarmEmail: "ops@example.com" }));
});

describe("alarm topic", () => {
  it("is encrypted with its own key, whose statements for CloudWatch and EventBridge are AWS's documented ones; the topic policy limits publishing to this stack's alarms and recovery rule", () => {
    const [topic] = of("aws:sns/topic:Topic");
    const key = of("aws:kms/key:Key")[0]!;
    expect(topic!.inputs).toMatchObject({ name: `${prefix}-alarms`, kmsMasterKeyId: key.state.arn });
    expect(key.inputs.enableKeyRotation).toBe(true);
    // As AWS documents it for alarms (and EventBridge rules) on encrypted topics: no conditions on the key.
    expect(policy(key).Statement.slice(1)).toEqual([
      { Sid: "AllowCloudwatchToUseKey", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: "*" },
      { Sid: "AllowEventsToUseKey", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: "*" },
    ]);
    const topicPolicy = policy(of("aws:sns/topicPolicy:TopicPolicy")[0]!);
    expect(topicPolicy.Statement.map((s) => s.Sid)).toEqual(["CloudWatchAlarmsPublish", "AlarmRecoveriesPublish", "AccountManagesAndSubscribes", "DenyInsecureTransport"]);
    // The confused-deputy conditions are here.
    expect(topicPolicy.Statement[0]).toEqual({
      Sid: "CloudWatchAlarmsPublish",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topic!.state.arn,
      Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${region}:${accountId}:alarm:${prefix}-*` } },
    });
    const rule = of("aws:cloudwatch/eventRule:EventRule")[0]!;
    expect(topicPolicy.Statement[1]).toEqual({
      Sid: "AlarmRecoveriesPublish",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topic!.state.arn,
      Condition: { ArnEquals: { "aws:SourceArn": rule.state.arn } },
    });
  });

  it("has the e-mail subscription when alarmEmail is set, and none otherwise", async () => {
    expect(of("aws:sns/topicSubscription:TopicSubscription").map((s) => s.inputs)).toEqual([
      expect.objectContaining({ protocol: "email", endpoint: "ops@example.com", topic: of("aws:sns/topic:Topic")[0]!.state.arn }),
    ]);
    const without = await declare("quiet", args({ namePrefix: "quiet-dev" }));
    expect(without.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription")).toEqual([]);
    // The alarms themselves do not depend on the e-mail: the same set, under the other prefix.
    const alarmNames = (rs: Declared[], p: string) => rs.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").map((r) => String(r.inputs.name).replace(p, "<prefix>")).sort();
    const withEmail = alarmNames(of("aws:cloudwatch/metricAlarm:MetricAlarm"), prefix);
    expect(withEmail).toEqual(EXPECTED_ALARMS);
    expect(alarmNames(without, "quiet-dev")).toEqual(withEmail);
  });
});

describe("alarms", () => {
  const alarm = (name: string) => {
    const found = of("aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.name === `${prefix}-${name}`);
    expect(found, `alarm ${prefix}-${name}`).toBeDefined();
    return found!.inputs;
  };

  it("covers every watched resource, notifies the topic on ALARM (not on OK: see the recovery rule), and ignores missing data", () => {
    const alarms = of("aws:cloudwatch/metricAlarm:MetricAlarm");
    // 2 DLQs × 2 (messages, expiring) + 2 source queues + 3 functions × 2 + 1 API × 2 + 1 state machine
    // + 1 topic × 2 (failed, lost) + 1 failure metric
    expect(alarms).toHaveLength(18);
    const topicArn = of("aws:sns/topic:Topic")[0]!.state.arn;
    for (const a of alarms) {
      expect(a.inputs).toMatchObject({ alarmActions: [topicArn], okActions: [], treatMissingData: "notBreaching", comparisonOperator: "GreaterThanThreshold" });
      expect(String(a.inputs.name)).toMatch(new RegExp(`^${prefix}-`));
    }
  });

  it("notifies a return to OK only after an ALARM: an EventBridge rule on this stack's alarms going from ALARM to OK, publishing one line to the topic", () => {
    const [rule] = of("aws:cloudwatch/eventRule:EventRule");
    expect(rule!.inputs.name).toBe(`${prefix}-alarm-recovered`);
    expect(JSON.parse(rule!.inputs.eventPattern as string)).toEqual({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      detail: { alarmName: [{ prefix: `${prefix}-` }], state: { value: ["OK"] }, previousState: { value: ["ALARM"] } },
    });
    const [target] = of("aws:cloudwatch/eventTarget:EventTarget");
    expect(target!.inputs).toMatchObject({
      rule: rule!.state.name,
      arn: of("aws:sns/topic:Topic")[0]!.state.arn,
      inputTransformer: { inputPaths: { alarm: "$.detail.alarmName", time: "$.time", reason: "$.detail.state.reason" } },
    });
    expect(String((target!.inputs.inputTransformer as { inputTemplate: string }).inputTemplate)).toMatch(/^"OK: <alarm> is back to OK at <time> \(it was in ALARM\)/);
  });

  it("uses CloudWatch's okActions instead with okNotifications: always, and notifies no recovery with never", async () => {
    const always = await declare("always", args({ namePrefix: "always-dev", okNotifications: "always" }));
    const alwaysTopic = always.find((r) => r.type === "aws:sns/topic:Topic")!.state.arn;
    for (const a of always.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm")) expect(a.inputs.okActions).toEqual([alwaysTopic]);
    expect(always.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule")).toEqual([]);
    const never = await declare("never", args({ namePrefix: "never-dev", okNotifications: "never" }));
    for (const a of never.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm")) expect(a.inputs.okActions).toEqual([]);
    expect(never.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule")).toEqual([]);
    // Without the rule, EventBridge is neither on the key nor on the topic policy.
    const keyStatements = policy(never.find((r) => r.type === "aws:kms/key:Key")!).Statement.map((s) => s.Sid);
    expect(keyStatements).not.toContain("AllowEventsToUseKey");
  });

  it("alarms on a topic's failed deliveries, and on those SNS could not move to the subscription's DLQ (lost)", () => {
    expect(alarm("bus-notifications-failed")).toMatchObject({ namespace: "AWS/SNS", metricName: "NumberOfNotificationsFailed", dimensions: { TopicName: "bus.fifo" }, statistic: "Sum", threshold: 0, period: 300 });
    expect(alarm("bus-notifications-lost")).toMatchObject({ namespace: "AWS/SNS", metricName: "NumberOfNotificationsFailedToRedriveToDlq", dimensions: { TopicName: "bus.fifo" }, threshold: 0 });
  });

  it("alarms on a failure metric (EMF, in the namespace, its exact dimensions) that persists for three 5-minute periods", () => {
    expect(alarm("payment-failures")).toMatchObject({
      namespace: "Test/Namespace",
      metricName: "TransactionsFailed",
      dimensions: { service: "payment-processing", transaction_type: "payment" },
      statistic: "Sum",
      threshold: 0,
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    });
  });

  it("alarms on a dead-letter queue's oldest message 3 days before the 14-day retention expires it", () => {
    expect(alarm("payment-dlq-expiring")).toMatchObject({
      namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "payment-dlq.fifo" }, statistic: "Maximum", threshold: 11 * 86_400, period: 3600,
    });
  });

  it("alarms on any message in a dead-letter queue", () => {
    expect(alarm("payment-dlq-messages")).toMatchObject({
      namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: "payment-dlq.fifo" }, statistic: "Maximum", threshold: 0,
    });
    expect(alarm("fulfillment-dlq-messages").dimensions).toEqual({ QueueName: "fulfillment-dlq" });
  });

  it("alarms on old messages, function errors and throttles, API 5XX and p99 latency, failed executions", () => {
    expect(alarm("payment-oldest-message")).toMatchObject({ metricName: "ApproximateAgeOfOldestMessage", threshold: 300, dimensions: { QueueName: "payment.fifo" } });
    expect(alarm("payment-errors")).toMatchObject({ namespace: "AWS/Lambda", metricName: "Errors", statistic: "Sum", dimensions: { FunctionName: "payment-fn" }, threshold: 0 });
    expect(alarm("fulfillment-throttles")).toMatchObject({ namespace: "AWS/Lambda", metricName: "Throttles", dimensions: { FunctionName: "fulfillment-fn" } });
    expect(alarm("orders-api-5xx")).toMatchObject({ namespace: "AWS/ApiGateway", metricName: "5XXError", dimensions: { ApiName: "orders-api", Stage: "dev" } });
    expect(alarm("orders-api-latency-p99")).toMatchObject({ metricName: "Latency", extendedStatistic: "p99", threshold: 3000 });
    expect(alarm("workflow-failed-executions")).toMatchObject({
      namespace: "AWS/States", metricName: "ExecutionsFailed", dimensions: { StateMachineArn: `arn:aws:states:${region}:${accountId}:stateMachine:wf` },
    });
  });
});

describe("dashboard", () => {
  it("shows both flows in order, the AWS metrics of each resource, the custom metrics in the namespace, and the alarms", () => {
    const [dashboard] = of("aws:cloudwatch/dashboard:Dashboard");
    expect(dashboard!.inputs.dashboardName).toBe(`${prefix}-flows`);
    const body = JSON.parse(dashboard!.inputs.dashboardBody as string) as { widgets: { type: string; x: number; y: number; width: number; height: number; properties: Record<string, unknown> }[] };
    const text = body.widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown);
    expect(text).toEqual(["## FifoTransactionBus", "## OrderFulfillment"]);
    const json = JSON.stringify(body);
    for (const needle of [
      '"AWS/SNS","NumberOfMessagesPublished","TopicName","bus.fifo"',
      '"AWS/ApiGateway","Latency","ApiName","orders-api","Stage","dev"',
      '"AWS/States","ExecutionsFailed","StateMachineArn"',
      '"AWS/SQS","ApproximateAgeOfOldestMessage","QueueName","fulfillment"',
      '"AWS/Lambda","Throttles","FunctionName","payment-fn"',
      "SEARCH('{\\\"Test/Namespace\\\",\\\"service\\\",\\\"transaction_type\\\"} MetricName=\\\"TransactionsProcessed\\\"'",
      "SEARCH('{\\\"Test/Namespace\\\",\\\"service\\\",\\\"status\\\"} MetricName=\\\"OrdersCompleted\\\"'",
      "TransactionProcessingLatency",
    ]) {
      expect(json).toContain(needle);
    }
    const alarmsWidget = body.widgets.find((w) => w.type === "alarm")!;
    expect(alarmsWidget.properties.alarms).toHaveLength(18);
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      expect(w.y).toBeGreaterThanOrEqual(0);
    }
    // No two widgets overlap, and each system's charts sit below its heading and above the next one.
    const cells = new Map<string, string>();
    for (const w of body.widgets) {
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          const at = `${x},${y}`;
          expect(cells.get(at), `${String(w.properties.title ?? w.type)} overlaps ${cells.get(at)} at ${at}`).toBeUndefined();
          cells.set(at, String(w.properties.title ?? w.properties.markdown ?? w.type));
        }
      }
    }
    const [bus, orders] = body.widgets.filter((w) => w.type === "text").map((w) => w.y) as [number, number];
    const section = (needle: string) => {
      const ys = body.widgets.filter((w) => w.type === "metric" && JSON.stringify(w).includes(needle)).map((w) => w.y);
      expect(ys.length, `charts of ${needle}`).toBeGreaterThan(0);
      return ys;
    };
    for (const y of [...section('"bus.fifo"'), ...section('"payment-fn"'), ...section('"payment.fifo"')]) expect(y > bus && y < orders).toBe(true);
    for (const y of [...section('"orders-api"'), ...section('"fulfillment-fn"'), ...section(":stateMachine:wf")]) expect(y).toBeGreaterThan(orders);
  });

  it("uses the seed's namespace by default", async () => {
    const other = await declare("seedns", args({ namePrefix: "seedns-dev", namespace: undefined }));
    const body = other.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs.dashboardBody as string;
    expect(body).toContain("{\\\"OTEL/UtilityCustomer/Enhanced\\\",\\\"service\\\",\\\"transaction_type\\\"}");
  });
});
