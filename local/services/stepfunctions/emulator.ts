// Step Functions for the local cloud: the AWS JSON 1.0 API of the states service, served on
// 127.0.0.1 and backed by aws-local-stepfunctions.
//
// Why our own front: aws-local-stepfunctions is a library (run a definition, get a result), not a
// service, and the local cloud needs the service: the API handler Lambda calls StartExecution
// through the SDK, the integration suite polls DescribeExecution, and users point the AWS CLI at
// the endpoint. The engine never calls AWS itself: every Task state is given a local override
// that asks our resolver (registered handlers, then `resolveTask`), so the local cloud decides
// what `arn:aws:states:::lambda:invoke` or `arn:aws:states:::sqs:sendMessage` means.
//
// Node 22 has `Promise.withResolvers` (the engine needs it), so no polyfill is installed here.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import validateAsl from "asl-validator";
import { StateMachine as AslEngine } from "aws-local-stepfunctions";

/** The account id in every ARN the local cloud hands out (the one LocalStack and fauxqs use). */
export const LOCAL_ACCOUNT_ID = "000000000000";

/** AWS's cap on an execution's input and output. */
const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * Longest Task timeout the engine can honour. The engine defaults every Task to 60 s, while AWS
 * lets a Task without `TimeoutSeconds` run as long as the execution; the engine arms a
 * `setTimeout`, which fires at once past 2^31-1 ms, so "unbounded" becomes about 24.8 days.
 */
const UNBOUNDED_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Status of an execution, as the Step Functions API spells it. */
export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

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

/** Options for {@link startStepFunctions} and {@link StepFunctionsEmulator}. */
export interface StepFunctionsOptions {
  /**
   * Region in the ARNs this emulator returns.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * TCP port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Called for a Task no registered handler matches.
   * @default undefined (such Tasks fail the execution with `States.Runtime`)
   */
  resolveTask?: TaskResolver;
  /**
   * Shorter retry pauses and waits, e.g. `{ retryIntervalMs: 0 }` in tests.
   * @default {} (AWS timing)
   */
  timing?: TimingOverrides;
}

/** An execution, as DescribeExecution reports it (dates as `Date`). */
export interface ExecutionDescription {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

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

interface MachineRecord {
  arn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: string;
  creationDate: Date;
  engine: AslEngine;
  /** Task state name → Resource; names are unique across a whole definition (ASL rule). */
  taskResources: Map<string, string>;
  retryableStates: string[];
  waitStates: string[];
}

interface HistoryEvent {
  timestamp: Date;
  type: string;
  details?: Record<string, unknown>;
}

interface ExecutionRecord extends ExecutionDescription {
  seq: number;
  roleArn: string;
  abort: AbortController;
  history: HistoryEvent[];
  done: Promise<void>;
}

interface TaskHandlerEntry {
  matches(resource: string): boolean;
  handler: TaskHandler;
}

/** Request fields are untrusted JSON; these read them with AWS's validation errors. */
type Body = Record<string, unknown>;

/**
 * The Step Functions emulator. Usually started with {@link startStepFunctions}; the class is
 * exported so callers can type the handle and use the programmatic helpers.
 */
export class StepFunctionsEmulator {
  readonly region: string;
  private readonly server: Server;
  private readonly machines = new Map<string, MachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly exactHandlers = new Map<string, TaskHandler>();
  private readonly patternHandlers: TaskHandlerEntry[] = [];
  private readonly resolveTask?: TaskResolver;
  private readonly timing: TimingOverrides;
  private nextSeq = 0;
  private listening?: string;

  /**
   * Creates the emulator; {@link StepFunctionsEmulator.listen} starts serving.
   * @param options - See {@link StepFunctionsOptions}; every field is optional.
   */
  constructor(private readonly options: StepFunctionsOptions = {}) {
    this.region = options.region ?? "us-east-1";
    this.resolveTask = options.resolveTask;
    this.timing = options.timing ?? {};
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  /** Base URL for Step Functions clients; throws before {@link StepFunctionsEmulator.listen}. */
  get endpoint(): string {
    if (this.listening === undefined) throw new Error("Step Functions emulator is not listening");
    return this.listening;
  }

  /**
   * Binds 127.0.0.1 on the port from the options (default: a free one).
   * @returns The endpoint URL.
   */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.listening = `http://127.0.0.1:${port}`;
    return this.listening;
  }

  /**
   * Aborts running executions (they end ABORTED) and closes the server.
   */
  async stop(): Promise<void> {
    for (const execution of this.executions.values()) {
      if (execution.status === "RUNNING") execution.abort.abort();
    }
    await Promise.all([...this.executions.values()].map((e) => e.done));
    if (!this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      // SDK clients keep connections alive; without this, close() waits for them to time out.
      this.server.closeAllConnections();
      this.server.close((err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Routes Tasks whose `Resource` matches to a handler. Exact ARNs win over patterns; among
   * patterns the latest registration wins.
   *
   * @param resource - An exact Resource ARN, a pattern with `*` wildcards
   *   (`arn:aws:lambda:*:*:function:*`), or a RegExp.
   * @param handler - Runs the Task; see {@link TaskHandler}.
   * @returns A function that removes this registration.
   */
  registerTaskHandler(resource: string | RegExp, handler: TaskHandler): () => void {
    if (typeof resource === "string" && !resource.includes("*")) {
      this.exactHandlers.set(resource, handler);
      return () => {
        if (this.exactHandlers.get(resource) === handler) this.exactHandlers.delete(resource);
      };
    }
    const pattern = typeof resource === "string" ? globToRegExp(resource) : resource;
    const entry: TaskHandlerEntry = { matches: (r) => pattern.test(r), handler };
    this.patternHandlers.unshift(entry);
    return () => {
      const index = this.patternHandlers.indexOf(entry);
      if (index >= 0) this.patternHandlers.splice(index, 1);
    };
  }

  /**
   * Waits until an execution has ended.
   * @param executionArn - ARN returned by StartExecution.
   * @returns Its final description.
   */
  async waitForExecution(executionArn: string): Promise<ExecutionDescription> {
    const execution = this.getExecution(executionArn);
    await execution.done;
    return describe(execution);
  }

  /**
   * Runs one API operation, as the HTTP front does; exposed so the local cloud can call the
   * service in process.
   * @param operation - The operation name, e.g. `StartExecution`.
   * @param body - The request's JSON body.
   * @returns The response body (dates as epoch seconds, as on the wire).
   * @throws {StepFunctionsApiError} For every API error.
   */
  async invoke(operation: string, body: Body): Promise<Body> {
    switch (operation) {
      case "CreateStateMachine":
        return this.createStateMachine(body);
      case "DescribeStateMachine":
        return describeMachine(this.getMachine(requireString(body, "stateMachineArn")));
      case "UpdateStateMachine":
        return this.updateStateMachine(body);
      case "DeleteStateMachine":
        this.machines.delete(requireString(body, "stateMachineArn"));
        return {};
      case "ListStateMachines":
        return this.listStateMachines(body);
      case "StartExecution":
        return this.startExecution(body);
      case "DescribeExecution":
        return toWire(describe(this.getExecution(requireString(body, "executionArn"))));
      case "StopExecution":
        return this.stopExecution(body);
      case "ListExecutions":
        return this.listExecutions(body);
      case "GetExecutionHistory":
        return this.getExecutionHistory(body);
      default:
        throw new StepFunctionsApiError("UnknownOperationException", `Operation ${operation} is not supported by the local Step Functions emulator`);
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let status = 200;
    let payload: Body;
    try {
      const target = req.headers["x-amz-target"];
      const operation = typeof target === "string" && target.startsWith("AWSStepFunctions.") ? target.slice("AWSStepFunctions.".length) : undefined;
      if (req.method !== "POST" || operation === undefined) {
        throw new StepFunctionsApiError("UnknownOperationException", "Expected POST with X-Amz-Target: AWSStepFunctions.<Operation>");
      }
      payload = await this.invoke(operation, await readJsonBody(req));
    } catch (error) {
      const apiError = error instanceof StepFunctionsApiError ? error : new StepFunctionsApiError("InternalFailure", String(error), 500);
      status = apiError.status;
      payload = { __type: apiError.type, message: apiError.message };
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "content-length": Buffer.byteLength(text), "x-amzn-requestid": randomUUID() });
    res.end(text);
  }

  private createStateMachine(body: Body): Body {
    const name = requireName(body, "name");
    const definition = requireString(body, "definition");
    const roleArn = requireString(body, "roleArn");
    const type = optionalString(body, "type") ?? "STANDARD";
    if (type !== "STANDARD" && type !== "EXPRESS") throw new StepFunctionsApiError("ValidationException", `Invalid type: ${type}`);
    const arn = `arn:aws:states:${this.region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      // AWS: CreateStateMachine is idempotent for an identical request, a conflict otherwise.
      if (existing.definition === definition && existing.roleArn === roleArn && existing.type === type) {
        return { stateMachineArn: arn, creationDate: epochSeconds(existing.creationDate) };
      }
      throw new StepFunctionsApiError("StateMachineAlreadyExists", `State Machine Already Exists: '${arn}'`);
    }
    const machine: MachineRecord = { arn, name, definition, roleArn, type, creationDate: new Date(), ...compileDefinition(definition) };
    this.machines.set(arn, machine);
    return { stateMachineArn: arn, creationDate: epochSeconds(machine.creationDate) };
  }

  private updateStateMachine(body: Body): Body {
    const machine = this.getMachine(requireString(body, "stateMachineArn"));
    const definition = optionalString(body, "definition");
    const roleArn = optionalString(body, "roleArn");
    if (definition === undefined && roleArn === undefined) {
      throw new StepFunctionsApiError("MissingRequiredParameter", "Either the definition or the roleArn must be specified");
    }
    // Running executions keep the engine they started with, as on AWS.
    if (definition !== undefined) Object.assign(machine, { definition, ...compileDefinition(definition) });
    if (roleArn !== undefined) machine.roleArn = roleArn;
    return { updateDate: epochSeconds(new Date()) };
  }

  private listStateMachines(body: Body): Body {
    const machines = [...this.machines.values()].map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: epochSeconds(m.creationDate) }));
    return paginate(machines, body, "stateMachines");
  }

  private startExecution(body: Body): Body {
    const machine = this.getMachine(requireString(body, "stateMachineArn"));
    const name = body.name === undefined ? randomUUID() : requireName(body, "name");
    const input = optionalString(body, "input") ?? "{}";
    const arn = `arn:aws:states:${this.region}:${LOCAL_ACCOUNT_ID}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      // AWS: the same name and input while the execution runs returns it again; a different input,
      // or any reuse of the name once it has closed, is a conflict.
      if (existing.status === "RUNNING" && existing.input === input) {
        return { executionArn: arn, startDate: epochSeconds(existing.startDate) };
      }
      throw new StepFunctionsApiError("ExecutionAlreadyExists", `Execution Already Exists: '${arn}'`);
    }
    const parsedInput = parsePayload(input, "InvalidExecutionInput");
    const execution = this.launch(machine, arn, name, input, parsedInput);
    return { executionArn: execution.executionArn, startDate: epochSeconds(execution.startDate) };
  }

  private stopExecution(body: Body): Body {
    const execution = this.getExecution(requireString(body, "executionArn"));
    if (execution.status === "RUNNING") {
      execution.error = optionalString(body, "error");
      execution.cause = optionalString(body, "cause");
      execution.abort.abort();
    }
    return { stopDate: epochSeconds(execution.stopDate ?? new Date()) };
  }

  private listExecutions(body: Body): Body {
    const machineArn = requireString(body, "stateMachineArn");
    this.getMachine(machineArn);
    const statusFilter = optionalString(body, "statusFilter");
    const executions = [...this.executions.values()]
      .filter((e) => e.stateMachineArn === machineArn && (statusFilter === undefined || e.status === statusFilter))
      // Newest first, as AWS lists them; the sequence breaks ties within one millisecond.
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime() || b.seq - a.seq)
      .map((e) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: epochSeconds(e.startDate),
        ...(e.stopDate ? { stopDate: epochSeconds(e.stopDate) } : {}),
      }));
    return paginate(executions, body, "executions");
  }

  private getExecutionHistory(body: Body): Body {
    const execution = this.getExecution(requireString(body, "executionArn"));
    const events = execution.history.map((event, index) => ({
      timestamp: epochSeconds(event.timestamp),
      type: event.type,
      id: index + 1,
      previousEventId: index,
      ...event.details,
    }));
    if (body.reverseOrder === true) events.reverse();
    return paginate(events, body, "events");
  }

  private getMachine(arn: string): MachineRecord {
    const machine = this.machines.get(arn);
    if (!machine) throw new StepFunctionsApiError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private getExecution(arn: string): ExecutionRecord {
    const execution = this.executions.get(arn);
    if (!execution) throw new StepFunctionsApiError("ExecutionDoesNotExist", `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  /** Records the execution and runs it in the background; returns at once, as AWS does. */
  private launch(machine: MachineRecord, arn: string, name: string, input: string, parsedInput: unknown): ExecutionRecord {
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
      seq: this.nextSeq++,
      roleArn: machine.roleArn,
      abort: new AbortController(),
      history: [{ timestamp: startDate, type: "ExecutionStarted", details: { executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn: machine.roleArn } } }],
      done: Promise.resolve(),
    };
    this.executions.set(arn, execution);

    const taskHandlers = Object.fromEntries(
      [...machine.taskResources].map(([stateName, resource]) => [
        stateName,
        (taskInput: unknown) =>
          this.runTask(execution, resource, taskInput, {
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
      let outcome: [ExecutionStatus, { output?: string; error?: string; cause?: string }];
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

  private finish(execution: ExecutionRecord, status: ExecutionStatus, result: { output?: string; error?: string; cause?: string }): void {
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
    const details: Record<string, unknown> =
      status === "SUCCEEDED"
        ? { executionSucceededEventDetails: { output: execution.output, outputDetails: { truncated: false } } }
        : { [`execution${eventSuffix(status)}EventDetails`]: { error: execution.error, cause: execution.cause } };
    execution.history.push({ timestamp: execution.stopDate, type: `Execution${eventSuffix(status)}`, details });
  }

  private async runTask(execution: ExecutionRecord, resource: string, input: unknown, context: TaskContext): Promise<unknown> {
    // Let the engine's event stream (StateEntered) be recorded before this Task's own events: the
    // engine calls us in the same tick it queues that event.
    await new Promise((resolve) => setImmediate(resolve));
    const { resourceType, resourceName } = splitResource(resource);
    const record = (type: string, detailsKey: string, details: Record<string, unknown>): void => {
      execution.history.push({ timestamp: new Date(), type, details: { [detailsKey]: { resourceType, resource: resourceName, ...details } } });
    };
    record("TaskScheduled", "taskScheduledEventDetails", { region: this.region, parameters: JSON.stringify(input ?? null) });
    record("TaskStarted", "taskStartedEventDetails", {});
    try {
      // A handler that never settles must not outlive a stopped execution: the engine keeps the
      // Task's timeout timer armed until the Task settles.
      const output = await raceAbort(this.dispatchTask(resource, input, context), context.signal);
      record("TaskSucceeded", "taskSucceededEventDetails", { output: JSON.stringify(output ?? null) });
      return output ?? null;
    } catch (thrown) {
      const error = asStatesError(thrown);
      record("TaskFailed", "taskFailedEventDetails", { error: error.name, cause: error.message });
      throw error;
    }
  }

  private async dispatchTask(resource: string, input: unknown, context: TaskContext): Promise<unknown> {
    const handler = this.exactHandlers.get(resource) ?? this.patternHandlers.find((h) => h.matches(resource))?.handler;
    if (handler) return handler(input, context);
    if (this.resolveTask) {
      const result = await this.resolveTask(resource, input, context);
      if (result !== NO_TASK_HANDLER) return result;
    }
    throw runtimeError(`No local handler for Task resource '${resource}' (state '${context.stateName}'): register one with registerTaskHandler`);
  }
}

/**
 * Starts the Step Functions emulator on 127.0.0.1.
 *
 * @param options - Region, port, Task resolver and timing overrides; see
 *   {@link StepFunctionsOptions}. Defaults: `us-east-1`, a free port, no resolver, AWS timing.
 * @returns The running emulator: `endpoint`, `region`, `registerTaskHandler`, `stop()`.
 */
export async function startStepFunctions(options: StepFunctionsOptions = {}): Promise<StepFunctionsEmulator> {
  const emulator = new StepFunctionsEmulator(options);
  await emulator.listen();
  return emulator;
}

/** Validates a definition and prepares the engine and the per-state lookups for it. */
function compileDefinition(text: string): Pick<MachineRecord, "engine" | "taskResources" | "retryableStates" | "waitStates"> {
  const parsed = parsePayload(text, "InvalidDefinition");
  if (!isObject(parsed)) throw new StepFunctionsApiError("InvalidDefinition", "Invalid State Machine Definition: the definition must be a JSON object");
  // asl-validator writes QueryLanguage into the object it checks: give it a copy.
  const verdict = validateAsl(structuredClone(parsed));
  if (!verdict.isValid) {
    throw new StepFunctionsApiError("InvalidDefinition", `Invalid State Machine Definition: ${verdict.errorsText("; ")}`);
  }
  const taskResources = new Map<string, string>();
  const retryableStates: string[] = [];
  const waitStates: string[] = [];
  const engineDefinition = structuredClone(parsed);
  forEachState(engineDefinition, (name, state) => {
    if (state.QueryLanguage === "JSONata") {
      throw new StepFunctionsApiError("InvalidDefinition", `Invalid State Machine Definition: state '${name}' uses JSONata, which the local engine (aws-local-stepfunctions) does not run`);
    }
    if (state.Type === "Task" && typeof state.Resource === "string") {
      taskResources.set(name, state.Resource);
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = UNBOUNDED_TASK_TIMEOUT_SECONDS;
    }
    if (Array.isArray(state.Retry)) retryableStates.push(name);
    if (state.Type === "Wait") waitStates.push(name);
  });
  if (isObject(engineDefinition) && engineDefinition.QueryLanguage === "JSONata") {
    throw new StepFunctionsApiError("InvalidDefinition", "Invalid State Machine Definition: JSONata is not supported by the local engine (aws-local-stepfunctions)");
  }
  try {
    // Already validated above with the newer asl-validator; the engine bundles an older one.
    const engine = new AslEngine(engineDefinition as never, { validationOptions: { noValidate: true } });
    return { engine, taskResources, retryableStates, waitStates };
  } catch (error) {
    throw new StepFunctionsApiError("InvalidDefinition", `Invalid State Machine Definition: ${String(error)}`);
  }
}

/** Visits every state, including those inside Parallel branches and Map processors. */
function forEachState(definition: unknown, visit: (name: string, state: Record<string, unknown>) => void): void {
  if (!isObject(definition) || !isObject(definition.States)) return;
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isObject(state)) continue;
    visit(name, state);
    if (Array.isArray(state.Branches)) state.Branches.forEach((branch) => forEachState(branch, visit));
    forEachState(state.Iterator, visit);
    forEachState(state.ItemProcessor, visit);
  }
}

/** Settles with the task, or rejects once the execution is aborted. */
function raceAbort<T>(task: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = (): Error => Object.assign(new Error("Execution aborted"), { name: "States.Runtime" });
  if (signal.aborted) return Promise.reject(aborted());
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

/** Maps how the engine's run ended to an execution status, error and cause. */
function classifyFailure(error: unknown): [ExecutionStatus, { error?: string; cause?: string }] {
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
function asStatesError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return Object.assign(new Error(typeof thrown === "string" ? thrown : JSON.stringify(thrown)), { name: "Error" });
}

/**
 * A `States.Runtime` error: like AWS, neither Retry nor Catch may match it (the engine reads
 * `isRetryable`/`isCatchable` from the error).
 */
function runtimeError(message: string): Error {
  return Object.assign(new Error(message), { name: "States.Runtime", isRetryable: false, isCatchable: false });
}

/** Keeps the engine's state-level events as AWS-style history events. */
async function recordEngineEvents(events: AsyncGenerator<{ type: string; timestamp: number; state?: { name: string; type: string; input?: unknown; output?: unknown }; index?: number; parentState?: { name: string } }>, execution: ExecutionRecord): Promise<void> {
  try {
    for await (const event of events) {
      const timestamp = new Date(event.timestamp);
      if ((event.type === "StateEntered" || event.type === "StateExited") && event.state) {
        const entered = event.type === "StateEntered";
        execution.history.push({
          timestamp,
          type: `${event.state.type}${event.type}`,
          details: {
            [entered ? "stateEnteredEventDetails" : "stateExitedEventDetails"]: {
              name: event.state.name,
              ...(entered ? { input: JSON.stringify(event.state.input ?? null) } : { output: JSON.stringify(event.state.output ?? null) }),
            },
          },
        });
      } else if (event.type.startsWith("MapIteration") && event.parentState) {
        execution.history.push({ timestamp, type: event.type, details: { [`${lowerFirst(event.type)}EventDetails`]: { name: event.parentState.name, index: event.index } } });
      }
      if (event.type === "ExecutionSucceeded" || event.type === "ExecutionFailed" || event.type === "ExecutionAborted" || event.type === "ExecutionTimeout") return;
    }
  } catch {
    // The history is a debugging aid; never let it fail an execution.
  }
}

function eventSuffix(status: ExecutionStatus): string {
  return { RUNNING: "Started", SUCCEEDED: "Succeeded", FAILED: "Failed", TIMED_OUT: "TimedOut", ABORTED: "Aborted" }[status];
}

/** `arn:aws:states:::lambda:invoke` → lambda / invoke, as AWS's Task events report it. */
function splitResource(resource: string): { resourceType: string; resourceName: string } {
  const match = /^arn:[^:]+:states:[^:]*:[^:]*:([^:]+):(.+)$/.exec(resource);
  if (match?.[1] !== undefined && match[2] !== undefined) return { resourceType: match[1], resourceName: match[2] };
  const service = resource.split(":")[2];
  return { resourceType: service ?? "unknown", resourceName: resource };
}

function describe(e: ExecutionRecord): ExecutionDescription {
  const { executionArn, stateMachineArn, name, status, startDate, stopDate, input, output, error, cause } = e;
  return { executionArn, stateMachineArn, name, status, startDate, stopDate, input, output, error, cause };
}

function describeMachine(m: MachineRecord): Body {
  return { stateMachineArn: m.arn, name: m.name, status: "ACTIVE", definition: m.definition, roleArn: m.roleArn, type: m.type, creationDate: epochSeconds(m.creationDate) };
}

/** DescribeExecution's wire form: epoch-second dates, and the `*Details` AWS always sends. */
function toWire(d: ExecutionDescription): Body {
  return {
    executionArn: d.executionArn,
    stateMachineArn: d.stateMachineArn,
    name: d.name,
    status: d.status,
    startDate: epochSeconds(d.startDate),
    ...(d.stopDate ? { stopDate: epochSeconds(d.stopDate) } : {}),
    input: d.input,
    inputDetails: { included: true },
    ...(d.output !== undefined ? { output: d.output, outputDetails: { included: true } } : {}),
    ...(d.error !== undefined ? { error: d.error } : {}),
    ...(d.cause !== undefined ? { cause: d.cause } : {}),
    redriveCount: 0,
    redriveStatus: "NOT_REDRIVABLE",
  };
}

/** `maxResults`/`nextToken` paging; the token is an opaque offset. */
function paginate<T>(items: T[], body: Body, key: string): Body {
  const maxResults = typeof body.maxResults === "number" && body.maxResults > 0 ? Math.min(body.maxResults, 1000) : 100;
  const start = typeof body.nextToken === "string" ? Number.parseInt(Buffer.from(body.nextToken, "base64").toString(), 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw new StepFunctionsApiError("InvalidToken", "Invalid nextToken");
  const page = items.slice(start, start + maxResults);
  const next = start + maxResults < items.length ? Buffer.from(String(start + maxResults)).toString("base64") : undefined;
  return { [key]: page, ...(next ? { nextToken: next } : {}) };
}

/** The AWS JSON protocol sends timestamps as fractional epoch seconds. */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function parsePayload(text: string, errorType: string): unknown {
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new StepFunctionsApiError(errorType, `Payload larger than ${MAX_PAYLOAD_BYTES} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StepFunctionsApiError(errorType, `Invalid JSON: ${(error as Error).message}`);
  }
}

async function readJsonBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StepFunctionsApiError("SerializationException", "Request body is not valid JSON");
  }
  if (!isObject(parsed)) throw new StepFunctionsApiError("SerializationException", "Request body must be a JSON object");
  return parsed;
}

function requireString(body: Body, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") {
    throw new StepFunctionsApiError("ValidationException", `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function optionalString(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new StepFunctionsApiError("ValidationException", `Value at '${key}' must be a string`);
  return value;
}

/** AWS names: 1–80 characters, no whitespace, brackets, wildcards, punctuation or control characters. */
function requireName(body: Body, key: string): string {
  const name = requireString(body, key);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what AWS rejects
  if (name.length > 80 || /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new StepFunctionsApiError("InvalidName", `Invalid Name: '${name}'`);
  }
  return name;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
