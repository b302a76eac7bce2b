/**
 * The two kinds of errors of the Step Functions service. API errors ({@link StepFunctionsApiError})
 * answer a request with the AWS JSON protocol's `__type` and status. States errors end a Task or an
 * execution: the engine matches `Retry`/`Catch` `ErrorEquals` against their `name`, and an
 * execution that fails reports that name and message as its `error` and `cause`.
 */
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
