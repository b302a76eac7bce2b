/**
 * The stack's CloudWatch dashboard: per watched system a title row, then its flow left to right
 * (API, workflow, queues, functions, business metrics, dead-letter queues), and the alarms last.
 */
import * as pulumi from "@pulumi/pulumi";
import type { WatchedSystem } from "./watched";

export interface DashboardArgs {
  /** Region of the metrics. */
  region: string;
  /** CloudWatch namespace of the functions' EMF metrics. */
  namespace: string;
  /** What to show, one section per system, in this order. */
  systems: Record<string, WatchedSystem>;
  /** The alarms listed at the bottom. */
  alarmArns: pulumi.Output<string>[];
}

/** The dashboard: per system a title row, then its flow left to right, top to bottom. */
export function dashboardBody(args: DashboardArgs): pulumi.Output<string> {
const { region, alarmArns } = args;
const ns = args.namespace;
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

  for (const [systemLabel, system] of Object.entries(args.systems)) {
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
  if (alarmArns.length) {
    widgets.push(pulumi.all(alarmArns).apply((arns) => ({ type: "alarm", x: 0, y, width: 24, height: Math.min(12, 2 + Math.ceil(arns.length / 4)), properties: { title: "Alarms", alarms: arns } })));
  }
  return pulumi.all(widgets).apply((w) => JSON.stringify({ start: "-PT3H", periodOverride: "inherit", widgets: w }));
}
