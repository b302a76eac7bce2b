/**
 * The local account's concurrency: one bound on the invocations in flight across all functions, as
 * an AWS account's concurrency limit bounds all its functions, and one on the execution
 * environments (Node processes) kept alive. Without them, a bus backlog started an environment per
 * poller slot and per function until about 20 processes shared 2 cores and each one's start (a
 * synchronous fork on the cloud's event loop, then half a second of module load) slowed every other.
 *
 * - In flight (running or starting an environment) at most `limit`: that is the CPU budget.
 * - Alive at most `maxEnvironments` (busy or idle; an idle one costs memory, not CPU): past it, a
 *   function that needs a new environment reclaims the least recently used idle environment of any
 *   function, as Lambda reclaims idle environments.
 *
 * An invocation that finds the account full waits. A freed slot is handed to the first waiter that can
 * use it, in order of rank (callers and Tasks, then event sources), then of age: a request by when it
 * arrived, a Step Functions Task by when its execution started. Oldest work first is what keeps a
 * backlog from collapsing: served in arrival order, each execution's next Task queued behind every
 * other execution's, so all of them slowed together and (a default-volume soak) timed out together,
 * their retries and failure-recording Tasks queueing more. Oldest first, the executions in flight
 * finish and a request waits behind them (throttled if that takes longer than `requestWaitMs`):
 * the backlog pushes back on the API instead of growing.
 * - `request` (API Gateway): someone is waiting on the answer. It waits at most `requestWaitMs`,
 *   then fails with `TooManyRequestsException`, as a throttled synchronous invocation does on AWS
 *   (a 500 through API Gateway).
 * - `workflow` (Step Functions Tasks): served with requests, from the slots kept for them, but never
 *   throttled: a soak showed workflows whose Lambda retries (and then their failure-recording
 *   Task) were all throttled, leaving their orders PENDING for good; a Task waits instead. A wait (a third of API Gateway's 29 s integration
 *   timeout) rather than AWS's immediate refusal, because locally the limit is a CPU budget, not a
 *   contract: a burst becomes latency, and only a sustained overload becomes throttling. (With
 *   2 s, a soak on a loaded 2-core machine had its clients retry 500s more than it placed orders,
 *   and each retry was more load.)
 * - `event-source` (SQS pollers): waits as long as it takes. The poller loop that holds the batch
 *   does not receive another meanwhile, so a backlog stays in the queue (where it is cheap) instead
 *   of in environments; this is how Lambda's pollers back off when the function is throttled. It is
 *   never starved, though: while a poller wants a slot, Step Functions Tasks leave free what brings
 *   the event sources up to a quarter of the limit (a default soak placing orders from 16 clients
 *   kept all 8 slots in Tasks and requests for 15 minutes, while 10,000 transactions and the
 *   orders' own fulfillment queue waited with none).
 */
import * as os from "node:os";
import { FunctionError } from "./function-host-errors";

/**
 * Who is waiting on an invocation: a caller (`request`: API Gateway), a Step Functions Task
 * (`workflow`), or an event source mapping.
 */
export type InvocationSource = "request" | "workflow" | "event-source";

/** What the pool needs from a function host: its idle environments, to reclaim one. */
export interface EnvironmentOwner {
  /** When its least recently used idle environment last finished an invocation; undefined when none is idle. */
  oldestIdleSince(): number | undefined;
  /** Stops that environment and gives its room back (`removeEnvironment`) at once; false when none is idle. */
  reclaimIdle(): boolean;
}

export interface AccountConcurrencyOptions {
  /**
   * Most invocations in flight at once across all functions.
   * @default {@link defaultAccountConcurrency}: from the machine's cores and memory
   */
  limit?: number;
  /**
   * Most environments alive at once (busy or idle) across all functions; at least `limit`.
   * @default {@link defaultMaxEnvironments}, and never below `limit`
   */
  maxEnvironments?: number;
  /** Longest a `request` invocation waits for a slot before it is throttled. @default 10000 */
  requestWaitMs?: number;
}

/** Invocations in flight per core: an invocation mostly waits on I/O (the emulators), so more than one per core keeps the cores busy. */
const INVOCATIONS_PER_CORE = 4;
/** Memory budgeted per environment (a function's Node process is 60–120 MB resident). */
const MEMORY_PER_ENVIRONMENT = 256 * 1024 * 1024;

/**
 * The default limit: 4 invocations in flight per core (an invocation mostly waits on the
 * emulators), no more than {@link defaultMaxEnvironments}, and at least 2. On a 2-core machine: 8.
 */
export function defaultAccountConcurrency(cores = os.availableParallelism(), memoryBytes = os.totalmem()): number {
  return Math.max(2, Math.min(cores * INVOCATIONS_PER_CORE, defaultMaxEnvironments(memoryBytes)));
}

/** The default number of environments kept alive: half the machine's memory at 256 MiB each, at least 2. */
export function defaultMaxEnvironments(memoryBytes = os.totalmem()): number {
  return Math.max(2, Math.floor(memoryBytes / 2 / MEMORY_PER_ENVIRONMENT));
}

/** Parses a user's `--concurrency` value: a whole number from 1 to 1000. */
export function parseAccountConcurrency(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 1000) {
    throw new Error(`concurrency must be a whole number of environments from 1 to 1000, got "${value}"`);
  }
  return Number(value);
}

interface Waiter {
  source: InvocationSource;
  /** Served by rank, then by this (smaller first): when the work began, in ms since the epoch. */
  age: number;
  /** Breaks ties of `age`: arrival order. */
  seq: number;
  /** Takes, synchronously, what the waiter waits for; true when it did (or needs no more waiting). */
  attempt: () => boolean;
  /** Resolves the wait. */
  wake: () => void;
}

/** How a waiter waits: see {@link AccountConcurrency.wait}. */
export interface WaitOptions {
  /**
   * When the work began (ms since the epoch): a Step Functions Task passes its execution's start, so
   * the oldest execution's Task is served first. @default when the invocation arrived
   */
  age?: number;
  /**
   * Takes the slot (and environment) the waiter waits for, synchronously, when a slot frees: a
   * freed slot is handed to one waiter instead of every waiter racing for it. True when it took
   * them. @default none: the waiter is only woken, when the account has room for its source
   */
  attempt?: () => boolean;
  /** Ends the wait when aborted (a stopped execution's Task no longer wants its invocation). */
  signal?: AbortSignal;
}

/** Counters for the status endpoint and the benchmarks. */
export interface ConcurrencySnapshot {
  /** Most invocations in flight. */
  limit: number;
  /** Slots only requests may take. */
  reservedForRequests: number;
  /** Invocations in flight (running, or starting their environment). */
  inFlight: number;
  /** Of which from event sources (at most `limit` minus the slots kept for requests). */
  fromEventSources: number;
  /** Most environments alive. */
  maxEnvironments: number;
  /** Environments alive (starting, busy or idle). */
  environments: number;
  /** Invocations waiting for a slot. */
  waiting: number;
  /** Idle environments stopped to make room for another function's. */
  reclaimed: number;
  /** `request` invocations refused after waiting `requestWaitMs`. */
  throttled: number;
}

export class AccountConcurrency {
  readonly limit: number;
  readonly maxEnvironments: number;
  readonly requestWaitMs: number;
  /** Slots event sources cannot take: a quarter of the limit, at least one when the limit is above one. */
  readonly reservedForRequests: number;
  /** Slots Step Functions Tasks leave to event sources that want them: as many as are kept for requests. */
  readonly reservedForEventSources: number;
  private inFlight = 0;
  /** Event source invocations (and pollers asking {@link roomFor}) waiting for a slot. */
  private eventSourcesWanting = 0;
  private fromEventSources = 0;
  private live = 0;
  private reclaimed = 0;
  private throttled = 0;
  private readonly owners = new Set<EnvironmentOwner>();
  /** Kept in serving order (rank, age, arrival). */
  private readonly waiters: Waiter[] = [];
  private nextSeq = 0;
  /** {@link changed} is handing slots out (it may be called again from a waiter's attempt). */
  private serving = false;
  private changedWhileServing = false;

  constructor(options: AccountConcurrencyOptions = {}) {
    const limit = options.limit ?? defaultAccountConcurrency();
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`account concurrency must be a whole number of at least 1, got ${limit}`);
    this.limit = limit;
    this.maxEnvironments = Math.max(limit, options.maxEnvironments ?? defaultMaxEnvironments());
    this.requestWaitMs = options.requestWaitMs ?? 10_000;
    this.reservedForRequests = limit > 1 ? Math.max(1, Math.floor(limit / 4)) : 0;
    this.reservedForEventSources = this.reservedForRequests;
  }

  register(owner: EnvironmentOwner): void {
    this.owners.add(owner);
  }

  /**
   * Whether another invocation from `source` may start now. Event sources may hold at most
   * `limit - reservedForRequests` slots: the rest is kept for callers, as AWS keeps part of an
   * account's concurrency unreserved, so a bus backlog cannot take every slot from the API.
   */
  hasRoom(source: InvocationSource): boolean {
    if (this.inFlight >= this.limit) return false;
    if (source === "event-source") return this.fromEventSources < this.limit - this.reservedForRequests;
    if (source === "workflow" && this.eventSourcesWanting > 0) {
      // Leave free what brings the waiting event sources up to their share.
      const owed = Math.max(0, this.reservedForEventSources - this.fromEventSources);
      return this.inFlight < this.limit - owed;
    }
    return true;
  }

  /** An invocation from `source` starts (after {@link hasRoom}); pair with {@link end}. */
  begin(source: InvocationSource): void {
    this.inFlight += 1;
    if (source === "event-source") this.fromEventSources += 1;
  }

  /**
   * An invocation ended: its slot is free, and every waiter looks again. `notify: false` for a
   * slot taken and given back in the same turn (nothing changed for the waiters; waking them would
   * have them wake each other forever).
   */
  end(source: InvocationSource, notify = true): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (source === "event-source") this.fromEventSources = Math.max(0, this.fromEventSources - 1);
    if (notify) this.changed();
  }

  /**
   * Takes room for a new environment: free room, else the room of the least recently used idle
   * environment of any function, which is stopped. False when every environment is busy or starting.
   */
  tryAddEnvironment(): boolean {
    if (this.live < this.maxEnvironments) {
      this.live += 1;
      return true;
    }
    let oldest: { owner: EnvironmentOwner; since: number } | undefined;
    for (const owner of this.owners) {
      const since = owner.oldestIdleSince();
      if (since !== undefined && (!oldest || since < oldest.since)) oldest = { owner, since };
    }
    if (!oldest || !oldest.owner.reclaimIdle()) return false;
    // reclaimIdle gave its room back (removeEnvironment); take it before anyone else can.
    this.reclaimed += 1;
    this.live += 1;
    return true;
  }

  /** An environment is gone (exited, killed, failed to start): its room is free. */
  removeEnvironment(): void {
    this.live = Math.max(0, this.live - 1);
    this.changed();
  }

  /**
   * Something may have become available: hands it to the waiters in serving order. Each waiter's
   * `attempt` takes its slot synchronously, so the first that can use it gets it; once the account
   * is full no other waiter can, and the rest are not looked at (with thousands of Tasks waiting,
   * waking every one of them for every freed slot cost more CPU than the invocations).
   */
  changed(): void {
    if (this.serving) {
      // An attempt freed something (reclaiming an idle environment): look again when done.
      this.changedWhileServing = true;
      return;
    }
    this.serving = true;
    try {
      do {
        this.changedWhileServing = false;
        for (let i = 0; i < this.waiters.length && this.inFlight < this.limit; ) {
          const waiter = this.waiters[i]!;
          if (waiter.attempt()) {
            this.waiters.splice(i, 1);
            waiter.wake();
          } else i += 1;
        }
      } while (this.changedWhileServing);
    } finally {
      this.serving = false;
    }
  }

  /** Wakes every waiter, full or not, to look again (a function host that is stopping). */
  wakeAll(): void {
    for (const waiter of this.waiters.splice(0)) waiter.wake();
  }

  /**
   * Waits for a slot. A `request` whose total wait (since `since`) exceeds `requestWaitMs` is
   * throttled instead; `bounded: false` waits without limit (a function's own concurrency, which
   * the account does not decide).
   * @throws FunctionError `TooManyRequestsException` (source `service`) for a request that waited too long.
   */
  async wait(source: InvocationSource, functionName: string, since: number, bounded = true, options: WaitOptions = {}): Promise<void> {
    const remaining = source === "request" && bounded ? this.requestWaitMs - (Date.now() - since) : Infinity;
    if (remaining <= 0) {
      this.throttled += 1;
      throw new FunctionError(
        "TooManyRequestsException",
        `Rate Exceeded. (the local account's ${this.limit} concurrent invocations stayed in use for ${this.requestWaitMs} ms; raise them with --concurrency)`,
        functionName,
        "service",
      );
    }
    await this.untilServed(source, remaining, { ...options, age: options.age ?? since });
  }

  /**
   * Whether `source` has room, waiting up to `maxWaitMs` for it: an SQS poller asks before it
   * receives, and asks again after a `false` (so it can notice it is being stopped).
   * @param maxWaitMs - Longest wait for a change. @default 1000
   */
  async roomFor(source: InvocationSource, maxWaitMs = 1000): Promise<boolean> {
    if (this.hasRoom(source)) return true;
    await this.untilServed(source, maxWaitMs, {});
    return this.hasRoom(source);
  }

  /**
   * Waits until {@link changed} serves it (its `attempt` succeeds, by default: the account has room
   * for `source`), `timeoutMs` has passed (`Infinity`: no timer) or `signal` aborts. An event source
   * waiting counts in {@link eventSourcesWanting} until the next turn of the event loop, not only
   * until it is served: a poller served room still has to receive its batch and invoke, and the
   * waiters served after it in the same turn must still leave it that room.
   */
  private async untilServed(source: InvocationSource, timeoutMs: number, options: WaitOptions): Promise<void> {
    if (options.signal?.aborted) return;
    if (source === "event-source") this.eventSourcesWanting += 1;
    try {
      await new Promise<void>((resolve) => {
        const leave = (): void => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          done();
        };
        const done = (): void => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", leave);
          resolve();
        };
        const waiter: Waiter = {
          source,
          age: options.age ?? Date.now(),
          seq: this.nextSeq++,
          attempt: options.attempt ?? (() => this.hasRoom(source)),
          wake: done,
        };
        const timer = Number.isFinite(timeoutMs) ? setTimeout(leave, timeoutMs) : undefined;
        options.signal?.addEventListener("abort", leave, { once: true });
        this.waiters.splice(this.servingPosition(waiter), 0, waiter);
      });
    } finally {
      if (source === "event-source") setImmediate(() => (this.eventSourcesWanting -= 1));
    }
  }

  /** Where a new waiter goes in {@link waiters}: after every waiter served before it (binary search). */
  private servingPosition(waiter: Waiter): number {
    let low = 0;
    let high = this.waiters.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (servedBefore(this.waiters[middle]!, waiter)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  snapshot(): ConcurrencySnapshot {
    return {
      limit: this.limit,
      reservedForRequests: this.reservedForRequests,
      inFlight: this.inFlight,
      fromEventSources: this.fromEventSources,
      maxEnvironments: this.maxEnvironments,
      environments: this.live,
      waiting: this.waiters.length,
      reclaimed: this.reclaimed,
      throttled: this.throttled,
    };
  }
}

/** Callers and Tasks first, then event sources (which wait, and have their own share: {@link AccountConcurrency.hasRoom}). */
const rank = (source: InvocationSource) => (source === "event-source" ? 1 : 0);

/** Whether `a` is served before `b`: by rank, then age, then arrival. */
function servedBefore(a: Waiter, b: Waiter): boolean {
  return (rank(a.source) - rank(b.source) || a.age - b.age || a.seq - b.seq) < 0;
}
