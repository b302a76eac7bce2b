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
 *   retried on any task failure (throttling, KMS), then caught.
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
   * function's own timeout, so Lambda reports its timeout first.
   * @default 35
   */
  taskTimeoutSeconds?: number;
  /**
   * Seconds the whole execution may run (Express workflows allow at most 300).
   * @default 300
   */
  executionTimeoutSeconds?: number;
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
  const taskTimeout = args.taskTimeoutSeconds ?? 35;
  const S = WORKFLOW_STATES;
  const store = (status: "PENDING" | "REJECTED", next: string): State => ({
    ...invoke(args.storeFunctionArn, { action: "store", status, "reason.$": "$.validation.reason", order: ORDER_FIELDS, ...TRACE_FIELD }, taskTimeout),
    ResultPath: null, // keep the order and the verdict as the state's data
    Catch: catchToRecordFailure,
    Next: next,
  });
  return {
    Comment: "DOFS order workflow: validate, store, queue for fulfillment",
    StartAt: S.checkTraceContext,
    TimeoutSeconds: args.executionTimeoutSeconds ?? 300,
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
    },
  };
}
