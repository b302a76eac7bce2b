// The order workflow's definition: valid ASL (asl-validator), and executed with
// aws-local-stepfunctions, its Tasks bound to the real validate/store bundles and to fauxqs for
// the sqs:sendMessage hop (the harness), with retry intervals overridden for speed.
// aws-local-stepfunctions 3.0.0 matches retriers as AWS does for what is tested here: the first
// retrier whose ErrorEquals matches applies (MaxAttempts 0 stops there), `States.TaskFailed` matches
// any error name thrown by a Task except its States.Timeout, `States.ALL` matches timeouts too.
import { randomUUID } from "node:crypto";
import { ReceiveMessageCommand, PurgeQueueCommand } from "@aws-sdk/client-sqs";
import validateAsl from "asl-validator";
import { StateMachine } from "aws-local-stepfunctions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKFLOW_STATES, orderWorkflowDefinition } from "../../../components/orders/workflow-definition";
import type { OrderWorkflowArgs } from "../../../components/orders/workflow-definition";
import { TaskFailedError } from "../../../local/services/stepfunctions";
import type { Harness } from "../../functions/orders/harness";
import { startHarness } from "../../functions/orders/harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ pollers: false });
});
afterAll(async () => {
  await h?.stop();
});

const S = WORKFLOW_STATES;
type Handler = (input: unknown) => Promise<unknown>;

/** Runs one execution; `wrap` may replace a Task's handler (to inject failures). */
async function execute(order: Record<string, unknown>, wrap: Partial<Record<string, (real: Handler) => Handler>> = {}, args: Partial<OrderWorkflowArgs> = {}) {
  const definition = orderWorkflowDefinition({ ...h.workflowArgs, ...args });
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const lambda: Handler = (input) => {
    const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
    return h.invokeTask(FunctionName, Payload);
  };
  const send: Handler = (input) => h.sendMessage(input as { QueueUrl: string; MessageBody: unknown });
  const calls: Record<string, number> = {};
  const bind = (state: string, real: Handler) => async (input: unknown) => {
    calls[state] = (calls[state] ?? 0) + 1;
    return (await (wrap[state] ?? ((r: Handler) => r))(real)(input)) as never;
  };
  const executionId = `arn:aws:states:us-east-1:000000000000:execution:dofs-test-order-workflow:${String(order.order_id)}`;
  const run = machine.run(order as never, {
    overrides: {
      taskResourceLocalHandlers: {
        [S.validate]: bind(S.validate, lambda),
        [S.storePending]: bind(S.storePending, lambda),
        [S.storeRejected]: bind(S.storeRejected, lambda),
        [S.send]: bind(S.send, send),
        [S.recordFailure]: bind(S.recordFailure, lambda),
      },
      retryIntervalOverrides: { [S.validate]: 0, [S.storePending]: 0, [S.storeRejected]: 0, [S.send]: 0, [S.recordFailure]: 0 },
    },
    context: { Execution: { Id: executionId, Name: String(order.order_id), StartTime: new Date().toISOString(), Input: order as never, RoleArn: "arn:aws:iam::000000000000:role/x" } } as never,
  });
  try {
    return { output: (await run.result) as Record<string, unknown>, error: undefined, calls };
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    return { output: undefined, error: cause ?? (error as Error), calls };
  }
}

const newOrder = (items = [{ product_id: "prod-widget", quantity: 2 }]) => ({ order_id: randomUUID(), customer_id: "cust-wf", items, received_at: new Date().toISOString() });
const queued = async () => {
  const received = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.queues.fulfillment, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return (received.Messages ?? []).map((m) => JSON.parse(m.Body!) as Record<string, unknown>);
};

describe("definition", () => {
  it("is valid ASL with ARN and path checks", () => {
    const definition = orderWorkflowDefinition(h.workflowArgs);
    const verdict = validateAsl(structuredClone(definition), { checkArn: true, checkPaths: true });
    expect(verdict.errorsText("\n")).toBe("");
    expect(verdict.isValid).toBe(true);
  });
  it("every Lambda Task: ValidationError never retried, then Lambda's service errors, then any other task failure; every step that can fail is caught", () => {
    const { States } = orderWorkflowDefinition(h.workflowArgs) as unknown as { States: Record<string, { Type: string; Resource?: string; Retry?: { ErrorEquals: string[] }[]; Catch?: { ErrorEquals: string[]; Next: string }[] }> };
    for (const [name, state] of Object.entries(States)) {
      if (state.Resource === "arn:aws:states:::lambda:invoke" && name !== S.recordFailure) {
        // Order matters: the first retrier whose ErrorEquals matches applies.
        expect(state.Retry, name).toEqual([
          { ErrorEquals: ["ValidationError"], MaxAttempts: 0 },
          {
            ErrorEquals: ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException"],
            IntervalSeconds: 1,
            MaxAttempts: 3,
            BackoffRate: 2,
            JitterStrategy: "FULL",
          },
          { ErrorEquals: ["States.TaskFailed"], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" },
        ]);
      }
      if (state.Type === "Task" && name !== S.recordFailure) expect(state.Catch, name).toEqual([expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: S.recordFailure })]);
    }
    // RecordFailure retries anything but bad input, and has nothing to fall back on.
    expect(States[S.recordFailure]!.Retry).toEqual([
      { ErrorEquals: ["ValidationError"], MaxAttempts: 0 },
      { ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 5, BackoffRate: 2 },
    ]);
    expect(States[S.recordFailure]!.Catch).toBeUndefined();
    expect(States[S.send]!.Resource).toBe("arn:aws:states:::sqs:sendMessage");
    expect(Object.values(States).filter((s) => s.Resource === "arn:aws:states:::lambda:invoke")).toHaveLength(4);
  });
  it("an invalid definition is caught by the validator (the check can fail)", () => {
    const broken = orderWorkflowDefinition(h.workflowArgs) as { States: Record<string, Record<string, unknown>> };
    broken.States[S.checkVerdict]!.Default = "NoSuchState";
    expect(validateAsl(structuredClone(broken)).isValid).toBe(false);
  });
});

describe("executions", () => {
  it("an accepted order: validated, stored PENDING, queued with the sqs:sendMessage integration", async () => {
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: h.queues.fulfillment }));
    const order = newOrder();
    const { output, error, calls } = await execute(order);
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ ...order, validation: { accepted: true, reason: null }, fulfillment: { message_id: expect.any(String) } });
    expect(calls).toEqual({ [S.validate]: 1, [S.storePending]: 1, [S.send]: 1 });
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "PENDING", items: order.items, created_at: order.received_at });
    // Started without `_trace` (by hand): the workflow gives it an empty one, nothing fails.
    expect(await queued()).toEqual([{ order_id: order.order_id, customer_id: "cust-wf", _trace: {} }]);
  });
  it("passes the input's _trace to every Task and into the fulfillment message", async () => {
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: h.queues.fulfillment }));
    const _trace = { traceparent: "00-6650a9c1aaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01", tracestate: "vendor=x" };
    const order = { ...newOrder(), _trace };
    const payloads: Record<string, unknown> = {};
    const capture = (state: string) => (real: Handler) => async (input: unknown) => {
      payloads[state] = (input as { Payload?: unknown }).Payload ?? (input as { MessageBody?: unknown }).MessageBody;
      return real(input);
    };
    const { output, error } = await execute(order, { [S.validate]: capture(S.validate), [S.storePending]: capture(S.storePending), [S.send]: capture(S.send) });
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ _trace, validation: { accepted: true }, fulfillment: { message_id: expect.any(String) } });
    for (const state of [S.validate, S.storePending, S.send]) expect(payloads[state], state).toMatchObject({ _trace });
    expect(await queued()).toEqual([{ order_id: order.order_id, customer_id: "cust-wf", _trace }]);

    // The failure path passes it on too.
    const failing = { ...newOrder(), _trace };
    const failed = await execute(failing, {
      [S.validate]: () => async () => {
        throw new TaskFailedError("ValidationError", "orders-validate: invalid input");
      },
      [S.recordFailure]: capture(S.recordFailure),
    });
    expect(failed.error?.name).toBe("OrderProcessingFailed");
    expect(payloads[S.recordFailure]).toMatchObject({ action: "fail", _trace });
  });
  it("a rejected order: stored REJECTED with the reason, not queued", async () => {
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: h.queues.fulfillment }));
    const order = newOrder([{ product_id: "prod-a", quantity: 1 }, { product_id: "prod-a", quantity: 1 }]);
    const { error, calls } = await execute(order);
    expect(error).toBeUndefined();
    expect(calls).toEqual({ [S.validate]: 1, [S.storeRejected]: 1 });
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "REJECTED", status_reason: "product prod-a appears in more than one line" });
    expect(await queued()).toEqual([]);
  });
  it("a transient Lambda error is retried; a retried store that already wrote is not an error", async () => {
    const order = newOrder();
    let validateFailures = 0;
    let storeAttempts = 0;
    const { error, calls } = await execute(order, {
      [S.validate]: (real) => async (input) => {
        if (validateFailures++ < 2) throw new TaskFailedError("Lambda.ServiceException", "Rate exceeded");
        return real(input);
      },
      // The first store attempt writes and then "times out" at the service: the retry finds its write.
      [S.storePending]: (real) => async (input) => {
        const result = await real(input);
        if (storeAttempts++ === 0) throw new TaskFailedError("Lambda.SdkClientException", "socket hang up");
        return result;
      },
    });
    expect(error).toBeUndefined();
    expect(calls[S.validate]).toBe(3);
    expect(calls[S.storePending]).toBe(2);
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "PENDING" });
  });
  it("the queue hop failing after its retries: the order ends FAILED with one failed row, and the execution fails", async () => {
    const order = newOrder();
    const { error, calls } = await execute(order, {
      [S.send]: () => async () => {
        throw new TaskFailedError("SQS.KmsThrottledException", "KMS throttled");
      },
    });
    expect(error?.name).toBe("OrderProcessingFailed");
    expect(calls[S.send]).toBe(4); // 1 + 3 retries
    expect(calls[S.recordFailure]).toBe(1);
    const stored = await h.getOrder(order.order_id);
    expect(stored).toMatchObject({ status: "FAILED", status_reason: expect.stringContaining("SQS.KmsThrottledException") });
    expect((await h.failedRows()).filter((r) => r.order_id === order.order_id)).toHaveLength(1);
  });
  it("a non-transient error (bad input) is not retried and the order still gets a final status when it can", async () => {
    const order = newOrder();
    const { error, calls } = await execute(order, {
      [S.validate]: () => async () => {
        throw new TaskFailedError("ValidationError", "orders-validate: invalid input");
      },
    });
    expect(error?.name).toBe("OrderProcessingFailed");
    expect(calls[S.validate]).toBe(1);
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "FAILED", status_reason: expect.stringContaining("ValidationError") });
    expect((await h.failedRows()).filter((r) => r.order_id === order.order_id)).toHaveLength(1);
  });
  // What a function error looks like to the Task: `lambda:invoke` reports it under the error's own
  // name (the harness's invokeTask turns the function's errorType into the States error name).
  it.each([
    ["a plain Error (a network error)", () => new Error("read ECONNRESET")],
    ["a DynamoDB throttling exception", () => new TaskFailedError("ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded")],
  ])("the store step failing once with %s is retried: the order ends PENDING and queued, not FAILED", async (_name, transient) => {
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: h.queues.fulfillment }));
    const order = newOrder();
    let failures = 0;
    const { output, error, calls } = await execute(order, {
      [S.storePending]: (real) => async (input) => {
        if (failures++ === 0) throw transient();
        return real(input);
      },
    });
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ order_id: order.order_id, fulfillment: { message_id: expect.any(String) } });
    expect(calls).toEqual({ [S.validate]: 1, [S.storePending]: 2, [S.send]: 1 });
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "PENDING" });
    expect(await queued()).toEqual([{ order_id: order.order_id, customer_id: "cust-wf", _trace: {} }]);
    expect((await h.failedRows()).some((r) => r.order_id === order.order_id)).toBe(false);
  });
  it("a handler error that persists is retried 3 times, then the order ends FAILED with the error's name", async () => {
    const order = newOrder();
    const { error, calls } = await execute(order, {
      [S.storePending]: () => async () => {
        throw new TaskFailedError("ProvisionedThroughputExceededException", "still throttled");
      },
    });
    expect(error?.name).toBe("OrderProcessingFailed");
    expect(calls[S.storePending]).toBe(4); // 1 + 3 retries
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "FAILED", status_reason: expect.stringContaining("ProvisionedThroughputExceededException") });
    expect((await h.failedRows()).filter((r) => r.order_id === order.order_id)).toHaveLength(1);
  });
  it("the real store function's ValidationError (input not matching its schema) is not retried, though States.TaskFailed would match it", async () => {
    const order = newOrder();
    const { error, calls } = await execute(order, {
      // The real bundle, given a payload its schema refuses.
      [S.storePending]: (real) => async (input) => real({ ...(input as object), Payload: { ...(input as { Payload: object }).Payload, status: "SHIPPED" } }),
    });
    expect(error?.name).toBe("OrderProcessingFailed");
    expect(calls[S.storePending]).toBe(1);
    expect(calls[S.recordFailure]).toBe(1);
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "FAILED", status_reason: expect.stringContaining("(ValidationError): orders-store: invalid input") });
    expect((await h.failedRows()).filter((r) => r.order_id === order.order_id)).toHaveLength(1);
  });
  it("a Task timeout (States.Timeout) is not retried: States.TaskFailed does not match it", async () => {
    const order = newOrder();
    const { error, calls } = await execute(
      order,
      {
        [S.validate]: (real) => async (input) => {
          await new Promise((r) => setTimeout(r, 1500));
          return real(input);
        },
      },
      { taskTimeoutSeconds: 1 },
    );
    expect(error?.name).toBe("OrderProcessingFailed");
    expect(calls[S.validate]).toBe(1);
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "FAILED", status_reason: expect.stringContaining("States.Timeout") });
  });
  it("RecordFailure failing is retried: the order ends FAILED with one failed row", async () => {
    const order = newOrder();
    let attempts = 0;
    const { error, calls } = await execute(order, {
      [S.validate]: () => async () => {
        throw new TaskFailedError("ValidationError", "orders-validate: invalid input");
      },
      [S.recordFailure]: (real) => async (input) => {
        attempts++;
        // 1st attempt: fails before writing; 2nd: writes, then fails (as a timed-out response
        // would); 3rd: finds its own writes and completes.
        if (attempts === 1) throw new Error("read ECONNRESET");
        const result = await real(input);
        if (attempts === 2) throw new TaskFailedError("Lambda.SdkClientException", "socket hang up");
        return result;
      },
    });
    expect(error?.name).toBe("OrderProcessingFailed");
    expect(calls[S.recordFailure]).toBe(3);
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "FAILED", status_reason: expect.stringContaining("ValidationError") });
    expect((await h.failedRows()).filter((r) => r.order_id === order.order_id)).toHaveLength(1);
  });
  it("RecordFailure failing through all its retries (1 + 5 attempts): the execution fails with its error and the stored order stays PENDING", async () => {
    const order = newOrder();
    const { error, calls } = await execute(order, {
      [S.send]: () => async () => {
        throw new TaskFailedError("SQS.KmsThrottledException", "KMS throttled");
      },
      [S.recordFailure]: () => async () => {
        throw new TaskFailedError("ProvisionedThroughputExceededException", "DynamoDB unavailable");
      },
    });
    expect(error?.name).toBe("ProvisionedThroughputExceededException");
    expect(calls[S.recordFailure]).toBe(6);
    expect(await h.getOrder(order.order_id)).toMatchObject({ status: "PENDING" });
  });
  it("the real validator refuses input that does not match its schema with ValidationError", async () => {
    await expect(h.invokeTask(h.functionArns.validate, { order_id: "nope" })).rejects.toMatchObject({ name: "ValidationError" });
  });
});
