/**
 * The order workflow's execution timeout is derived from its Task timeouts and retriers: the
 * slowest path (every Task retried to the end, then RecordFailure retried to the end) fits in it,
 * whatever the function timeout; EXPRESS's 300 s is held by the settings schema.
 */
import { describe, expect, it } from "vitest";
import {
  LAMBDA_TASK_RETRY,
  RECORD_FAILURE_RETRY,
  SEND_TIMEOUT_SECONDS,
  WORKFLOW_STATES as S,
  orderWorkflowDefinition,
  orderWorkflowTimeoutSeconds,
  retrierBackoffSeconds,
  taskTimeoutFor,
  worstCaseSeconds,
} from "../../../components/orders/workflow-definition";

const ARGS = {
  validateFunctionArn: "arn:aws:lambda:us-east-2:123456789012:function:dofs-dev-orders-validate",
  storeFunctionArn: "arn:aws:lambda:us-east-2:123456789012:function:dofs-dev-orders-store",
  fulfillmentQueueUrl: "https://sqs.us-east-2.amazonaws.com/123456789012/dofs-dev-fulfillment",
};

describe("worstCaseSeconds", () => {
  it("adds up a Task's attempts × its timeout and each retrier's longest backoff", () => {
    // 1 + 3 + 3 attempts; backoffs 1+2+4 twice (FULL jitter only shortens them).
    expect(retrierBackoffSeconds(LAMBDA_TASK_RETRY[1]!)).toBe(7);
    expect(retrierBackoffSeconds(LAMBDA_TASK_RETRY[0]!)).toBe(0);
    // RecordFailure: 1 + 5 attempts, 1+2+4+8+16 s.
    expect(retrierBackoffSeconds(RECORD_FAILURE_RETRY[1]!)).toBe(31);
    expect(retrierBackoffSeconds({ ErrorEquals: ["States.ALL"] })).toBe(7); // AWS's defaults: 3 retries, 1 s, rate 2
    expect(retrierBackoffSeconds({ ErrorEquals: ["States.ALL"], IntervalSeconds: 10, MaxAttempts: 4, MaxDelaySeconds: 15 })).toBe(10 + 15 + 15 + 15);
  });

  it("takes the longest path through Next, Choices, Default and Catch", () => {
    const definition = {
      StartAt: "A",
      States: {
        A: { Type: "Choice", Choices: [{ Variable: "$.x", IsPresent: true, Next: "Slow" }], Default: "Fast" },
        Fast: { Type: "Task", TimeoutSeconds: 5, End: true },
        Slow: { Type: "Task", TimeoutSeconds: 10, Retry: [{ ErrorEquals: ["States.ALL"], MaxAttempts: 1 }], Catch: [{ ErrorEquals: ["States.ALL"], Next: "Recover" }], Next: "Done" },
        Recover: { Type: "Wait", Seconds: 30, Next: "Done" },
        Done: { Type: "Succeed" },
      },
    };
    expect(worstCaseSeconds(definition)).toBe(2 * 10 + 1 + 30);
  });

  it("refuses what it cannot bound: a Task without TimeoutSeconds, a loop", () => {
    expect(() => worstCaseSeconds({ StartAt: "T", States: { T: { Type: "Task", End: true } } })).toThrow(
      'Task "T" has no TimeoutSeconds: its duration, and so the execution\'s, would be unbounded',
    );
    expect(() => worstCaseSeconds({ StartAt: "A", States: { A: { Type: "Pass", Next: "B" }, B: { Type: "Pass", Next: "A" } } })).toThrow(
      'State "A" is part of a loop: the execution\'s duration is unbounded',
    );
  });
});

describe("the order workflow's execution timeout", () => {
  it("is its slowest path: Validate and StorePending retried to the end, the send retried to the end, then RecordFailure retried to the end", () => {
    const task = taskTimeoutFor(30);
    expect(task).toBe(35);
    const definition = orderWorkflowDefinition({ ...ARGS, taskTimeoutSeconds: task });
    const lambdaTask = 7 * task + 14;
    const send = 4 * SEND_TIMEOUT_SECONDS + 7;
    const recordFailure = 6 * task + 31;
    expect(definition.TimeoutSeconds).toBe(2 * lambdaTask + send + recordFailure);
    expect(definition.TimeoutSeconds).toBe(806);
    expect(orderWorkflowTimeoutSeconds(30)).toBe(806);
    // Every Task is bounded, the service integration too.
    for (const [name, state] of Object.entries(definition.States)) if (state.Type === "Task") expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
    expect(definition.States[S.send]!.TimeoutSeconds).toBe(SEND_TIMEOUT_SECONDS);
  });

  it("grows with the function timeout, so a slow failure path never outlives the execution (the old fixed 300 s did)", () => {
    expect(orderWorkflowTimeoutSeconds(60)).toBeGreaterThan(orderWorkflowTimeoutSeconds(30));
    expect(orderWorkflowTimeoutSeconds(10)).toBeGreaterThan(300);
    // An explicit value still wins.
    expect(orderWorkflowDefinition({ ...ARGS, executionTimeoutSeconds: 1000 }).TimeoutSeconds).toBe(1000);
  });
});
