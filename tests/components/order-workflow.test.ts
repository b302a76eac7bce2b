// The order workflow's definition: valid ASL (asl-validator), and executed with
// aws-local-stepfunctions, its Tasks bound to the real validate/store bundles and to fauxqs for
// the sqs:sendMessage hop (the harness), with retry intervals overridden for speed.
import { randomUUID } from "node:crypto";
import { ReceiveMessageCommand, PurgeQueueCommand } from "@aws-sdk/client-sqs";
import validateAsl from "asl-validator";
import { StateMachine } from "aws-local-stepfunctions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_TRANSIENT_ERRORS, WORKFLOW_STATES, orderWorkflowDefinition } from "../../components/order-workflow";
import { TaskFailedError } from "../../local/emulators";
import type { Harness } from "../functions/orders/harness";
import { startHarness } from "../functions/orders/harness";

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
async function execute(order: Record<string, unknown>, wrap: Partial<Record<string, (real: Handler) => Handler>> = {}) {
  const definition = orderWorkflowDefinition(h.workflowArgs);
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
  it("every Lambda Task retries Lambda's transient errors only, and every step that can fail is caught", () => {
    const { States } = orderWorkflowDefinition(h.workflowArgs) as unknown as { States: Record<string, { Type: string; Resource?: string; Retry?: { ErrorEquals: string[] }[]; Catch?: { ErrorEquals: string[]; Next: string }[] }> };
    for (const [name, state] of Object.entries(States)) {
      if (state.Resource === "arn:aws:states:::lambda:invoke") expect(state.Retry, name).toEqual([expect.objectContaining({ ErrorEquals: LAMBDA_TRANSIENT_ERRORS })]);
      if (state.Type === "Task" && name !== S.recordFailure) expect(state.Catch, name).toEqual([expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: S.recordFailure })]);
    }
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
  it("the real validator refuses input that does not match its schema with ValidationError", async () => {
    await expect(h.invokeTask(h.functionArns.validate, { order_id: "nope" })).rejects.toMatchObject({ name: "ValidationError" });
  });
});
