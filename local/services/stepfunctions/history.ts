/**
 * Execution history: the events GetExecutionHistory lists, in AWS's names and detail shapes. The
 * engine's own event stream gives the state-level events; the runner adds the Task and execution
 * events, which the engine does not report the way AWS does.
 */
import type { ExecutionRecord, ExecutionStatus } from "./store";

/** The engine's events, as far as the history reads them. */
type EngineEvent = { type: string; timestamp: number; state?: { name: string; type: string; input?: unknown; output?: unknown }; index?: number; parentState?: { name: string } };

/** Keeps the engine's state-level events as AWS-style history events. */
export async function recordEngineEvents(events: AsyncGenerator<EngineEvent>, execution: ExecutionRecord): Promise<void> {
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

/**
 * Records the events of one Task (`TaskScheduled`, `TaskStarted`, `TaskSucceeded`, ...), each with
 * the resource type and name AWS reports.
 * @returns `record(type, detailsKey, details)`.
 */
export function taskEventRecorder(execution: ExecutionRecord, resource: string): (type: string, detailsKey: string, details: Record<string, unknown>) => void {
  const { resourceType, resourceName } = splitResource(resource);
  return (type, detailsKey, details) => {
    execution.history.push({ timestamp: new Date(), type, details: { [detailsKey]: { resourceType, resource: resourceName, ...details } } });
  };
}

/** Records the closing event (`ExecutionSucceeded`, `ExecutionFailed`, ...) of an ended execution. */
export function recordExecutionClosed(execution: ExecutionRecord, status: ExecutionStatus, stopDate: Date): void {
  const details: Record<string, unknown> =
    status === "SUCCEEDED"
      ? { executionSucceededEventDetails: { output: execution.output, outputDetails: { truncated: false } } }
      : { [`execution${eventSuffix(status)}EventDetails`]: { error: execution.error, cause: execution.cause } };
  execution.history.push({ timestamp: stopDate, type: `Execution${eventSuffix(status)}`, details });
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

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
