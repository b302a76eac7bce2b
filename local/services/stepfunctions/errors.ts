/**
 * The two kinds of errors of the Step Functions service. API errors ({@link StepFunctionsApiError})
 * answer a request with the AWS JSON protocol's `__type` and status. States errors end a Task or an
 * execution: the engine matches `Retry`/`Catch` `ErrorEquals` against their `name`, and an
 * execution that fails reports that name and message as its `error` and `cause`.
 */
import { StateMachine as AslEngine } from "aws-local-stepfunctions";
import type { ExecutionStatus } from "./store";

/** A Step Functions API error: `__type` and HTTP status of the AWS JSON protocol. */
export class StepFunctionsApiError extends Error {
  /**
   * @param type - The AWS error code, e.g. `ExecutionDoesNotExist`.
   * @param message - The message the SDK surfaces.
   * @param status - HTTP status; AWS answers client errors with 400.
   * @default status 400
   */
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** Maps how the engine's run ended to an execution status, error and cause. */
export function classifyFailure(error: unknown): [ExecutionStatus, { error?: string; cause?: string }] {
  if (error instanceof Error && error.name === "ExecutionAbortedError") return ["ABORTED", {}];
  if (error instanceof Error && error.name === "ExecutionTimeoutError") {
    return ["TIMED_OUT", { error: "States.Timeout", cause: "The execution timed out (TimeoutSeconds)" }];
  }
  // ExecutionError wraps the States error that ended the run in `cause`.
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const statesError = asStatesError(inner);
  return ["FAILED", { error: statesError.name, cause: statesError.message }];
}

/** The engine matches `ErrorEquals` against `name`; make sure whatever was thrown has one. */
export function asStatesError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return Object.assign(new Error(typeof thrown === "string" ? thrown : JSON.stringify(thrown)), { name: "Error" });
}

/**
 * A `States.Runtime` error: like AWS, neither Retry nor Catch may match it (the engine reads
 * `isRetryable`/`isCatchable` from the error).
 */
export function runtimeError(message: string): Error {
  return Object.assign(new Error(message), { name: "States.Runtime", isRetryable: false, isCatchable: false });
}

let statesTimeoutClass: Promise<new () => Error> | undefined;

/**
 * A Task's `States.Timeout`, as the engine makes it. The engine tells a Task's timeout from its
 * other failures by class, not name (`States.TaskFailed` in `ErrorEquals` matches every Task error
 * except a timeout) and does not export that class, so the first call learns it from the engine:
 * one run of a one-state machine whose Task times out after 1 ms.
 * @throws Error when the engine no longer fails such a run with `States.Timeout` (an upgrade changed it).
 */
export async function statesTimeoutError(): Promise<Error> {
  statesTimeoutClass ??= (async () => {
    const definition = { StartAt: "Probe", States: { Probe: { Type: "Task", Resource: "arn:aws:states:::probe", TimeoutSeconds: 0.001, End: true } } };
    const probe = new AslEngine(definition as never, { validationOptions: { noValidate: true } });
    const neverSettles = (): Promise<never> => new Promise<never>(() => undefined);
    try {
      await probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: neverSettles } } }).result;
    } catch (error) {
      const cause = error instanceof Error ? error.cause : undefined;
      if (cause instanceof Error && cause.name === "States.Timeout") return cause.constructor as new () => Error;
    }
    throw new Error("aws-local-stepfunctions did not fail a timed-out Task with States.Timeout: the local Task timeout needs its error class");
  })();
  return new (await statesTimeoutClass)();
}
