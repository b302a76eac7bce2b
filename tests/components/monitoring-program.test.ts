/**
 * Monitoring as the program declares it, over both real units: every function, queue and DLQ, the
 * API and the state machine are watched, and alarms are mailed when `alarmEmail` is set.
 */
import { beforeAll, expect, it } from "vitest";
import { runStack } from "../support/program";

let run: Awaited<ReturnType<typeof runStack>>;
beforeAll(async () => {
  run = await runStack({ stack: "dev", config: { alarmEmail: "ops@example.com" } });
});

it("watches every function, queue and DLQ of the program, the API and the state machine, and mails the alarms", () => {
  const inputs = (type: string) => run.all(type).map((r) => r.inputs);
  const functions = inputs("aws:lambda/function:Function").map((f) => f.name as string);
  const alarms = inputs("aws:cloudwatch/metricAlarm:MetricAlarm");
  const watchedFunctions = new Set(alarms.filter((a) => a.metricName === "Errors").map((a) => (a.dimensions as { FunctionName: string }).FunctionName));
  expect([...watchedFunctions].sort()).toEqual([...functions].sort());
  const queues = inputs("aws:sqs/queue:Queue").map((q) => q.name as string).filter((q) => !q.includes("-alarms"));
  const deadLetterQueues = queues.filter((q) => /dlq/.test(q));
  expect(deadLetterQueues.length).toBeGreaterThanOrEqual(3);
  const dlqAlarms = alarms.filter((a) => a.metricName === "ApproximateNumberOfMessagesVisible").map((a) => (a.dimensions as { QueueName: string }).QueueName);
  expect([...dlqAlarms].sort()).toEqual([...deadLetterQueues].sort());
  const aged = alarms.filter((a) => a.metricName === "ApproximateAgeOfOldestMessage").map((a) => (a.dimensions as { QueueName: string }).QueueName);
  expect([...aged].sort()).toEqual(queues.filter((q) => !/dlq/.test(q)).sort());
  expect(alarms.some((a) => a.metricName === "5XXError")).toBe(true);
  expect(alarms.some((a) => a.metricName === "ExecutionsFailed")).toBe(true);
  expect(inputs("aws:sns/topicSubscription:TopicSubscription").some((s) => s.protocol === "email" && s.endpoint === "ops@example.com")).toBe(true);
  const body = inputs("aws:cloudwatch/dashboard:Dashboard")[0]!.dashboardBody as string;
  expect(body).toContain("{OTEL/UtilityCustomer/Enhanced,service,transaction_type}");
  expect(run.outputs.alarmTopicArn).toBe("arn:aws:sns:us-east-2:123456789012:utility-serverless-dev-alarms");
  expect(run.outputs.dashboardUrl).toContain("utility-serverless-dev-flows");
});
