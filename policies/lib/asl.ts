/**
 * How long a Step Functions execution can run, read from its definition (Amazon States Language):
 * the most expensive path from `StartAt` to a terminal state, each Task at its worst (every
 * attempt its retriers allow × its `TimeoutSeconds`, plus each retry's longest backoff).
 *
 * The pack stands alone (the CLI loads `policies/` on its own), so this does not import the
 * program's `components/orders/workflow-definition.ts`, which computes the same bound to set the
 * workflow's timeout; a test holds the two to the same answer.
 */

type State = Record<string, unknown>;

interface Retrier {
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

/** Why a definition's duration cannot be bounded: a Task without TimeoutSeconds, a loop, a state not modelled. */
export class Unbounded extends Error {}

function backoff(r: Retrier): number {
  let total = 0;
  for (let k = 0; k < (r.MaxAttempts ?? 3); k++) {
    const pause = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k;
    total += r.MaxDelaySeconds !== undefined ? Math.min(pause, r.MaxDelaySeconds) : pause;
  }
  return total;
}

function stateSeconds(name: string, state: State): number {
  switch (state.Type) {
    case "Task": {
      if (typeof state.TimeoutSeconds !== "number") throw new Unbounded(`Task "${name}" has no TimeoutSeconds`);
      const retriers = Array.isArray(state.Retry) ? (state.Retry as Retrier[]) : [];
      const attempts = 1 + retriers.reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
      return attempts * state.TimeoutSeconds + retriers.reduce((sum, r) => sum + backoff(r), 0);
    }
    case "Wait":
      if (typeof state.Seconds !== "number") throw new Unbounded(`Wait "${name}" has no fixed Seconds`);
      return state.Seconds;
    case "Pass":
    case "Choice":
    case "Succeed":
    case "Fail":
      return 0;
    default:
      throw new Unbounded(`"${name}" is a ${String(state.Type)} state`);
  }
}

/**
 * The longest an execution of `definition` can run, in seconds.
 * @throws Unbounded when it cannot be bounded (or is not modelled: Map, Parallel, paths).
 */
export function worstCaseSeconds(definition: { StartAt?: unknown; States?: unknown }): number {
  const states = (definition.States ?? {}) as Record<string, State>;
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const longest = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const state = states[name];
    if (!state) throw new Unbounded(`state "${name}" is not defined`);
    if (visiting.has(name)) throw new Unbounded(`"${name}" is part of a loop`);
    visiting.add(name);
    const next = new Set<string>();
    for (const key of ["Next", "Default"]) if (typeof state[key] === "string") next.add(state[key] as string);
    for (const branch of [...((state.Choices as { Next?: string }[] | undefined) ?? []), ...((state.Catch as { Next?: string }[] | undefined) ?? [])]) if (branch.Next) next.add(branch.Next);
    const after = Math.max(0, ...[...next].map(longest));
    visiting.delete(name);
    const total = Math.ceil(stateSeconds(name, state) + after);
    memo.set(name, total);
    return total;
  };
  if (typeof definition.StartAt !== "string") throw new Unbounded("the definition has no StartAt");
  return longest(definition.StartAt);
}
