/**
 * Decides, call by call, which fault of the current spec (spec.ts) hits: one draw from a seeded
 * generator (pure-rand's xoroshiro128+) per decision, walked over the target's cumulative
 * probabilities. Counts every injected fault by target and kind, and logs each one with what it hit.
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { FaultService, FaultSpec, FunctionFaultKind, ServiceFaultKind } from "./spec";
import { formatFaultSpec, noFaults } from "./spec";

/** How far into an invocation an injected crash may land. */
export const CRASH_WINDOW_MS = 200;

/** What a service call gets: a delay first, then maybe an error instead of the real answer. */
export interface ServiceFaultDecision {
  delayMs: number;
  fault?: ServiceFaultKind;
}

/** The injector's state, as the control endpoint reports it. */
export interface FaultReport {
  /** The spec in force, one line. */
  spec: string;
  /** `<target> <kind>` → faults injected since the spec was set. */
  injected: Record<string, number>;
}

export class FaultInjector {
  private spec: FaultSpec = noFaults();
  private rng = xoroshiro128plus(1);
  private injected = new Map<string, number>();

  /** @param log - Receives one line per injected fault. */
  constructor(
    spec: FaultSpec = noFaults(),
    private readonly log: (line: string) => void = console.log,
  ) {
    this.set(spec);
  }

  /** Replaces the spec, restarts the random sequence from its seed and zeroes the counts. */
  set(spec: FaultSpec): void {
    this.spec = spec;
    this.rng = xoroshiro128plus(spec.seed);
    this.injected = new Map();
  }

  /** True when no fault can fire (the hot path skips the draw). */
  get quiet(): boolean {
    const { functions, function: perFunction, services } = this.spec;
    return !Object.keys(functions).length && !Object.keys(perFunction).length && !Object.keys(services).length;
  }

  report(): FaultReport {
    return { spec: formatFaultSpec(this.spec), injected: Object.fromEntries(this.injected) };
  }

  /**
   * When an injected crash kills the environment, in milliseconds after the invocation started:
   * anywhere in the first `CRASH_WINDOW_MS`, so a crash can land before, during or after the
   * handler's writes (as a real one would).
   */
  crashDelayMs(): number {
    return Math.floor(this.draw() * CRASH_WINDOW_MS);
  }

  /** The fault, if any, for one invocation of the function named `name` (physical name). */
  functionFault(name: string): FunctionFaultKind | undefined {
    const faults = this.spec.function[name] ?? this.spec.functions;
    const kind = this.pick(faults);
    if (kind) this.record(`function:${name}`, kind, `${kind} into ${name}`);
    return kind;
  }

  /** The delay and fault, if any, for one call of `operation` on `service`. */
  serviceFault(service: FaultService, operation: string): ServiceFaultDecision {
    const entry = this.spec.services[service];
    if (!entry) return { delayMs: 0 };
    let delayMs = 0;
    const { latency } = entry;
    if (latency && this.draw() < latency.probability) {
      delayMs = Math.round(latency.minMs + this.draw() * (latency.maxMs - latency.minMs));
      this.record(service, "latency", `${delayMs}ms latency into ${service} ${operation}`);
    }
    const fault = this.pick(entry.faults);
    if (fault) this.record(service, fault, `${fault} into ${service} ${operation}`);
    return { delayMs, ...(fault ? { fault } : {}) };
  }

  private draw(): number {
    return uniformFloat64(this.rng);
  }

  /** One draw over the kinds' cumulative probabilities: at most one fires. */
  private pick<K extends string>(faults: Partial<Record<K, number>>): K | undefined {
    const entries = Object.entries(faults) as [K, number][];
    if (!entries.length) return undefined;
    let roll = this.draw();
    for (const [kind, p] of entries) {
      if (roll < p) return kind;
      roll -= p;
    }
    return undefined;
  }

  private record(target: string, kind: string, what: string): void {
    const key = `${target} ${kind}`;
    this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
    this.log(`[faults] injected ${what}`);
  }
}
