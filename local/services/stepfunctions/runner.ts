/**
 * The execution runner: runs an execution's definition on aws-local-stepfunctions, in the
 * background as AWS does, with every Task state overridden by a local handler (see
 * task-handlers.ts), and records the outcome and history in the store.
 *
 * Node 22 has `Promise.withResolvers` (the engine needs it), so no polyfill is installed here.
 */
import { asStatesError, classifyFailure, statesTimeoutError } from "./errors";
import { recordEngineEvents, recordExecutionClosed, taskEventRecorder } from "./history";
import type { ExecutionRecord, ExecutionStatus, ExecutionStore, MachineRecord } from "./store";
import type { TaskContext, TaskHandlers } from "./task-handlers";
import { MAX_PAYLOAD_BYTES } from "./wire";

/**
 * Per-state timing overrides, so tests need not wait for real retry intervals and Wait states:
 * one number for every state, or a map from state name to a value.
 */
export interface TimingOverrides {
  /**
   * Milliseconds to pause before each retry instead of `IntervalSeconds`/`BackoffRate`. A map
   * value may be an array with one entry per retrier of that state (-1 keeps the computed pause).
   * @default undefined (real intervals)
   */
  retryIntervalMs?: number | Record<string, number | number[]>;
  /**
   * Milliseconds every Wait state pauses instead of its `Seconds`/`Timestamp`.
   * @default undefined (real waits)
   */
  waitMs?: number | Record<string, number>;
}

/** How an execution ended, before it is recorded. */
type Outcome = { output?: string; error?: string; cause?: string };

/** Starts executions and sees them to their end. */
export class ExecutionRunner {
  constructor(
    private readonly store: ExecutionStore,
    private readonly tasks: TaskHandlers,
    private readonly region: string,
    private readonly timing: TimingOverrides,
  ) {}

  /** Records the execution and runs it in the background; returns at once, as AWS does. */
  launch(machine: MachineRecord, arn: string, name: string, input: string, parsedInput: unknown): ExecutionRecord {
    const startDate = new Date();
    const contextBase = {
      Execution: { Id: arn, Name: name, StartTime: startDate.toISOString(), Input: parsedInput, RoleArn: machine.roleArn },
      StateMachine: { Id: machine.arn, Name: machine.name },
    };
    const execution: ExecutionRecord = {
      executionArn: arn,
      stateMachineArn: machine.arn,
      name,
      status: "RUNNING",
      startDate,
      input,
      seq: this.store.nextSequence(),
      roleArn: machine.roleArn,
      abort: new AbortController(),
      history: [{ timestamp: startDate, type: "ExecutionStarted", details: { executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn: machine.roleArn } } }],
      done: Promise.resolve(),
    };
    this.store.executions.set(arn, execution);

    const taskHandlers = Object.fromEntries(
      [...machine.taskResources].map(([stateName, resource]) => [
        stateName,
        (taskInput: unknown) =>
          this.runTask(execution, resource, taskInput, machine.taskTimeouts.get(stateName), {
            resource,
            stateName,
            executionArn: arn,
            stateMachineArn: machine.arn,
            region: this.region,
            contextObject: { ...contextBase, State: { Name: stateName, EnteredTime: new Date().toISOString() } },
            signal: execution.abort.signal,
          }),
      ]),
    );
    const run = machine.engine.run(parsedInput as never, {
      context: contextBase as never,
      overrides: {
        taskResourceLocalHandlers: taskHandlers as never,
        retryIntervalOverrides: perState(this.timing.retryIntervalMs, machine.retryableStates),
        waitTimeOverrides: perState(this.timing.waitMs, machine.waitStates),
      },
    });
    execution.abort.signal.addEventListener("abort", () => run.abort(), { once: true });
    const logging = recordEngineEvents(run.eventLogs, execution);
    execution.done = (async () => {
      let outcome: [ExecutionStatus, Outcome];
      try {
        outcome = ["SUCCEEDED", { output: JSON.stringify((await run.result) ?? null) }];
      } catch (error) {
        outcome = classifyFailure(error);
      }
      // Let the engine's last events (StateExited) land in the history before the closing event,
      // without ever hanging on the event stream.
      await Promise.race([logging, new Promise((resolve) => setImmediate(resolve))]);
      this.finish(execution, ...outcome);
    })();
    return execution;
  }

  private finish(execution: ExecutionRecord, status: ExecutionStatus, result: Outcome): void {
    execution.status = status;
    execution.stopDate = new Date();
    if (result.output !== undefined) {
      if (Buffer.byteLength(result.output) > MAX_PAYLOAD_BYTES) {
        return this.finish(execution, "FAILED", { error: "States.DataLimitExceeded", cause: "The state/task returned a result with a size exceeding the maximum number of bytes service limit." });
      }
      execution.output = result.output;
    }
    // StopExecution's own error/cause (already set) win over the engine's abort error.
    if (status !== "ABORTED" || execution.error === undefined) execution.error = result.error;
    if (status !== "ABORTED" || execution.cause === undefined) execution.cause = result.cause;
    recordExecutionClosed(execution, status, execution.stopDate);
  }

  /**
   * Runs one Task with its handler, within its `TimeoutSeconds` (counted from when the handler
   * starts the clock: `TaskContext.startClock`), and records its events.
   */
  private async runTask(execution: ExecutionRecord, resource: string, input: unknown, timeoutSeconds: number | undefined, context: Omit<TaskContext, "startClock">): Promise<unknown> {
    // Let the engine's event stream (StateEntered) be recorded before this Task's own events: the
    // engine calls us in the same tick it queues that event.
    await new Promise((resolve) => setImmediate(resolve));
    const record = taskEventRecorder(execution, resource);
    record("TaskScheduled", "taskScheduledEventDetails", { region: this.region, parameters: JSON.stringify(input ?? null) });
    record("TaskStarted", "taskStartedEventDetails", {});
    const clock = taskClock(timeoutSeconds);
    try {
      // A handler that never settles must not outlive a stopped execution: raceAbort.
      const output = await raceAbort(Promise.race([this.tasks.dispatch(resource, input, { ...context, startClock: clock.start }), clock.expired]), context.signal);
      record("TaskSucceeded", "taskSucceededEventDetails", { output: JSON.stringify(output ?? null) });
      return output ?? null;
    } catch (thrown) {
      const error = asStatesError(thrown);
      if (thrown === clock.error) record("TaskTimedOut", "taskTimedOutEventDetails", { error: error.name, cause: error.message });
      else record("TaskFailed", "taskFailedEventDetails", { error: error.name, cause: error.message });
      throw error;
    } finally {
      clock.stop();
    }
  }
}

/**
 * A Task's `TimeoutSeconds`: `expired` rejects with the engine's `States.Timeout` once `start` was
 * called and the time has passed; with no timeout, never (definition.ts leaves out timeouts past
 * what a Node timer can arm).
 */
function taskClock(timeoutSeconds: number | undefined): { start: () => void; stop: () => void; expired: Promise<never>; error?: Error } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let reject: (error: Error) => void = () => undefined;
  const expired = new Promise<never>((_, rejectExpired) => (reject = rejectExpired));
  const clock = {
    expired,
    error: undefined as Error | undefined,
    start: (): void => {
      if (timer || stopped || timeoutSeconds === undefined) return;
      timer = setTimeout(() => {
        void statesTimeoutError().then((error) => {
          clock.error = error;
          reject(error);
        });
      }, timeoutSeconds * 1000);
    },
    stop: (): void => {
      stopped = true;
      clearTimeout(timer);
    },
  };
  return clock;
}

/** Settles with the task, or rejects once the execution is aborted (at once when it already is). */
export function raceAbort<T>(task: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = (): Error => Object.assign(new Error("Execution aborted"), { name: "States.Runtime" });
  if (signal.aborted) {
    // Nobody awaits the task now: its own failure (a function host that is stopping) must not
    // become an unhandled rejection, which ended a cloud stopped while Tasks were starting.
    task.catch(() => undefined);
    return Promise.reject(aborted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    task.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Turns a global override (one number) into the engine's per-state map. */
function perState<V>(value: number | Record<string, V> | undefined, states: string[]): Record<string, number | V> | undefined {
  if (typeof value === "number") return Object.fromEntries(states.map((s) => [s, value]));
  return value;
}
