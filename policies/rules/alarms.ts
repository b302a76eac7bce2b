/**
 * Alarms that can be heard, on what fails: every alarm has an action and its actions enabled, and
 * the stack alarms on each function's errors, each dead-letter queue's messages and each state
 * machine's failed executions.
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_319;
 * Security Hub CloudWatch.15, CloudWatch.17.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { StackIndex } from "../lib/stack";
import { T } from "../lib/types";
import { onTypes, physical } from "./common";

export const alarmActions: ResourceValidationPolicy = {
  name: "cloudwatch-alarm-actions-enabled",
  description: "Every CloudWatch alarm can notify: it has at least one alarm action and its actions are enabled.",
  remediationSteps: "Set `alarmActions` to the stack's alarm topic (Monitoring does) and leave `actionsEnabled` unset or true. `okActions` are not required: Monitoring notifies a return to OK after an ALARM through an EventBridge rule (stack setting alarmOkNotifications). An alarm without actions changes state on a dashboard nobody watches.",
  validateResource: onTypes([T.metricAlarm, T.compositeAlarm], (props, args, report) => {
    const name = String(props.name ?? props.alarmName ?? args.name);
    const actions = (props.alarmActions as string[] | undefined) ?? [];
    if (actions.length === 0) report(`Alarm "${name}" has no alarm action: when it fires nobody hears; set alarmActions to the stack's alarm topic ARN.`);
    if (props.actionsEnabled === false) report(`Alarm "${name}" has its actions disabled (actionsEnabled: false): when it fires nobody hears; remove actionsEnabled or set it to true.`);
  }),
};

/** One metric an alarm watches: its own, or one of its metric queries'. */
interface WatchedMetric {
  namespace?: string;
  metricName?: string;
  dimensions: Record<string, unknown>;
}

function watchedMetrics(alarm: PolicyResource): WatchedMetric[] {
  const p = alarm.props as { namespace?: string; metricName?: string; dimensions?: Record<string, unknown>; metricQueries?: { metric?: { namespace?: string; metricName?: string; dimensions?: Record<string, unknown> } }[] };
  const own = p.metricName ? [{ namespace: p.namespace, metricName: p.metricName, dimensions: p.dimensions ?? {} }] : [];
  const queried = (p.metricQueries ?? []).flatMap((q) => (q.metric ? [{ ...q.metric, dimensions: q.metric.dimensions ?? {} }] : []));
  return [...own, ...queried];
}

export const alarmCoverage: StackValidationPolicy = {
  name: "cloudwatch-alarm-coverage",
  description: "The stack alarms on every Lambda function's errors, every dead-letter queue's visible messages (the age of its oldest message, when a function consumes it) and every state machine's failed executions.",
  remediationSteps: "Give Monitoring (components/monitoring/monitoring.ts) the unit's functions, dead-letter queues and state machines through the unit's watched(): it creates AWS/Lambda Errors (FunctionName), AWS/SQS ApproximateNumberOfMessagesVisible (QueueName) or ApproximateAgeOfOldestMessage for a consumed DLQ, and AWS/States ExecutionsFailed (StateMachineArn) alarms on the alarm topic.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const watched = stack.of(T.metricAlarm).flatMap(watchedMetrics);
    const alarmed = (namespace: string, metricNames: string[], dimension: string, value: unknown) =>
      watched.some((m) => m.namespace === namespace && metricNames.includes(String(m.metricName)) && m.dimensions[dimension] === value);

    for (const fn of stack.of(T.function)) {
      const name = physical(fn.props, fn.name);
      if (!alarmed("AWS/Lambda", ["Errors"], "FunctionName", name)) {
        report(`Function "${name}" has no alarm on its errors: failed invocations go unnoticed; add an alarm on AWS/Lambda Errors with dimension FunctionName "${name}" that notifies the alarm topic.`, fn.urn);
      }
    }
    const consumed = new Set(stack.sqsMappings().map((m) => m.queue));
    for (const arn of stack.deadLetterArns()) {
      const dlq = stack.queueByArn(arn);
      if (!dlq) continue;
      const name = physical(dlq.props, dlq.name);
      const metrics = consumed.has(dlq) ? ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"] : ["ApproximateNumberOfMessagesVisible"];
      if (!alarmed("AWS/SQS", metrics, "QueueName", name)) {
        const consumer = consumed.has(dlq) ? ` (or, as a function consumes it, on ApproximateAgeOfOldestMessage)` : "";
        report(`Dead-letter queue "${name}" has no alarm on its visible messages${consumer}: a message that lands there is never noticed; add an alarm on AWS/SQS ApproximateNumberOfMessagesVisible with dimension QueueName "${name}" (threshold 0).`, dlq.urn);
      }
    }
    for (const machine of stack.of(T.stateMachine)) {
      const arn = machine.props.arn;
      if (!alarmed("AWS/States", ["ExecutionsFailed"], "StateMachineArn", arn)) {
        report(`State machine "${physical(machine.props, machine.name)}" has no alarm on failed executions: add an alarm on AWS/States ExecutionsFailed with dimension StateMachineArn ${String(arn)}.`, machine.urn);
      }
    }
  },
};

export const alarmPolicies = [alarmActions, alarmCoverage];
