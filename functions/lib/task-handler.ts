/**
 * The runtime of Step Functions task functions (`lambda:invoke` Tasks).
 *
 * The Task's input is parsed with the definition's schema before any work is done; the handler
 * gets it typed, with typed links and settings, and its return value becomes the Task's result.
 * Failures surface to the state machine by error *name*, which is what `Retry`/`Catch` match with
 * `ErrorEquals`:
 * - input that does not match the schema: `ValidationError` (retrying cannot fix it, so a
 *   definition should not retry it: the order workflow lists it in `PERMANENT_TASK_ERRORS` with
 *   `MaxAttempts: 0`, ahead of its catch-all retrier);
 * - a `TaskFailure` thrown by the handler: the name it was given (e.g. `OrderConflict`); a name
 *   meant to be permanent must be added to the workflow's `PERMANENT_TASK_ERRORS`, or its
 *   `States.TaskFailed` retrier retries it like any other;
 * - anything else: its own name (`Error`, `TypeError`, an SDK exception's name such as
 *   `ProvisionedThroughputExceededException`), treated as transient: the workflow retries it
 *   (`States.TaskFailed` matches every name but `States.Timeout`).
 *
 * Each invocation is a SERVER span named after the function (`traceTaskInvocation`), child of the
 * context in the input's `_trace` field (the state machine passes it to every Task), with the
 * input's business ids; a failure is recorded on it. Spans are flushed before the result returns.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import * as z from "./zod-mini";
import { readSettings } from "./define";
import type { FunctionDefinition, TaskTrigger } from "./define";
import type { LinkMap, ResolvedLinks } from "./links";
import { resolveLinks } from "./links";
import { createLogger } from "./observability";
import { traceTaskInvocation } from "./telemetry/invocation";
import { describeIssues } from "./validation-issues";

/**
 * A failure the state machine should see under a name of its own, so its `Retry`/`Catch` can
 * treat it apart from transient errors.
 */
export class TaskFailure extends Error {
  /**
   * @param errorName - the States error name (`Error` of the failed Task), e.g. `OrderConflict`.
   * @param message - the cause.
   */
  constructor(errorName: string, message: string) {
    super(message);
    this.name = errorName;
  }
}

/** The error name a Task sees when its input does not match the schema. */
export const TASK_VALIDATION_ERROR = "ValidationError";

/** What the task processor receives besides its parsed input. */
export interface TaskContext<L extends LinkMap, S> {
  links: ResolvedLinks<L>;
  settings: S;
  logger: Logger;
  /** The Lambda context (request id, remaining time). */
  lambdaContext: Context;
}

/**
 * Implements a task-triggered definition.
 *
 * @param definition - the function's definition (its trigger must be `task`).
 * @param run - handles the parsed input; its result is the Task's result (must be JSON).
 * @returns the Lambda handler.
 */
export function taskHandler<I extends z.$ZodType, L extends LinkMap, S extends z.$ZodType, O>(
  definition: FunctionDefinition<TaskTrigger<I>, L, S>,
  run: (input: z.output<I>, context: TaskContext<L, z.output<S>>) => Promise<O>,
): (event: unknown, context: Context) => Promise<O> {
  const logger = createLogger(definition.name);
  const links = resolveLinks(definition.name, definition.links as L);
  let settings: z.output<S> | undefined;

  /** One invocation, start to end: the single place where telemetry wraps a task function. */
  const invoke = async (event: unknown, context: Context): Promise<O> => {
    settings ??= readSettings(definition);
    logger.resetKeys();
    logger.addContext(context);
    const parsed = z.safeParse(definition.trigger.input, event);
    if (!parsed.success) {
      const reason = describeIssues(parsed.error);
      logger.error("Task input does not match the schema", { reason });
      throw new TaskFailure(TASK_VALIDATION_ERROR, `${definition.name}: invalid input: ${reason}`);
    }
    try {
      return await run(parsed.data, { links, settings, logger, lambdaContext: context });
    } catch (error) {
      logger.error("Task failed", { error: error instanceof Error ? { name: error.name, message: error.message } : String(error) });
      throw error;
    }
  };
  return (event, context) => traceTaskInvocation(definition.name, event, context, () => invoke(event, context));
}
