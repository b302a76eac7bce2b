/**
 * The fault spec: what the local cloud injects, like an AWS FIS experiment (or LocalStack's chaos
 * API), written on one line so it fits `npm start -- --faults <spec>` and the control endpoint.
 *
 * ```
 * functions=crash:0.05,throw:0.05 ; function:dofs-dev-orders-api=throttle:0.2 ; dynamodb=throttle:0.1,latency:20-80ms:0.5 ; sqs=error:0.05 ; seed=42
 * ```
 *
 * - Targets: `functions` (every function), `function:<name>` (one function, by physical name;
 *   replaces `functions` for it), and the services `dynamodb`, `sqs`, `sns`, `stepfunctions` (the
 *   calls functions make to them).
 * - Function faults: `crash` (the environment is killed within 200 ms of the invocation's start:
 *   before the handler finished it fails with `Runtime.ExitError`, after it the result stands), `timeout`
 *   (`Sandbox.Timedout`; reported at once, not after the function's timeout), `throw` (the handler
 *   fails), `throttle` (Lambda refuses the invocation: `TooManyRequestsException`).
 * - Service faults: `throttle` (DynamoDB only: `ProvisionedThroughputExceededException`), `error`
 *   (a 5xx), `latency:<min>-<max>ms[:probability]` (a delay before the call; probability 1 when omitted).
 * - Each fault's probability is in [0, 1]; per call, at most one of a target's error faults fires.
 * - `seed=<integer>` fixes the random sequence, so a failing run can be replayed (with concurrent
 *   calls, which call takes which draw can still vary).
 */

export const FUNCTION_FAULTS = ["crash", "timeout", "throw", "throttle"] as const;
export type FunctionFaultKind = (typeof FUNCTION_FAULTS)[number];
export const SERVICES = ["dynamodb", "sqs", "sns", "stepfunctions"] as const;
export type FaultService = (typeof SERVICES)[number];
export type ServiceFaultKind = "throttle" | "error";

export interface Latency {
  minMs: number;
  maxMs: number;
  probability: number;
}

export interface FaultSpec {
  /** Faults of every function without its own entry. */
  functions: Partial<Record<FunctionFaultKind, number>>;
  /** Faults of one function (physical name), instead of `functions`. */
  function: Record<string, Partial<Record<FunctionFaultKind, number>>>;
  services: Partial<Record<FaultService, { faults: Partial<Record<ServiceFaultKind, number>>; latency?: Latency }>>;
  /** Seed of the random sequence. */
  seed: number;
}

/** A spec that is refused, with what is wrong and where. */
export class FaultSpecError extends Error {
  constructor(message: string) {
    super(`Invalid fault spec: ${message}`);
    this.name = "FaultSpecError";
  }
}

/** No faults, seed 1. */
export function noFaults(seed = 1): FaultSpec {
  return { functions: {}, function: {}, services: {}, seed };
}

function probability(text: string, where: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(text)) throw new FaultSpecError(`${where}: probability "${text}" is not a number from 0 to 1`);
  return Number(text);
}

function parseLatency(value: string, where: string): Latency {
  const match = /^(\d+)(?:-(\d+))?ms(?::(.+))?$/.exec(value);
  if (!match) throw new FaultSpecError(`${where}: latency "${value}" must look like 50ms, 20-80ms or 20-80ms:0.5`);
  const minMs = Number(match[1]);
  const maxMs = Number(match[2] ?? match[1]);
  if (maxMs < minMs) throw new FaultSpecError(`${where}: latency ${minMs}-${maxMs}ms has its maximum below its minimum`);
  if (maxMs > 60_000) throw new FaultSpecError(`${where}: latency up to ${maxMs}ms is over the 60000ms limit`);
  return { minMs, maxMs, probability: match[3] === undefined ? 1 : probability(match[3], where) };
}

function parseFunctionFaults(list: string, where: string): Partial<Record<FunctionFaultKind, number>> {
  const faults: Partial<Record<FunctionFaultKind, number>> = {};
  for (const item of list.split(",").map((s) => s.trim())) {
    const [kind, value, ...rest] = item.split(":");
    if (!kind || value === undefined || rest.length) throw new FaultSpecError(`${where}: "${item}" must be <fault>:<probability>`);
    if (!(FUNCTION_FAULTS as readonly string[]).includes(kind)) throw new FaultSpecError(`${where}: unknown function fault "${kind}" (one of ${FUNCTION_FAULTS.join(", ")})`);
    faults[kind as FunctionFaultKind] = probability(value, `${where} ${kind}`);
  }
  const total = Object.values(faults).reduce((a, b) => a + b, 0);
  if (total > 1) throw new FaultSpecError(`${where}: the probabilities add up to ${total}, more than 1`);
  return faults;
}

function parseServiceFaults(service: FaultService, list: string): NonNullable<FaultSpec["services"][FaultService]> {
  const entry: NonNullable<FaultSpec["services"][FaultService]> = { faults: {} };
  for (const item of list.split(",").map((s) => s.trim())) {
    const colon = item.indexOf(":");
    const kind = colon < 0 ? item : item.slice(0, colon);
    const value = colon < 0 ? "" : item.slice(colon + 1);
    if (kind === "latency") entry.latency = parseLatency(value, service);
    else if (kind === "error" || (kind === "throttle" && service === "dynamodb")) entry.faults[kind] = probability(value, `${service} ${kind}`);
    else if (kind === "throttle") throw new FaultSpecError(`${service}: throttle is a DynamoDB fault; ${service} has error and latency`);
    else throw new FaultSpecError(`${service}: unknown service fault "${kind}" (one of ${service === "dynamodb" ? "throttle, " : ""}error, latency)`);
  }
  const total = Object.values(entry.faults).reduce((a, b) => a + b, 0);
  if (total > 1) throw new FaultSpecError(`${service}: the probabilities add up to ${total}, more than 1`);
  return entry;
}

/**
 * Parses a spec. The empty string is no faults.
 * @throws FaultSpecError naming the clause and what is wrong with it.
 */
export function parseFaultSpec(text: string): FaultSpec {
  const spec = noFaults();
  for (const clause of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const eq = clause.indexOf("=");
    if (eq < 0) throw new FaultSpecError(`"${clause}" must be <target>=<faults> or seed=<integer>`);
    const target = clause.slice(0, eq).trim();
    const value = clause.slice(eq + 1).trim();
    if (!value) throw new FaultSpecError(`${target}: no faults given`);
    if (target === "seed") {
      if (!/^\d{1,10}$/.test(value)) throw new FaultSpecError(`seed "${value}" is not a non-negative integer`);
      spec.seed = Number(value);
    } else if (target === "functions") spec.functions = parseFunctionFaults(value, "functions");
    else if (target.startsWith("function:") && target.length > "function:".length) spec.function[target.slice("function:".length)] = parseFunctionFaults(value, target);
    else if ((SERVICES as readonly string[]).includes(target)) spec.services[target as FaultService] = parseServiceFaults(target as FaultService, value);
    else throw new FaultSpecError(`unknown target "${target}" (functions, function:<name>, ${SERVICES.join(", ")}, seed)`);
  }
  return spec;
}

/** The spec as one line, in the form `parseFaultSpec` reads. */
export function formatFaultSpec(spec: FaultSpec): string {
  const list = (faults: Record<string, number>) => Object.entries(faults).map(([k, p]) => `${k}:${p}`);
  const clauses: string[] = [];
  if (Object.keys(spec.functions).length) clauses.push(`functions=${list(spec.functions).join(",")}`);
  for (const [name, faults] of Object.entries(spec.function)) clauses.push(`function:${name}=${list(faults).join(",")}`);
  for (const [service, entry] of Object.entries(spec.services)) {
    const items = list(entry.faults);
    if (entry.latency) items.push(`latency:${entry.latency.minMs}-${entry.latency.maxMs}ms:${entry.latency.probability}`);
    clauses.push(`${service}=${items.join(",")}`);
  }
  clauses.push(`seed=${spec.seed}`);
  return clauses.join(";");
}
