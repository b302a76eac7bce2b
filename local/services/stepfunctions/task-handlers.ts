/**
 * Task handlers: the engine never calls AWS itself, so every Task state of an execution is run by
 * a handler the local cloud registers for its `Resource` (`arn:aws:states:::lambda:invoke`,
 * `arn:aws:states:::sqs:sendMessage`, ...), else by the `resolveTask` fallback. This module is
 * the contract a handler implements and the table that picks the handler for a Task.
 */
import { runtimeError } from "./errors";

/** The context object (`$$`) of an execution, as far as the local cloud fills it. */
export interface ExecutionContextObject {
  Execution: { Id: string; Name: string; StartTime: string; Input: unknown; RoleArn: string };
  StateMachine: { Id: string; Name: string };
  State: { Name: string; EnteredTime: string };
}

/** What a Task handler is told besides its input. */
export interface TaskContext {
  /** The Task state's `Resource`, e.g. `arn:aws:states:::lambda:invoke`. */
  readonly resource: string;
  /** Name of the Task state. */
  readonly stateName: string;
  /** ARN of the execution running the Task. */
  readonly executionArn: string;
  /** ARN of the state machine. */
  readonly stateMachineArn: string;
  /** Region of the emulator (for ARNs the handler builds). */
  readonly region: string;
  /** The execution's context object, as `$$` reads in the definition. */
  readonly contextObject: ExecutionContextObject;
  /** Aborted when the execution is stopped (StopExecution or emulator shutdown). */
  readonly signal: AbortSignal;
  /**
   * Starts the Task's `TimeoutSeconds` clock (once; later calls do nothing). The emulator starts it
   * as it dispatches the Task, unless the handler was registered with `startsClock: true` (see
   * {@link TaskHandlerOptions}): then the handler calls this when the work begins.
   */
  readonly startClock: () => void;
}

/** How a registered handler runs its Tasks. */
export interface TaskHandlerOptions {
  /**
   * The handler calls `context.startClock()` itself when the Task's work begins, rather than the
   * clock starting at dispatch: a Lambda invocation that first waits for a slot of the local
   * account, a wait that stands in for AWS's throttle-and-retry (each retry is a fresh attempt
   * with its own timeout), not for time spent running. @default false
   */
  startsClock?: boolean;
}

/**
 * Runs one Task. It receives the state's effective input (after `InputPath` and `Parameters`
 * were evaluated) and returns the Task's result (before `ResultSelector`/`ResultPath`). To fail
 * the Task, throw: the error's `name` is the States error that `Retry`/`Catch` match with
 * `ErrorEquals` (e.g. `"Lambda.ServiceException"`), its `message` the cause; see
 * {@link TaskFailedError}.
 */
export type TaskHandler = (input: unknown, context: TaskContext) => Promise<unknown> | unknown;

/**
 * Fallback for Tasks no registered handler matches; same contract as {@link TaskHandler}, with
 * the resource ARN first. Return {@link NO_TASK_HANDLER} to decline (the execution then fails
 * with `States.Runtime`).
 */
export type TaskResolver = (resourceArn: string, parameters: unknown, context: TaskContext) => Promise<unknown> | unknown;

/** Returned by a {@link TaskResolver} that has no handler for a resource. */
export const NO_TASK_HANDLER: unique symbol = Symbol("NO_TASK_HANDLER");

/**
 * A Task failure with a States error name, for handlers: `throw new TaskFailedError(
 * "Lambda.ServiceException", "Rate exceeded")` is matched by `"ErrorEquals":
 * ["Lambda.ServiceException"]`. Any thrown `Error` works the same way through its `name`.
 */
export class TaskFailedError extends Error {
  /**
   * @param error - The States error name (`Error` in the execution's failure and in Catch output).
   * @param cause - Human-readable cause (`Cause`), often a JSON string on AWS.
   */
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

interface TaskHandlerEntry {
  matches(resource: string): boolean;
  handler: TaskHandler;
  startsClock: boolean;
}

/** The registered handlers of one emulator, and its fallback. */
export class TaskHandlers {
  private readonly exactHandlers = new Map<string, TaskHandlerEntry>();
  private readonly patternHandlers: TaskHandlerEntry[] = [];

  /** @param resolveTask - Asked for Tasks no registered handler matches. */
  constructor(private readonly resolveTask?: TaskResolver) {}

  /**
   * Routes Tasks whose `Resource` matches to a handler. Exact ARNs win over patterns; among
   * patterns the latest registration wins.
   *
   * @param resource - An exact Resource ARN, a pattern with `*` wildcards
   *   (`arn:aws:lambda:*:*:function:*`), or a RegExp.
   * @param handler - Runs the Task; see {@link TaskHandler}.
   * @param options - See {@link TaskHandlerOptions}. @default the clock starts at dispatch
   * @returns A function that removes this registration.
   */
  register(resource: string | RegExp, handler: TaskHandler, options: TaskHandlerOptions = {}): () => void {
    const startsClock = options.startsClock ?? false;
    if (typeof resource === "string" && !resource.includes("*")) {
      const entry: TaskHandlerEntry = { matches: (r) => r === resource, handler, startsClock };
      this.exactHandlers.set(resource, entry);
      return () => {
        if (this.exactHandlers.get(resource) === entry) this.exactHandlers.delete(resource);
      };
    }
    const pattern = typeof resource === "string" ? globToRegExp(resource) : resource;
    const entry: TaskHandlerEntry = { matches: (r) => pattern.test(r), handler, startsClock };
    this.patternHandlers.unshift(entry);
    return () => {
      const index = this.patternHandlers.indexOf(entry);
      if (index >= 0) this.patternHandlers.splice(index, 1);
    };
  }

  /**
   * Runs a Task with its handler, else the resolver.
   * @throws A `States.Runtime` error (neither retried nor caught) when nothing handles the resource.
   */
  async dispatch(resource: string, input: unknown, context: TaskContext): Promise<unknown> {
    const entry = this.exactHandlers.get(resource) ?? this.patternHandlers.find((h) => h.matches(resource));
    if (!entry?.startsClock) context.startClock();
    if (entry) return entry.handler(input, context);
    if (this.resolveTask) {
      const result = await this.resolveTask(resource, input, context);
      if (result !== NO_TASK_HANDLER) return result;
    }
    throw runtimeError(`No local handler for Task resource '${resource}' (state '${context.stateName}'): register one with registerTaskHandler`);
  }
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}
