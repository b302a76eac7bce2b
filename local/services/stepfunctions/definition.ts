/**
 * State machine definitions: validated with asl-validator, then prepared for the engine
 * (aws-local-stepfunctions) with the per-state lookups the runner needs. What the engine cannot
 * run the way AWS does is refused here, at CreateStateMachine, rather than mid-execution.
 */
import validateAsl from "asl-validator";
import { StateMachine as AslEngine } from "aws-local-stepfunctions";
import { StepFunctionsApiError } from "./errors";
import { isObject, parsePayload } from "./wire";

/**
 * Longest Task timeout a Node timer can arm (the engine's and the runner's): `setTimeout` fires at
 * once past 2^31-1 ms, so "unbounded" is about 24.8 days. The engine defaults every Task to 60 s,
 * while AWS lets a Task without `TimeoutSeconds` run as long as the execution.
 */
const UNBOUNDED_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A definition ready to run. */
export interface CompiledDefinition {
  engine: AslEngine;
  /** Task state name → Resource; names are unique across a whole definition (ASL rule). */
  taskResources: Map<string, string>;
  /**
   * Task state name → its `TimeoutSeconds`, for the Tasks whose timeout the runner keeps (the
   * engine's timer would start when the Task is dispatched; the runner's starts when the handler
   * says the work began: `TaskContext.startClock`).
   */
  taskTimeouts: Map<string, number>;
  retryableStates: string[];
  waitStates: string[];
}

/**
 * Validates a definition and prepares the engine and the per-state lookups for it.
 * @throws {StepFunctionsApiError} `InvalidDefinition`.
 */
export function compileDefinition(text: string): CompiledDefinition {
  const parsed = parsePayload(text, "InvalidDefinition");
  if (!isObject(parsed)) throw new StepFunctionsApiError("InvalidDefinition", "Invalid State Machine Definition: the definition must be a JSON object");
  // asl-validator writes QueryLanguage into the object it checks: give it a copy.
  const verdict = validateAsl(structuredClone(parsed));
  if (!verdict.isValid) {
    throw new StepFunctionsApiError("InvalidDefinition", `Invalid State Machine Definition: ${verdict.errorsText("; ")}`);
  }
  const taskResources = new Map<string, string>();
  const taskTimeouts = new Map<string, number>();
  const retryableStates: string[] = [];
  const waitStates: string[] = [];
  const engineDefinition = structuredClone(parsed);
  forEachState(engineDefinition, (name, state) => {
    if (state.QueryLanguage === "JSONata") {
      throw new StepFunctionsApiError("InvalidDefinition", `Invalid State Machine Definition: state '${name}' uses JSONata, which the local engine (aws-local-stepfunctions) does not run`);
    }
    if (state.Type === "Task" && typeof state.Resource === "string") {
      taskResources.set(name, state.Resource);
      // Past what a timer can arm, a timeout is as good as none.
      if (typeof state.TimeoutSeconds === "number" && state.TimeoutSeconds <= UNBOUNDED_TASK_TIMEOUT_SECONDS) taskTimeouts.set(name, state.TimeoutSeconds);
      // The engine's own timer only for TimeoutSecondsPath (read from the input); otherwise the
      // runner times the Task (taskTimeouts), or nothing does (no TimeoutSeconds: as long as the execution).
      if (state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = UNBOUNDED_TASK_TIMEOUT_SECONDS;
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
    return { engine, taskResources, taskTimeouts, retryableStates, waitStates };
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
