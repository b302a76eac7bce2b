/**
 * The order workflow's Amazon States Language definition, built from TypeScript objects (never a
 * hand-edited JSON file) so tests can validate it with asl-validator and run it with
 * aws-local-stepfunctions, and the component can fill in the deployed ARNs.
 *
 * ```
 * CheckTraceContext ─(no _trace)─▶ NoTraceContext ─┐
 *    └──────────────────────────────────────────────┴▶ Validate
 * Validate ──accepted──▶ StorePending ──▶ SendToFulfillment ──▶ Accepted (Succeed)
 *    │       └─rejected─▶ StoreRejected ─▶ Rejected (Succeed)
 *    └─(any step fails after its retries)─▶ RecordFailure ─▶ ProcessingFailed (Fail)
 * ```
 *
 * - Validate and the two store steps are `lambda:invoke` Tasks with three retriers; the first whose
 *   `ErrorEquals` matches the error applies (each keeps its own attempt count):
 *   1. `ValidationError` (the Task's input does not match its schema: `functions/lib/task-handler.ts`),
 *      `MaxAttempts: 0`: bad input stays bad, so it is caught at once;
 *   2. Lambda's service errors (`Lambda.ServiceException`, throttling, SDK client): 3 retries;
 *   3. `States.TaskFailed`, i.e. any other error of the Task except `States.Timeout`: an error thrown
 *      by the handler reaches Step Functions under its own name (`Error`, an SDK exception such as
 *      `ProvisionedThroughputExceededException`, a network error), so a transient DynamoDB error in a
 *      store step is retried (3 times) too; the store writes are idempotent, so a retry is safe.
 *   A Task that outlives `TimeoutSeconds` (`States.Timeout`) is not retried.
 * - SendToFulfillment is the `sqs:sendMessage` service integration: no Lambda for that hop. It is
 *   retried on any task failure (throttling, KMS), then caught; it has its own `TimeoutSeconds`
 *   (`SEND_TIMEOUT_SECONDS`), so no state of the workflow can run unbounded.
 * - The execution's own `TimeoutSeconds` is derived, not chosen: `worstCaseSeconds` walks the
 *   definition and adds up, along its longest path, each Task's attempts (1 + every retrier's
 *   `MaxAttempts`) × its `TimeoutSeconds` plus every retry's longest backoff. So the slowest
 *   failure path (a Task retried to the end, then RecordFailure retried to the end) still reaches
 *   RecordFailure's write before the execution times out, however long `functionTimeoutSeconds`
 *   is. EXPRESS workflows run at most 300 s (`EXPRESS_MAX_SECONDS`): the settings schema refuses an
 *   EXPRESS stack whose derived timeout would exceed it.
 * - Every caught failure goes to RecordFailure, which marks the order `FAILED` with its failed row
 *   (creating the order as `FAILED` if it was never stored); the execution then fails, so operators
 *   see it too. RecordFailure is idempotent and retries any error (timeouts included) 5 times over
 *   about 31 s (1, 2, 4, 8, 16 s), except `ValidationError`. So a client polling `GET /order/{id}`
 *   sees a final status unless RecordFailure fails through all of that (e.g. DynamoDB unavailable
 *   for half a minute) or the execution's own timeout stops it first: then the execution fails
 *   with RecordFailure's error, or times out (the original error is in its history), and the
 *   order stays `PENDING`,
 *   or, if it was never stored, is not found (404): an operator finds it among failed executions.
 * - The fulfillment outcome is not part of the workflow: it happens after the queue (the execution
 *   succeeds as soon as the order is queued, as in the seed's report).
 * - Trace context: the API puts the W3C context in the input's `_trace` field. No Task result
 *   replaces the state (each has a `ResultPath`), so `_trace` is passed to every Lambda Task's
 *   payload (their spans are children of the API's) and into the fulfillment message body (the SQS
 *   runtime reads `_trace` from a body when the message has no `traceparent` attribute). A JSONPath
 *   on a missing field fails the state, so an execution started without `_trace` (by hand, from the
 *   console) first gets an empty one (`NoTraceContext`): its steps then start traces of their own.
 */

/** Lambda's transient service errors, as the `lambda:invoke` integration names them. */
export const LAMBDA_TRANSIENT_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "Lambda.ClientExecutionTimeoutException",
];

/** Names of the workflow's states (tests bind local handlers by these). */
export const WORKFLOW_STATES = {
  checkTraceContext: "CheckTraceContext",
  noTraceContext: "NoTraceContext",
  validate: "Validate",
  checkVerdict: "CheckVerdict",
  storePending: "StorePending",
  storeRejected: "StoreRejected",
  send: "SendToFulfillment",
  accepted: "Accepted",
  rejected: "Rejected",
  recordFailure: "RecordFailure",
  failed: "ProcessingFailed",
} as const;

export interface OrderWorkflowArgs {
  /** ARN of the validator function (`orders-validate`). */
  validateFunctionArn: string;
  /** ARN of the store function (`orders-store`). */
  storeFunctionArn: string;
  /** URL of the fulfillment queue. */
  fulfillmentQueueUrl: string;
  /**
   * Seconds a Lambda Task may run before it fails with `States.Timeout`: a little more than the
   * function's own timeout, so Lambda reports its timeout first (`taskTimeoutFor`).
   * @default 35
   */
  taskTimeoutSeconds?: number;
  /**
   * Seconds the whole execution may run.
   * @default the definition's worst case (`worstCaseSeconds`), so no retry path outlives it
   */
  executionTimeoutSeconds?: number;
}

/** Seconds a Lambda Task waits beyond its function's own timeout, so that Lambda reports first. */
export const TASK_TIMEOUT_MARGIN_SECONDS = 5;
/** `TimeoutSeconds` of SendToFulfillment (an SQS SendMessage answers in milliseconds). */
export const SEND_TIMEOUT_SECONDS = 10;
/** The longest an EXPRESS workflow execution may run (AWS's limit). */
export const EXPRESS_MAX_SECONDS = 300;

/** The Task timeout of a Lambda Task whose function times out after `functionTimeoutSeconds`. */
export function taskTimeoutFor(functionTimeoutSeconds: number): number {
  return functionTimeoutSeconds + TASK_TIMEOUT_MARGIN_SECONDS;
}

type State = Record<string, unknown>;

/** The order fields every store call passes on (the execution input, without the step results). */
const ORDER_FIELDS = {
  "order_id.$": "$.order_id",
  "customer_id.$": "$.customer_id",
  "items.$": "$.items",
  "received_at.$": "$.received_at",
};

/** The trace context, passed to every Task (always present: see `NoTraceContext`). */
const TRACE_FIELD = { "_trace.$": "$._trace" };

/**
 * Error names the task handlers raise on purpose for failures a retry cannot fix: only
 * `ValidationError` (input that does not match the Task's schema; `TASK_VALIDATION_ERROR` in
 * `functions/lib/task-handler.ts`). Anything else a handler throws is treated as transient.
 */
export const PERMANENT_TASK_ERRORS = ["ValidationError"];

/** Never retry a permanent error (a retrier with `MaxAttempts: 0` that matches stops the search). */
const noRetryOfPermanentErrors = { ErrorEquals: PERMANENT_TASK_ERRORS, MaxAttempts: 0 };

/**
 * Retriers of the Lambda Tasks, in order (the first whose `ErrorEquals` matches applies): permanent
 * errors never; Lambda's service errors; then any other Task failure (`States.TaskFailed` matches
 * every error name except `States.Timeout`), which is how an error thrown by a handler arrives.
 */
export const LAMBDA_TASK_RETRY = [
  noRetryOfPermanentErrors,
  { ErrorEquals: LAMBDA_TRANSIENT_ERRORS, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" },
  { ErrorEquals: ["States.TaskFailed"], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" },
];

/**
 * RecordFailure's retriers: it is the last step that can give the order a final status and it is
 * idempotent, so it retries any error (`States.ALL`, timeouts included) 5 times, 1 s doubling (about
 * 31 s in all), except a permanent one.
 */
export const RECORD_FAILURE_RETRY = [
  noRetryOfPermanentErrors,
  { ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 5, BackoffRate: 2 },
];

const catchToRecordFailure = [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: WORKFLOW_STATES.recordFailure }];

function invoke(functionArn: string, payload: unknown, timeoutSeconds: number): State {
  return {
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: functionArn, Payload: payload },
    TimeoutSeconds: timeoutSeconds,
    Retry: LAMBDA_TASK_RETRY,
  };
}

/**
 * Builds the definition.
 * @returns the ASL document as an object (`JSON.stringify` it for the state machine).
 */
export function orderWorkflowDefinition(args: OrderWorkflowArgs): { Comment: string; StartAt: string; TimeoutSeconds: number; States: Record<string, State> } {
  const taskTimeout = args.taskTimeoutSeconds ?? taskTimeoutFor(30);
  const S = WORKFLOW_STATES;
  const store = (status: "PENDING" | "REJECTED", next: string): State => ({
    ...invoke(args.storeFunctionArn, { action: "store", status, "reason.$": "$.validation.reason", order: ORDER_FIELDS, ...TRACE_FIELD }, taskTimeout),
    ResultPath: null, // keep the order and the verdict as the state's data
    Catch: catchToRecordFailure,
    Next: next,
  });
  const definition = {
    Comment: "DOFS order workflow: validate, store, queue for fulfillment",
    StartAt: S.checkTraceContext,
    TimeoutSeconds: 0,
    States: {
      [S.checkTraceContext]: {
        Type: "Choice",
        Choices: [{ Variable: "$._trace", IsPresent: true, Next: S.validate }],
        Default: S.noTraceContext,
      },
      [S.noTraceContext]: { Type: "Pass", Result: {}, ResultPath: "$._trace", Next: S.validate },
      [S.validate]: {
        ...invoke(args.validateFunctionArn, { ...ORDER_FIELDS, ...TRACE_FIELD }, taskTimeout),
        ResultSelector: { "accepted.$": "$.Payload.accepted", "reason.$": "$.Payload.reason" },
        ResultPath: "$.validation",
        Catch: catchToRecordFailure,
        Next: S.checkVerdict,
      },
      [S.checkVerdict]: {
        Type: "Choice",
        Choices: [{ Variable: "$.validation.accepted", BooleanEquals: true, Next: S.storePending }],
        Default: S.storeRejected,
      },
      [S.storePending]: store("PENDING", S.send),
      [S.storeRejected]: store("REJECTED", S.rejected),
      [S.send]: {
        Type: "Task",
        Resource: "arn:aws:states:::sqs:sendMessage",
        Parameters: {
          QueueUrl: args.fulfillmentQueueUrl,
          MessageBody: { "order_id.$": "$.order_id", "customer_id.$": "$.customer_id", ...TRACE_FIELD },
        },
        ResultSelector: { "message_id.$": "$.MessageId" },
        ResultPath: "$.fulfillment",
        TimeoutSeconds: SEND_TIMEOUT_SECONDS,
        Retry: [{ ErrorEquals: ["States.TaskFailed"], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" }],
        Catch: catchToRecordFailure,
        Next: S.accepted,
      },
      [S.accepted]: { Type: "Succeed" },
      [S.rejected]: { Type: "Succeed" },
      [S.recordFailure]: {
        ...invoke(
          args.storeFunctionArn,
          { action: "fail", "reason.$": "States.Format('Order processing failed ({}): {}', $.error.Error, $.error.Cause)", order: ORDER_FIELDS, ...TRACE_FIELD },
          taskTimeout,
        ),
        Retry: RECORD_FAILURE_RETRY,
        ResultPath: null,
        Next: S.failed,
      },
      [S.failed]: { Type: "Fail", Error: "OrderProcessingFailed", Cause: "A workflow step failed after its retries; the order was marked FAILED" },
    } as Record<string, State>,
  };
  definition.TimeoutSeconds = args.executionTimeoutSeconds ?? worstCaseSeconds(definition);
  return definition;
}

/**
 * The order workflow's derived execution timeout for a function timeout (what the state machine
 * gets, and what the settings schema holds against EXPRESS's 300 s).
 */
export function orderWorkflowTimeoutSeconds(functionTimeoutSeconds: number): number {
  const placeholder = "arn:aws:lambda:us-east-1:000000000000:function:placeholder";
  return orderWorkflowDefinition({
    validateFunctionArn: placeholder,
    storeFunctionArn: placeholder,
    fulfillmentQueueUrl: "https://sqs.us-east-1.amazonaws.com/000000000000/placeholder",
    taskTimeoutSeconds: taskTimeoutFor(functionTimeoutSeconds),
  }).TimeoutSeconds;
}

/** A retrier as ASL defines it (AWS's defaults apply to what it leaves out). */
interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

/** Longest total pause of one retrier: each retry waits at most `IntervalSeconds × BackoffRate^k` (jitter only shortens it). */
export function retrierBackoffSeconds(retrier: Retrier): number {
  const attempts = retrier.MaxAttempts ?? 3;
  let total = 0;
  for (let k = 0; k < attempts; k++) {
    const pause = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** k;
    total += retrier.MaxDelaySeconds !== undefined ? Math.min(pause, retrier.MaxDelaySeconds) : pause;
  }
  return total;
}

/**
 * The longest one state can run: a Task's attempts (the first plus every retrier's `MaxAttempts`;
 * each retrier keeps its own count, so their sum bounds them) × its `TimeoutSeconds`, plus every
 * retry's longest backoff; a Wait its `Seconds`; Pass, Choice, Succeed and Fail nothing.
 * @throws for a Task without `TimeoutSeconds` (unbounded) and for states this does not model.
 */
export function stateWorstCaseSeconds(name: string, state: State): number {
  switch (state.Type) {
    case "Task": {
      const timeout = state.TimeoutSeconds;
      if (typeof timeout !== "number") throw new Error(`Task "${name}" has no TimeoutSeconds: its duration, and so the execution's, would be unbounded`);
      const retriers = (state.Retry as Retrier[] | undefined) ?? [];
      const attempts = 1 + retriers.reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
      return attempts * timeout + retriers.reduce((sum, r) => sum + retrierBackoffSeconds(r), 0);
    }
    case "Wait":
      if (typeof state.Seconds !== "number") throw new Error(`Wait "${name}" has no fixed Seconds: its duration is unbounded`);
      return state.Seconds;
    case "Pass":
    case "Choice":
    case "Succeed":
    case "Fail":
      return 0;
    default:
      throw new Error(`State "${name}" is a ${String(state.Type)}, whose duration worstCaseSeconds does not model`);
  }
}

/**
 * The longest an execution of a definition can run: the most expensive path from `StartAt` to a
 * terminal state (through `Next`, `Default`, every Choice and every Catch), each state at its
 * worst (`stateWorstCaseSeconds`).
 * @throws for a cycle (a loop's duration depends on data) and for an undefined state.
 */
export function worstCaseSeconds(definition: { StartAt: string; States: Record<string, State> }): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const longest = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const state = definition.States[name];
    if (!state) throw new Error(`State "${name}" is referenced but not defined`);
    if (visiting.has(name)) throw new Error(`State "${name}" is part of a loop: the execution's duration is unbounded`);
    visiting.add(name);
    const next = new Set<string>();
    if (typeof state.Next === "string") next.add(state.Next);
    if (typeof state.Default === "string") next.add(state.Default);
    for (const choice of (state.Choices as { Next?: string }[] | undefined) ?? []) if (choice.Next) next.add(choice.Next);
    for (const handler of (state.Catch as { Next?: string }[] | undefined) ?? []) if (handler.Next) next.add(handler.Next);
    const after = Math.max(0, ...[...next].map(longest));
    visiting.delete(name);
    const total = Math.ceil(stateWorstCaseSeconds(name, state) + after);
    memo.set(name, total);
    return total;
  };
  return longest(definition.StartAt);
}
