/**
 * The execution store: every state machine and execution the emulator knows, in memory, for the
 * emulator's lifetime (AWS keeps closed executions for 90 days; the local cloud keeps them until
 * it stops). The API front reads and writes it; the runner records executions and their history.
 */
import type { CompiledDefinition } from "./definition";
import { StepFunctionsApiError } from "./errors";

/** Status of an execution, as the Step Functions API spells it. */
export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

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

/** A state machine: what CreateStateMachine was given, and its compiled definition. */
export interface MachineRecord extends CompiledDefinition {
  arn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: string;
  creationDate: Date;
}

/** One event of an execution's history, as GetExecutionHistory lists it (without its ids). */
export interface HistoryEvent {
  timestamp: Date;
  type: string;
  details?: Record<string, unknown>;
}

/** An execution and what the emulator needs to run, stop and list it. */
export interface ExecutionRecord extends ExecutionDescription {
  /** Start order, to sort executions started within the same millisecond. */
  seq: number;
  roleArn: string;
  abort: AbortController;
  history: HistoryEvent[];
  /** Settles once the execution has ended and its closing event is recorded. */
  done: Promise<void>;
}

/** State machines and executions by ARN. */
export class ExecutionStore {
  readonly machines = new Map<string, MachineRecord>();
  readonly executions = new Map<string, ExecutionRecord>();
  private nextSeq = 0;

  /** @throws {StepFunctionsApiError} `StateMachineDoesNotExist`. */
  machine(arn: string): MachineRecord {
    const machine = this.machines.get(arn);
    if (!machine) throw new StepFunctionsApiError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  /** @throws {StepFunctionsApiError} `ExecutionDoesNotExist`. */
  execution(arn: string): ExecutionRecord {
    const execution = this.executions.get(arn);
    if (!execution) throw new StepFunctionsApiError("ExecutionDoesNotExist", `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  /** The sequence number of the next execution started. */
  nextSequence(): number {
    return this.nextSeq++;
  }
}

/** The public description of an execution record. */
export function describe(e: ExecutionRecord): ExecutionDescription {
  const { executionArn, stateMachineArn, name, status, startDate, stopDate, input, output, error, cause } = e;
  return { executionArn, stateMachineArn, name, status, startDate, stopDate, input, output, error, cause };
}
