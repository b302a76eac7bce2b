/**
 * The Step Functions API operations the local cloud serves (CreateStateMachine, StartExecution,
 * DescribeExecution, ...), with AWS's validation, idempotency and error codes. Transport-free:
 * the emulator's HTTP front and in-process callers both go through {@link StepFunctionsApi.invoke}.
 */
import { randomUUID } from "node:crypto";
import { compileDefinition } from "./definition";
import { StepFunctionsApiError } from "./errors";
import type { ExecutionRunner } from "./runner";
import { describe } from "./store";
import type { ExecutionStore, MachineRecord } from "./store";
import { describeMachine, epochSeconds, optionalString, paginate, parsePayload, requireName, requireString, toWire } from "./wire";
import type { Body } from "./wire";

/** The account id in every ARN the local cloud hands out (the one LocalStack and fauxqs use). */
export const LOCAL_ACCOUNT_ID = "000000000000";

/** The operations, over the emulator's store and runner. */
export class StepFunctionsApi {
  constructor(
    private readonly store: ExecutionStore,
    private readonly runner: ExecutionRunner,
    private readonly region: string,
  ) {}

  /**
   * Runs one API operation.
   * @param operation - The operation name, e.g. `StartExecution`.
   * @param body - The request's JSON body.
   * @returns The response body (dates as epoch seconds, as on the wire).
   * @throws {StepFunctionsApiError} For every API error.
   */
  invoke(operation: string, body: Body): Body {
    switch (operation) {
      case "CreateStateMachine":
        return this.createStateMachine(body);
      case "DescribeStateMachine":
        return describeMachine(this.store.machine(requireString(body, "stateMachineArn")));
      case "UpdateStateMachine":
        return this.updateStateMachine(body);
      case "DeleteStateMachine":
        this.store.machines.delete(requireString(body, "stateMachineArn"));
        return {};
      case "ListStateMachines":
        return this.listStateMachines(body);
      case "StartExecution":
        return this.startExecution(body);
      case "DescribeExecution":
        return toWire(describe(this.store.execution(requireString(body, "executionArn"))));
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

  private createStateMachine(body: Body): Body {
    const name = requireName(body, "name");
    const definition = requireString(body, "definition");
    const roleArn = requireString(body, "roleArn");
    const type = optionalString(body, "type") ?? "STANDARD";
    if (type !== "STANDARD" && type !== "EXPRESS") throw new StepFunctionsApiError("ValidationException", `Invalid type: ${type}`);
    const arn = `arn:aws:states:${this.region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
    const existing = this.store.machines.get(arn);
    if (existing) {
      // AWS: CreateStateMachine is idempotent for an identical request, a conflict otherwise.
      if (existing.definition === definition && existing.roleArn === roleArn && existing.type === type) {
        return { stateMachineArn: arn, creationDate: epochSeconds(existing.creationDate) };
      }
      throw new StepFunctionsApiError("StateMachineAlreadyExists", `State Machine Already Exists: '${arn}'`);
    }
    const machine: MachineRecord = { arn, name, definition, roleArn, type, creationDate: new Date(), ...compileDefinition(definition) };
    this.store.machines.set(arn, machine);
    return { stateMachineArn: arn, creationDate: epochSeconds(machine.creationDate) };
  }

  private updateStateMachine(body: Body): Body {
    const machine = this.store.machine(requireString(body, "stateMachineArn"));
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
    const machines = [...this.store.machines.values()].map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: epochSeconds(m.creationDate) }));
    return paginate(machines, body, "stateMachines");
  }

  private startExecution(body: Body): Body {
    const machine = this.store.machine(requireString(body, "stateMachineArn"));
    const name = body.name === undefined ? randomUUID() : requireName(body, "name");
    const input = optionalString(body, "input") ?? "{}";
    const arn = `arn:aws:states:${this.region}:${LOCAL_ACCOUNT_ID}:execution:${machine.name}:${name}`;
    const existing = this.store.executions.get(arn);
    if (existing) {
      // AWS: the same name and input while the execution runs returns it again; a different input,
      // or any reuse of the name once it has closed, is a conflict.
      if (existing.status === "RUNNING" && existing.input === input) {
        return { executionArn: arn, startDate: epochSeconds(existing.startDate) };
      }
      throw new StepFunctionsApiError("ExecutionAlreadyExists", `Execution Already Exists: '${arn}'`);
    }
    const parsedInput = parsePayload(input, "InvalidExecutionInput");
    const execution = this.runner.launch(machine, arn, name, input, parsedInput);
    return { executionArn: execution.executionArn, startDate: epochSeconds(execution.startDate) };
  }

  private stopExecution(body: Body): Body {
    const execution = this.store.execution(requireString(body, "executionArn"));
    if (execution.status === "RUNNING") {
      execution.error = optionalString(body, "error");
      execution.cause = optionalString(body, "cause");
      execution.abort.abort();
    }
    return { stopDate: epochSeconds(execution.stopDate ?? new Date()) };
  }

  private listExecutions(body: Body): Body {
    const machineArn = requireString(body, "stateMachineArn");
    this.store.machine(machineArn);
    const statusFilter = optionalString(body, "statusFilter");
    const executions = [...this.store.executions.values()]
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
    const execution = this.store.execution(requireString(body, "executionArn"));
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
}
