/**
 * The Monitoring call meant for `components/program.ts`, over the program's real units under mocks:
 * it type-checks against them and watches every queue, DLQ, function, the API and the state machine.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { beforeAll, expect, it } from "vitest";
import { PROJECT, parseStackSettings } from "../../components/config";
import type { StackSettings } from "../../components/config";
import { FifoTransactionBus } from "../../components/fifo-transaction-bus";
import { Monitoring } from "../../components/monitoring";
import { OrderFulfillment } from "../../components/order-fulfillment";
import { awsShapedState, readStackConfig } from "../../local/program";

/** Exactly what program.ts should declare after both units. */
function monitor(settings: StackSettings, bus: FifoTransactionBus, orders: OrderFulfillment): Monitoring {
  const routes = Object.entries(bus.routes).flatMap(([type, r]) => (r ? [[type, r] as const] : []));
  return new Monitoring("monitoring", {
    namePrefix: `utility-serverless-${settings.stack}`,
    region: settings.region,
    namespace: settings.metricsNamespace,
    alarmEmail: settings.alarmEmail,
    systems: {
      transactions: {
        title: "FifoTransactionBus",
        businessMetrics: "transactions",
        topics: { bus: bus.topic.name },
        sourceQueues: Object.fromEntries(routes.map(([type, r]) => [type, r.queue.name])),
        deadLetterQueues: Object.fromEntries(routes.map(([type, r]) => [type, r.deadLetterQueue.name])),
        functions: Object.fromEntries(routes.map(([type, r]) => [type, r.consumer.functionName])),
      },
      orders: {
        title: "OrderFulfillment",
        businessMetrics: "orders",
        apis: { orders: { name: orders.restApi.name, stage: orders.stage.stageName } },
        stateMachines: { workflow: orders.stateMachine.arn },
        sourceQueues: { fulfillment: orders.fulfillmentQueue.name },
        deadLetterQueues: { fulfillment: orders.fulfillmentDlq.name, "dlq-failures": orders.dlqFailuresQueue.name },
        functions: Object.fromEntries(Object.entries(orders.functions).map(([label, f]) => [label, f.functionName])),
      },
    },
  });
}

const region = "us-east-2";
const accountId = "123456789012";
const declared: { type: string; inputs: Record<string, unknown> }[] = [];

beforeAll(async () => {
  const config: Record<string, string> = { ...readStackConfig("dev"), [`${PROJECT}:accountFingerprintKey`]: "x".repeat(40), [`${PROJECT}:alarmEmail`]: "ops@example.com" };
  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(
    {
      newResource: (a: MockResourceArgs) => {
        declared.push({ type: a.type, inputs: a.inputs as Record<string, unknown> });
        return awsShapedState(a, { region, accountId });
      },
      call: (a) =>
        a.token === "aws:index/getCallerIdentity:getCallerIdentity"
          ? { accountId, arn: `arn:aws:iam::${accountId}:user/t`, userId: "T", id: accountId }
          : a.token === "aws:index/getPartition:getPartition"
            ? { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }
            : a.token === "aws:index/getRegion:getRegion"
              ? { name: region, region, id: region }
              : (a.inputs as Record<string, unknown>),
    },
    PROJECT,
    "dev",
    false,
  );
  const raw = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith(`${PROJECT}:`)).map(([k, v]) => [k.slice(PROJECT.length + 1), v]));
  const settings = parseStackSettings(raw, "dev", config["aws:region"]);
  const monitoring = monitor(settings, new FifoTransactionBus("transactions", { settings }), new OrderFulfillment("orders", { settings }));
  await new Promise<void>((done) => monitoring.dashboard.dashboardBody.apply(() => done()));
  await new Promise((r) => setTimeout(r, 100));
});

it("watches every function, queue and DLQ of the program, the API and the state machine, and mails the alarms", () => {
  const functions = declared.filter((r) => r.type === "aws:lambda/function:Function").map((r) => r.inputs.name as string);
  const alarms = declared.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").map((r) => r.inputs);
  const watchedFunctions = new Set(alarms.filter((a) => a.metricName === "Errors").map((a) => (a.dimensions as { FunctionName: string }).FunctionName));
  expect([...watchedFunctions].sort()).toEqual([...functions].sort());
  const dlqs = alarms.filter((a) => a.metricName === "ApproximateNumberOfMessagesVisible").map((a) => (a.dimensions as { QueueName: string }).QueueName);
  const queues = declared.filter((r) => r.type === "aws:sqs/queue:Queue").map((r) => r.inputs.name as string);
  const deadLetterQueues = queues.filter((q) => /dlq/.test(q));
  expect(deadLetterQueues.length).toBeGreaterThanOrEqual(3);
  expect([...dlqs].sort()).toEqual([...deadLetterQueues].sort());
  const aged = alarms.filter((a) => a.metricName === "ApproximateAgeOfOldestMessage").map((a) => (a.dimensions as { QueueName: string }).QueueName);
  expect([...aged].sort()).toEqual(queues.filter((q) => !/dlq/.test(q)).sort());
  expect(alarms.some((a) => a.metricName === "5XXError")).toBe(true);
  expect(alarms.some((a) => a.metricName === "ExecutionsFailed")).toBe(true);
  expect(declared.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription").some((s) => s.inputs.protocol === "email" && s.inputs.endpoint === "ops@example.com")).toBe(true);
  const body = declared.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs.dashboardBody as string;
  expect(body).toContain("{OTEL/UtilityCustomer/Enhanced,service,transaction_type}");
});
