/**
 * What `npm run cost` reads from the program (run under the mock runtime, as the build and the
 * policy run do): the settings that drive request counts, the state machine's definition (its
 * transitions per order), and the resources billed by the month.
 */
import type { DeclaredResource, ProgramRun } from "../../runner/run-program";
import type { Deployed } from "./model";

interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
}

/**
 * States an execution enters (each one a billed transition on STANDARD) from `StartAt` to the end,
 * taking at each Choice the branch `choose` picks (its index, or -1 for `Default`).
 */
export function transitionsOnPath(definition: { StartAt: string; States: Record<string, AslState> }, choose: (state: string) => number): number {
  let count = 0;
  const seen = new Set<string>();
  for (let name: string | undefined = definition.StartAt; name !== undefined; ) {
    const state: AslState | undefined = definition.States[name];
    if (!state) throw new Error(`state machine: no state "${name}"`);
    if (seen.has(name)) throw new Error(`state machine: the path loops at "${name}"`);
    seen.add(name);
    count++;
    if (state.Type === "Succeed" || state.Type === "Fail" || state.End) break;
    if (state.Type === "Choice") {
      const index = choose(name);
      name = index < 0 ? state.Default : state.Choices?.[index]?.Next;
    } else name = state.Next;
  }
  return count;
}

const ofType = (run: ProgramRun, type: string): DeclaredResource[] => run.resources.filter((r) => r.type === type);

/** The figures of `Deployed` from a program run. */
export function deployedFrom(run: ProgramRun): Deployed {
  const machine = ofType(run, "aws:sfn/stateMachine:StateMachine")[0];
  if (!machine) throw new Error("the program declares no state machine");
  const definition = JSON.parse(String(machine.inputs.definition)) as { StartAt: string; States: Record<string, AslState> };
  // The API always passes a trace context (first branch of CheckTraceContext); CheckVerdict's
  // first branch is "accepted".
  const accepted = transitionsOnPath(definition, () => 0);
  const rejected = transitionsOnPath(definition, (state) => (state === "CheckVerdict" ? -1 : 0));
  const polled = ofType(run, "aws:lambda/eventSourceMapping:EventSourceMapping").map((m) => String(m.inputs.eventSourceArn ?? ""));
  const polledFifo = polled.filter((arn) => arn.endsWith(".fifo")).length;
  const encryptedTopics = ofType(run, "aws:sns/topic:Topic").filter((t) => t.inputs.kmsMasterKeyId).length;
  const encryptedTables = ofType(run, "aws:dynamodb/table:Table").filter((t) => (t.inputs.serverSideEncryption as { kmsKeyArn?: unknown } | undefined)?.kmsKeyArn).length;
  const queues = ofType(run, "aws:sqs/queue:Queue");
  const queueSettings = queues.map((q) => Number(q.inputs.kmsDataKeyReusePeriodSeconds)).filter(Number.isFinite);
  return {
    workflowType: run.settings.stateMachineType,
    transitionsAccepted: accepted,
    transitionsRejected: rejected,
    batchSize: run.settings.batchSize,
    maxReceiveCount: run.settings.maxReceiveCount,
    fulfillmentSuccessRate: run.settings.fulfillmentSuccessRate,
    memoryMb: run.settings.functionMemoryMb,
    kmsKeys: ofType(run, "aws:kms/key:Key").length,
    // The polled queues, the alarm topic aside (it is written only on an alarm), and the tables.
    kmsEncryptedInUse: polled.length + Math.max(0, encryptedTopics - 1) + encryptedTables,
    kmsReuseSeconds: queueSettings.length ? Math.min(...queueSettings) : 300,
    polledFifoQueues: polledFifo,
    polledStandardQueues: polled.length - polledFifo,
    alarms: ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm").length,
    dashboards: ofType(run, "aws:cloudwatch/dashboard:Dashboard").length,
  };
}
