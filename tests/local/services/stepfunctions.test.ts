// The Step Functions emulator through @aws-sdk/client-sfn: the DOFS shape (Task → Choice →
// Task with Retry and Catch), the API's error contract, and idempotent StartExecution by name.
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  InvalidDefinition,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { DescribeExecutionCommandOutput } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import { startStepFunctions } from "../../../local/services/stepfunctions/emulator";
import { raceAbort } from "../../../local/services/stepfunctions/runner";
import type { StepFunctionsEmulator } from "../../../local/services/stepfunctions/emulator";
import { NO_TASK_HANDLER, TaskFailedError } from "../../../local/services/stepfunctions/task-handlers";
import type { TaskContext } from "../../../local/services/stepfunctions/task-handlers";

const region = "us-east-1";
const roleArn = "arn:aws:iam::000000000000:role/sfn";
let emulator: StepFunctionsEmulator;
let sfn: SFNClient;

/** Task → Choice → Task, with a Retry on a transient Lambda error and a Catch for the rest. */
const orderDefinition = {
  Comment: "validate → route → enqueue",
  StartAt: "Validate",
  States: {
    Validate: {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { FunctionName: "validate", "Payload.$": "$", "ExecutionId.$": "$$.Execution.Id" },
      OutputPath: "$.Payload",
      Retry: [{ ErrorEquals: ["Lambda.ServiceException"], IntervalSeconds: 30, MaxAttempts: 2, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "RecordFailure" }],
      Next: "Route",
    },
    Route: {
      Type: "Choice",
      Choices: [{ Variable: "$.valid", BooleanEquals: true, Next: "Enqueue" }],
      Default: "Rejected",
    },
    Enqueue: {
      Type: "Task",
      Resource: "arn:aws:states:::sqs:sendMessage",
      Parameters: { QueueUrl: "http://127.0.0.1/000000000000/fulfillment", "MessageBody.$": "$" },
      ResultPath: "$.sent",
      End: true,
    },
    RecordFailure: { Type: "Pass", End: true },
    Rejected: { Type: "Fail", Error: "OrderInvalid", Cause: "validation said no" },
  },
};

/** What the handlers saw, per order id. */
const calls: { resource: string; input: unknown; context: TaskContext }[] = [];
const transientFailures = new Map<string, number>();
let machineArn: string;

beforeAll(async () => {
  // Retry pauses of 30 s in the definition: the override keeps the test fast.
  emulator = await startStepFunctions({ region, timing: { retryIntervalMs: 0 } });
  sfn = new SFNClient(awsClientConfig(emulator.endpoint, region));
  emulator.registerTaskHandler("arn:aws:states:::lambda:invoke", async (input, context) => {
    calls.push({ resource: context.resource, input, context });
    const { Payload: order } = input as { Payload: { orderId: string; amount: number; failWith?: string; transient?: number } };
    const left = transientFailures.get(order.orderId) ?? order.transient ?? 0;
    if (left > 0) {
      transientFailures.set(order.orderId, left - 1);
      throw new TaskFailedError("Lambda.ServiceException", "Rate exceeded");
    }
    if (order.failWith) throw new TaskFailedError(order.failWith, `order ${order.orderId} is broken`);
    return { StatusCode: 200, Payload: { ...order, valid: order.amount > 0 } };
  });
  emulator.registerTaskHandler("arn:aws:states:::sqs:*", async (input, context) => {
    calls.push({ resource: context.resource, input, context });
    return { MessageId: "m-1" };
  });
  const created = await sfn.send(new CreateStateMachineCommand({ name: "orders", definition: JSON.stringify(orderDefinition), roleArn }));
  machineArn = created.stateMachineArn ?? "";
});

afterAll(async () => {
  sfn?.destroy();
  await emulator?.stop();
});

async function waitForEnd(executionArn: string, timeoutMs = 10_000): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== "RUNNING") return described;
    if (Date.now() > deadline) throw new Error(`${executionArn} still RUNNING after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function start(input: unknown, name?: string): Promise<string> {
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: JSON.stringify(input), name }));
  return executionArn ?? "";
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("Step Functions emulator: state machines", () => {
  it("binds 127.0.0.1 and creates, describes and deletes a machine with an AWS-shaped ARN", async () => {
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(machineArn).toBe("arn:aws:states:us-east-1:000000000000:stateMachine:orders");
    const definition = JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } });
    const { stateMachineArn } = await sfn.send(new CreateStateMachineCommand({ name: "scratch", definition, roleArn }));
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    expect(described).toMatchObject({ name: "scratch", status: "ACTIVE", definition, roleArn, type: "STANDARD" });
    expect(described.creationDate).toBeInstanceOf(Date);
    // Same request again is idempotent; a different definition under the same name is not.
    const again = await sfn.send(new CreateStateMachineCommand({ name: "scratch", definition, roleArn }));
    expect(again.stateMachineArn).toBe(stateMachineArn);
    await expect(sfn.send(new CreateStateMachineCommand({ name: "scratch", definition: JSON.stringify(orderDefinition), roleArn }))).rejects.toMatchObject({
      name: "StateMachineAlreadyExists",
    });
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).rejects.toBeInstanceOf(StateMachineDoesNotExist);
  });

  it("rejects an invalid definition with InvalidDefinition", async () => {
    const broken = { StartAt: "Missing", States: { P: { Type: "Pass", Next: "Nowhere" } } };
    const attempt = sfn.send(new CreateStateMachineCommand({ name: "broken", definition: JSON.stringify(broken), roleArn }));
    await expect(attempt).rejects.toBeInstanceOf(InvalidDefinition);
    await expect(sfn.send(new CreateStateMachineCommand({ name: "broken", definition: "{not json", roleArn }))).rejects.toBeInstanceOf(InvalidDefinition);
  });

  it("answers unknown operations and bad bodies in AWS's JSON error form", async () => {
    const post = (target: string, body: string) =>
      fetch(emulator.endpoint, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": target }, body });
    const unknown = await post("AWSStepFunctions.SendTaskHeartbeat", "{}");
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: "UnknownOperationException" });
    const garbage = await post("AWSStepFunctions.DescribeExecution", "{");
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ __type: "SerializationException" });
    const missing = await post("AWSStepFunctions.DescribeExecution", JSON.stringify({ executionArn: "arn:aws:states:us-east-1:000000000000:execution:orders:nope" }));
    expect(await missing.json()).toEqual({ __type: "ExecutionDoesNotExist", message: "Execution Does Not Exist: 'arn:aws:states:us-east-1:000000000000:execution:orders:nope'" });
  });
});

describe("Step Functions emulator: executions", () => {
  it("runs Task → Choice → Task to SUCCEEDED, retrying a transient Lambda.ServiceException", async () => {
    const startedAt = Date.now();
    const { executionArn, startDate } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: "order-ok", input: JSON.stringify({ orderId: "ok", amount: 5, transient: 1 }) }),
    );
    expect(executionArn).toBe("arn:aws:states:us-east-1:000000000000:execution:orders:order-ok");
    expect(startDate?.getTime()).toBeGreaterThanOrEqual(startedAt - 1000);

    const done = await waitForEnd(executionArn ?? "");
    expect(done.status).toBe("SUCCEEDED");
    expect(JSON.parse(done.input ?? "")).toEqual({ orderId: "ok", amount: 5, transient: 1 });
    expect(JSON.parse(done.output ?? "")).toEqual({ orderId: "ok", amount: 5, transient: 1, valid: true, sent: { MessageId: "m-1" } });
    expect(done.stopDate?.getTime()).toBeGreaterThanOrEqual(done.startDate?.getTime() ?? Infinity);

    const mine = calls.filter((c) => c.context.executionArn === executionArn);
    // Validate twice (one retry), then Enqueue once, with Parameters already evaluated.
    expect(mine.map((c) => c.context.stateName)).toEqual(["Validate", "Validate", "Enqueue"]);
    expect(mine[0]?.input).toEqual({ FunctionName: "validate", Payload: { orderId: "ok", amount: 5, transient: 1 }, ExecutionId: executionArn });
    expect(mine[2]?.input).toMatchObject({ QueueUrl: "http://127.0.0.1/000000000000/fulfillment", MessageBody: { valid: true } });
    expect(mine[0]?.context.contextObject.Execution).toMatchObject({ Id: executionArn, Name: "order-ok", RoleArn: roleArn });
    expect(mine[0]?.context.contextObject.StateMachine).toEqual({ Id: machineArn, Name: "orders" });

    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const types = events?.map((e) => e.type) ?? [];
    expect(types[0]).toBe("ExecutionStarted");
    expect(types.at(-1)).toBe("ExecutionSucceeded");
    expect(types).toEqual(expect.arrayContaining(["TaskStateEntered", "TaskScheduled", "TaskFailed", "TaskSucceeded", "ChoiceStateEntered", "TaskStateExited"]));
    expect(types.indexOf("TaskStateEntered")).toBeLessThan(types.indexOf("TaskScheduled"));
  });

  it("sends a non-retried task error to the Catch and records it under ResultPath", async () => {
    const executionArn = await start({ orderId: "bad", amount: 5, failWith: "Validation.Failed" });
    const done = await waitForEnd(executionArn);
    expect(done.status).toBe("SUCCEEDED");
    expect(JSON.parse(done.output ?? "")).toEqual({
      orderId: "bad",
      amount: 5,
      failWith: "Validation.Failed",
      error: { Error: "Validation.Failed", Cause: "order bad is broken" },
    });
    expect(calls.filter((c) => c.context.executionArn === executionArn)).toHaveLength(1);
  });

  it("falls through to the Catch once the retrier's MaxAttempts are spent", async () => {
    const executionArn = await start({ orderId: "flaky", amount: 5, transient: 10 });
    const done = await waitForEnd(executionArn);
    expect(JSON.parse(done.output ?? "").error).toEqual({ Error: "Lambda.ServiceException", Cause: "Rate exceeded" });
    // The first attempt and MaxAttempts (2) retries.
    expect(calls.filter((c) => c.context.executionArn === executionArn)).toHaveLength(3);
  });

  it("reports a Fail state as FAILED with its error and cause", async () => {
    const done = await waitForEnd(await start({ orderId: "zero", amount: 0 }));
    expect(done).toMatchObject({ status: "FAILED", error: "OrderInvalid", cause: "validation said no" });
    expect(done.output).toBeUndefined();
  });

  it("fails with States.Runtime when no handler serves a Task resource", async () => {
    const definition = { StartAt: "T", States: { T: { Type: "Task", Resource: "arn:aws:states:::dynamodb:putItem", Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }], End: true }, Caught: { Type: "Succeed" } } };
    const { stateMachineArn } = await sfn.send(new CreateStateMachineCommand({ name: "unbound", definition: JSON.stringify(definition), roleArn }));
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
    const done = await waitForEnd(executionArn ?? "");
    // States.Runtime is not catchable, even by States.ALL (as on AWS).
    expect(done.status).toBe("FAILED");
    expect(done.error).toBe("States.Runtime");
    expect(done.cause).toContain("arn:aws:states:::dynamodb:putItem");
  });

  it("lists executions newest first and filters by status", async () => {
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }));
    const starts = all.executions?.map((e) => e.startDate?.getTime() ?? 0) ?? [];
    // The four executions the tests above started: order-ok, bad, flaky and zero.
    expect(starts).toHaveLength(4);
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    const failed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter: "FAILED" }));
    expect(failed.executions?.map((e) => e.status)).toEqual(["FAILED"]);
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 2 }));
    expect(page.executions).toHaveLength(2);
    const rest = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 100, nextToken: page.nextToken }));
    expect([...(page.executions ?? []), ...(rest.executions ?? [])].map((e) => e.executionArn)).toEqual(all.executions?.map((e) => e.executionArn));
  });

  it("makes StartExecution idempotent by name while the execution runs, as AWS does", async () => {
    const gate = deferred();
    const release = emulator.registerTaskHandler("arn:aws:states:::lambda:invoke", async (input) => {
      await gate.promise;
      return { Payload: { ...(input as { Payload: object }).Payload, valid: true } };
    });
    try {
      const input = JSON.stringify({ orderId: "dup", amount: 1 });
      const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: "order-dup", input }));
      const second = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: "order-dup", input }));
      expect(second.executionArn).toBe(first.executionArn);
      expect(second.startDate?.getTime()).toBe(first.startDate?.getTime());
      const conflicting = sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: "order-dup", input: JSON.stringify({ orderId: "dup", amount: 2 }) }));
      await expect(conflicting).rejects.toBeInstanceOf(ExecutionAlreadyExists);

      gate.resolve();
      expect((await waitForEnd(first.executionArn ?? "")).status).toBe("SUCCEEDED");
      // Once closed, the name is taken even for the same input.
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: "order-dup", input }))).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    } finally {
      gate.resolve();
      release();
    }
  });

  it("stops a running execution as ABORTED and aborts the task's signal", async () => {
    let signal: AbortSignal | undefined;
    const release = emulator.registerTaskHandler("arn:aws:states:::lambda:invoke", (_input, context) => {
      signal = context.signal;
      return new Promise(() => undefined);
    });
    try {
      const executionArn = await start({ orderId: "stop", amount: 1 });
      await expect.poll(() => signal).toBeDefined();
      await sfn.send(new StopExecutionCommand({ executionArn, error: "Operator", cause: "test stop" }));
      const done = await waitForEnd(executionArn);
      expect(done).toMatchObject({ status: "ABORTED", error: "Operator", cause: "test stop" });
      expect(signal?.aborted).toBe(true);
    } finally {
      release();
    }
  });
});

describe("Step Functions emulator: resolveTask option", () => {
  it("asks the resolver for Tasks no handler matches, with the resource ARN and evaluated Parameters", async () => {
    const seen: [string, unknown][] = [];
    const other = await startStepFunctions({
      resolveTask: (resource, parameters) => {
        seen.push([resource, parameters]);
        return resource.endsWith(":echo") ? { echoed: parameters } : NO_TASK_HANDLER;
      },
    });
    const client = new SFNClient(awsClientConfig(other.endpoint, "us-east-1"));
    try {
      const definition = {
        StartAt: "Echo",
        States: { Echo: { Type: "Task", Resource: "arn:aws:lambda:us-east-1:000000000000:function:echo", Parameters: { "name.$": "$$.Execution.Name", "v.$": "$.v" }, End: true } },
      };
      const { stateMachineArn } = await client.send(new CreateStateMachineCommand({ name: "echo", definition: JSON.stringify(definition), roleArn }));
      await client.send(new StartExecutionCommand({ stateMachineArn, name: "e1", input: '{"v":42}' }));
      const executionArn = "arn:aws:states:us-east-1:000000000000:execution:echo:e1";
      const done = await other.waitForExecution(executionArn);
      expect(done.status).toBe("SUCCEEDED");
      expect(JSON.parse(done.output ?? "")).toEqual({ echoed: { name: "e1", v: 42 } });
      expect(seen).toEqual([["arn:aws:lambda:us-east-1:000000000000:function:echo", { name: "e1", v: 42 }]]);
    } finally {
      client.destroy();
      await other.stop();
    }
  });
});

describe("a Task of an aborted execution", () => {
  it("rejects at once, and the Task's own later failure is no unhandled rejection (it ended a cloud stopped while Tasks started)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const controller = new AbortController();
      controller.abort();
      let fail!: (error: Error) => void;
      const task = new Promise<never>((_, reject) => (fail = reject));
      await expect(raceAbort(task, controller.signal)).rejects.toMatchObject({ name: "States.Runtime", message: "Execution aborted" });
      fail(new Error("function dofs-dev-orders-store is stopping"));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("a Task's TimeoutSeconds", () => {
  /** One Task of 1 s; a timeout is caught (and, as on AWS, not retried by a States.TaskFailed retrier). */
  const timedDefinition = (resource: string) => ({
    StartAt: "Slow",
    States: {
      Slow: {
        Type: "Task",
        Resource: resource,
        TimeoutSeconds: 1,
        Retry: [{ ErrorEquals: ["States.TaskFailed"], MaxAttempts: 2 }],
        Catch: [{ ErrorEquals: ["States.Timeout"], ResultPath: "$.error", Next: "TimedOut" }],
        End: true,
      },
      TimedOut: { Type: "Pass", End: true },
    },
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function runTimed(name: string, resource: string, input: { waitMs: number; runMs: number }) {
    const created = await sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(timedDefinition(resource)), roleArn }));
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: created.stateMachineArn, input: JSON.stringify(input) }));
    const ended = await waitForEnd(executionArn ?? "");
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    return { output: JSON.parse(ended.output ?? "null") as Record<string, unknown>, taskEvents: (events ?? []).map((e) => e.type).filter((t) => t?.startsWith("Task") && !t.startsWith("TaskState")) };
  }

  it("counts from dispatch by default, from startClock for a handler that starts its own clock (a Lambda waiting for a local slot)", async () => {
    let dispatchCalls = 0;
    emulator.registerTaskHandler("arn:aws:states:::test:clock-at-dispatch", async (input) => {
      dispatchCalls += 1;
      const { waitMs, runMs } = input as { waitMs: number; runMs: number };
      await sleep(waitMs + runMs);
      return { ran: true };
    });
    emulator.registerTaskHandler(
      "arn:aws:states:::test:own-clock",
      async (input, context) => {
        const { waitMs, runMs } = input as { waitMs: number; runMs: number };
        await sleep(waitMs); // waiting for a slot: not the Task's run time
        context.startClock();
        context.startClock(); // a second call changes nothing
        await sleep(runMs);
        return { ran: true };
      },
      { startsClock: true },
    );
    const [atDispatch, ownClock, ownClockTooSlow] = await Promise.all([
      runTimed("clock-at-dispatch", "arn:aws:states:::test:clock-at-dispatch", { waitMs: 1200, runMs: 200 }),
      runTimed("own-clock", "arn:aws:states:::test:own-clock", { waitMs: 1200, runMs: 200 }),
      runTimed("own-clock-too-slow", "arn:aws:states:::test:own-clock", { waitMs: 0, runMs: 1500 }),
    ]);
    // 1.4 s from dispatch: timed out, caught as States.Timeout, and not retried (one attempt).
    expect(atDispatch.output).toMatchObject({ error: { Error: "States.Timeout" } });
    expect(atDispatch.taskEvents).toEqual(["TaskScheduled", "TaskStarted", "TaskTimedOut"]);
    expect(dispatchCalls).toBe(1);
    // 0.2 s from its own start: succeeded.
    expect(ownClock.output).toEqual({ ran: true });
    expect(ownClock.taskEvents).toEqual(["TaskScheduled", "TaskStarted", "TaskSucceeded"]);
    // 1.5 s from its own start: timed out.
    expect(ownClockTooSlow.output).toMatchObject({ error: { Error: "States.Timeout" } });
    expect(ownClockTooSlow.taskEvents).toEqual(["TaskScheduled", "TaskStarted", "TaskTimedOut"]);
  });
});
