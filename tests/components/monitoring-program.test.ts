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
  // The known set: what each check below derives from the program, named once in full.
  const per = (unit: string, ...kinds: string[]) => kinds.map((kind) => `${unit}-${kind}`);
  expect(alarms.map((a) => String(a.name).replace(/^utility-serverless-dev-/, "")).sort()).toEqual(
    [
      ...per("api", "errors", "throttles"),
      ...per("bank_account_setup", "dlq-expiring", "dlq-messages", "errors", "failures", "oldest-message", "subscription-dlq-expiring", "subscription-dlq-messages", "throttles"),
      ...per("bus-notifications", "failed", "lost"),
      ...per("deadLetter", "errors", "throttles"),
      ...per("dlq-failures", "dlq-expiring", "dlq-messages"),
      ...per("fulfillment-dlq", "oldest-message"),
      ...per("fulfillment", "errors", "oldest-message", "throttles"),
      ...per("orders-api", "5xx", "latency-p99"),
      ...per("payment", "dlq-expiring", "dlq-messages", "errors", "failures", "oldest-message", "subscription-dlq-expiring", "subscription-dlq-messages", "throttles"),
      ...per("store", "errors", "throttles"),
      ...per("validate", "errors", "throttles"),
      ...per("workflow", "failed-executions"),
    ].sort(),
  );
  const watchedFunctions = new Set(alarms.filter((a) => a.metricName === "Errors").map((a) => (a.dimensions as { FunctionName: string }).FunctionName));
  expect([...watchedFunctions].sort()).toEqual([...functions].sort());
  // A queue some function consumes is a working queue: alarmed when its oldest message gets old.
  // A queue nothing consumes is where messages that failed for good are parked: alarmed on any message.
  const queues = run.all("aws:sqs/queue:Queue").filter((q) => !(q.inputs.name as string).includes("-alarms"));
  const consumedArns = new Set(inputs("aws:lambda/eventSourceMapping:EventSourceMapping").map((m) => m.eventSourceArn as string));
  const working = queues.filter((q) => consumedArns.has(q.state.arn as string)).map((q) => q.inputs.name as string);
  const parking = queues.filter((q) => !consumedArns.has(q.state.arn as string)).map((q) => q.inputs.name as string);
  expect(working).toContain("dofs-dev-fulfillment-dlq"); // the normal path to FAILED, drained by orders-dlq
  // Where messages that failed for good are parked: each consumer's DLQ, each subscription's DLQ,
  // and the queue where the fulfillment DLQ's own failures end.
  expect([...parking].sort()).toEqual([
    "dofs-dev-fulfillment-dlq-failures",
    "utility-customer-system-dev-bank-account-setup-dlq.fifo",
    "utility-customer-system-dev-bank-account-setup-subscription-dlq.fifo",
    "utility-customer-system-dev-payment-processing-dlq.fifo",
    "utility-customer-system-dev-payment-processing-subscription-dlq.fifo",
  ]);
  const dlqAlarms = alarms.filter((a) => a.metricName === "ApproximateNumberOfMessagesVisible").map((a) => (a.dimensions as { QueueName: string }).QueueName);
  expect([...dlqAlarms].sort()).toEqual([...parking].sort());
  const aged = alarms.filter((a) => a.metricName === "ApproximateAgeOfOldestMessage" && String(a.name).endsWith("-oldest-message")).map((a) => (a.dimensions as { QueueName: string }).QueueName);
  expect([...aged].sort()).toEqual([...working].sort());
  // A parked message expires at the DLQ's retention: alarmed before it does.
  const expiring = alarms.filter((a) => String(a.name).endsWith("-dlq-expiring")).map((a) => (a.dimensions as { QueueName: string }).QueueName);
  expect([...expiring].sort()).toEqual([...parking].sort());
  // The subscriptions' DLQs are among them, and the topic's failed and lost deliveries are alarmed.
  expect(parking.filter((q) => q.endsWith("-subscription-dlq.fifo"))).toHaveLength(2);
  expect(alarms.filter((a) => a.namespace === "AWS/SNS").map((a) => a.metricName).sort()).toEqual(["NumberOfNotificationsFailed", "NumberOfNotificationsFailedToRedriveToDlq"]);
  // Per-message failures, invisible to Lambda's Errors, are alarmed per transaction type.
  expect(alarms.filter((a) => a.metricName === "TransactionsFailed").map((a) => (a.dimensions as Record<string, string>).transaction_type).sort()).toEqual(["bank_account_setup", "payment"]);
  expect(alarms.some((a) => a.metricName === "5XXError")).toBe(true);
  expect(alarms.some((a) => a.metricName === "ExecutionsFailed")).toBe(true);
  expect(inputs("aws:sns/topicSubscription:TopicSubscription").some((s) => s.protocol === "email" && s.endpoint === "ops@example.com")).toBe(true);
  const body = inputs("aws:cloudwatch/dashboard:Dashboard")[0]!.dashboardBody as string;
  expect(body).toContain("{\\\"OTEL/UtilityCustomer/Enhanced\\\",\\\"service\\\",\\\"transaction_type\\\"}");
  expect(run.outputs.alarmTopicArn).toBe("arn:aws:sns:us-east-2:123456789012:utility-serverless-dev-alarms");
  expect(run.outputs.dashboardUrl).toContain("utility-serverless-dev-flows");
});
