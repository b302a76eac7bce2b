/**
 * The local account's rules on their own, without function environments: its sizes and shares,
 * the counts it keeps, how it parses `--concurrency`, environment room and reclaiming, and the
 * details of waiting (ties, a wait that must not start, what a served waiter leaves behind, a
 * slot freed while slots are being handed out). `account-concurrency.test.ts` has the behaviour
 * with real function hosts.
 */
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AccountConcurrency, parseAccountConcurrency } from "../../../local/runtime/account-concurrency";
import type { EnvironmentOwner } from "../../../local/runtime/account-concurrency";
import { FunctionError } from "../../../local/runtime/function-host-errors";

/** Resolves after the promises queued now, and the next turn of the event loop. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Settles with `value`, or with "still waiting" if `promise` has not settled by the next turn. */
async function settledNow<T>(promise: Promise<T>): Promise<T | "still waiting"> {
  return Promise.race([promise, nextTurn().then(() => "still waiting" as const)]);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("sizes and shares", () => {
  it("accepts --concurrency from 1 to 1000 with spaces around it", () => {
    expect(parseAccountConcurrency("1")).toBe(1);
    expect(parseAccountConcurrency("1000")).toBe(1000);
    expect(parseAccountConcurrency(" 12 ")).toBe(12);
  });

  it("refuses a limit that is not a whole number of at least 1, saying which", () => {
    for (const limit of [0, -2, 1.5]) expect(() => new AccountConcurrency({ limit })).toThrow(`account concurrency must be a whole number of at least 1, got ${limit}`);
  });

  it("keeps at least as many environments as invocations, a quarter of the slots for callers and a quarter for event sources", () => {
    expect(new AccountConcurrency({ limit: 8, maxEnvironments: 2 }).snapshot()).toMatchObject({ limit: 8, maxEnvironments: 8, reservedForRequests: 2 });
    expect(new AccountConcurrency({ limit: 2, maxEnvironments: 10 }).snapshot()).toMatchObject({ maxEnvironments: 10, reservedForRequests: 1 });
    expect(new AccountConcurrency({ limit: 1 }).snapshot()).toMatchObject({ reservedForRequests: 0 });
    expect(new AccountConcurrency({ limit: 8 }).reservedForEventSources).toBe(2);
  });

  it("lets event sources hold every slot but the callers' quarter, and counts them as they end", () => {
    const account = new AccountConcurrency({ limit: 4 });
    for (let i = 0; i < 3; i++) {
      expect(account.hasRoom("event-source")).toBe(true);
      account.begin("event-source");
    }
    expect(account.hasRoom("event-source")).toBe(false);
    expect(account.hasRoom("request")).toBe(true);
    account.end("event-source");
    expect(account.snapshot()).toMatchObject({ inFlight: 2, fromEventSources: 2 });
    account.end("event-source");
    account.end("event-source");
    account.end("event-source"); // one end too many: the counts stay at zero
    expect(account.snapshot()).toMatchObject({ inFlight: 0, fromEventSources: 0 });
  });
});

describe("environments", () => {
  /** An owner with one idle environment since `since`, which it stops when asked (giving its room back). */
  function owner(account: AccountConcurrency, since: number | undefined, stopped: string[], name: string, stops = true): EnvironmentOwner {
    return {
      oldestIdleSince: () => since,
      reclaimIdle: () => {
        if (!stops) return false;
        stopped.push(name);
        account.removeEnvironment();
        return true;
      },
    };
  }

  it("reclaims the least recently used idle environment of any function when all room is taken", () => {
    const account = new AccountConcurrency({ limit: 1, maxEnvironments: 1 });
    const stopped: string[] = [];
    account.register(owner(account, undefined, stopped, "busy"));
    account.register(owner(account, 200, stopped, "newer"));
    account.register(owner(account, 100, stopped, "older"));
    account.register(owner(account, 300, stopped, "newest"));
    expect(account.tryAddEnvironment()).toBe(true);
    expect(account.snapshot()).toMatchObject({ environments: 1, reclaimed: 0 });
    expect(account.tryAddEnvironment()).toBe(true);
    expect(stopped).toEqual(["older"]);
    expect(account.snapshot()).toMatchObject({ environments: 1, reclaimed: 1 });
  });

  it("finds no room when no environment is idle, or the idle one cannot be stopped", () => {
    const account = new AccountConcurrency({ limit: 1, maxEnvironments: 1 });
    const stopped: string[] = [];
    account.register(owner(account, undefined, stopped, "busy"));
    expect(account.tryAddEnvironment()).toBe(true);
    expect(account.tryAddEnvironment()).toBe(false);
    account.register(owner(account, 100, stopped, "starting", false));
    expect(account.tryAddEnvironment()).toBe(false);
    expect(account.snapshot()).toMatchObject({ environments: 1, reclaimed: 0 });
  });

  it("counts an environment gone, and hands its room to a waiter for one", async () => {
    const account = new AccountConcurrency({ limit: 2, maxEnvironments: 2 });
    expect(account.tryAddEnvironment() && account.tryAddEnvironment()).toBe(true);
    const waiting = account.wait("workflow", "fn", Date.now(), true, { attempt: () => account.tryAddEnvironment() });
    expect(await settledNow(waiting)).toBe("still waiting");
    account.removeEnvironment();
    expect(await settledNow(waiting)).toBeUndefined();
    expect(account.snapshot()).toMatchObject({ environments: 2, waiting: 0 });
    account.removeEnvironment();
    expect(account.snapshot()).toMatchObject({ environments: 1 });
  });
});

describe("waiting", () => {
  it("throttles a request once it has waited requestWaitMs, with the account's limit in the message", async () => {
    vi.spyOn(Date, "now").mockReturnValue(1_000_000);
    const account = new AccountConcurrency({ limit: 1, requestWaitMs: 50 });
    account.begin("request");
    // Exactly requestWaitMs since it arrived: no time is left.
    const refused = await account.wait("request", "fn-a", 1_000_000 - 50).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FunctionError);
    expect(refused).toMatchObject({
      errorType: "TooManyRequestsException",
      message: "Rate Exceeded. (the local account's 1 concurrent invocations stayed in use for 50 ms; raise them with --concurrency)",
      functionName: "fn-a",
      source: "service",
    });
    expect(account.snapshot()).toMatchObject({ throttled: 1, waiting: 0 });
  });

  it("bounds a request's wait unless told otherwise", async () => {
    const account = new AccountConcurrency({ limit: 1, requestWaitMs: 30 });
    account.begin("request");
    // The first wait ends after the time left; the host then asks again, and is throttled.
    await account.wait("request", "fn", Date.now());
    await expect(account.wait("request", "fn", Date.now() - 30)).rejects.toMatchObject({ errorType: "TooManyRequestsException" });
    const unbounded = account.wait("request", "fn", Date.now() - 30, false);
    expect(await settledNow(unbounded)).toBe("still waiting");
    account.end("request");
    expect(await settledNow(unbounded)).toBeUndefined();
  });

  it("answers at once when there is room, without waiting for a change", async () => {
    const account = new AccountConcurrency({ limit: 2 });
    expect(await settledNow(account.roomFor("event-source", 5000))).toBe(true);
  });

  it("does not queue a wait whose signal has already aborted", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    account.begin("workflow");
    const signal = AbortSignal.abort();
    expect(await settledNow(account.wait("workflow", "fn", Date.now(), true, { signal }))).toBeUndefined();
    expect(account.snapshot()).toMatchObject({ waiting: 0 });
  });

  it("serves waiters of the same rank and age in arrival order", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    account.begin("workflow");
    const served: string[] = [];
    const take = (name: string) => () => account.hasRoom("workflow") && (account.begin("workflow"), served.push(name), true);
    const waits = ["first", "second", "third"].map((name) => account.wait("workflow", name, 5, true, { age: 5, attempt: take(name) }));
    for (let i = 0; i < 3; i++) account.end("workflow");
    await Promise.all(waits);
    expect(served).toEqual(["first", "second", "third"]);
  });

  it("leaves no timer and no abort listener behind once a waiter is served", async () => {
    vi.useFakeTimers();
    const account = new AccountConcurrency({ limit: 1, requestWaitMs: 10_000 });
    account.begin("request");
    const controller = new AbortController();
    const waiting = account.wait("workflow", "fn", Date.now(), true, { signal: controller.signal });
    const request = account.wait("request", "fn", Date.now());
    expect(vi.getTimerCount()).toBe(1); // the request's; the Task waits without a timer
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    account.end("request");
    await Promise.all([waiting, request]);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("counts a poller as waiting until the turn after its wait ends, and only pollers", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    for (let i = 0; i < 4; i++) account.begin("workflow");
    // A poller's wait that times out: once the turn has passed, Tasks may take every slot again.
    expect(await account.roomFor("event-source", 20)).toBe(false);
    await nextTurn();
    account.end("workflow");
    expect(account.hasRoom("workflow")).toBe(true);
    // A caller's wait that ends while a poller still waits leaves the poller's share alone.
    account.begin("workflow");
    const poller = account.roomFor("event-source", 5000);
    expect(await account.roomFor("request", 20)).toBe(false);
    await nextTurn();
    account.end("workflow"); // the poller is served this slot; it still counts until the next turn
    expect(account.hasRoom("workflow")).toBe(false);
    expect(await poller).toBe(true);
  });
});

describe("handing out slots", () => {
  it("asks nobody when a slot is given back in the same turn it was taken (notify: false)", async () => {
    const account = new AccountConcurrency({ limit: 2 });
    account.begin("workflow");
    const asked: string[] = [];
    // A waiter held back by something else than the account (its function's own limit), with a slot free.
    let mayStart = false;
    const waiting = account.wait("workflow", "fn", Date.now(), true, { attempt: () => (asked.push("asked"), mayStart) });
    account.begin("request");
    account.end("request", false);
    expect(asked).toEqual([]);
    mayStart = true;
    account.end("workflow");
    await waiting;
    expect(asked).toEqual(["asked"]);
  });

  it("does not ask a waiter twice when its own attempt frees something (a reclaimed environment)", async () => {
    const account = new AccountConcurrency({ limit: 2 });
    account.begin("request");
    account.begin("request");
    const asked: string[] = [];
    const first = account.wait("workflow", "a", 1, true, {
      age: 1,
      attempt: () => {
        asked.push("a");
        if (!account.hasRoom("workflow")) return false;
        account.begin("workflow");
        account.changed(); // what stopping a reclaimed idle environment does, from inside the attempt
        return true;
      },
    });
    const second = account.wait("workflow", "b", 2, true, { age: 2, attempt: () => (asked.push("b"), account.hasRoom("workflow") && (account.begin("workflow"), true)) });
    account.end("request");
    await first;
    expect(asked).toEqual(["a"]);
    account.end("request");
    await second;
    expect(asked).toEqual(["a", "b"]);
  });

  it("looks again when an attempt frees a slot that a waiter asked earlier in the same pass could use", async () => {
    const account = new AccountConcurrency({ limit: 2 });
    const served: string[] = [];
    // The older waiter needs an environment as well as a slot (a function at its own limit)...
    let environmentFree = false;
    const older = account.wait("workflow", "older", 1, true, { age: 1, attempt: () => environmentFree && (account.begin("workflow"), served.push("older"), true) });
    // ...which the younger waiter's attempt frees, as stopping a reclaimed idle environment does.
    const younger = account.wait("workflow", "younger", 2, true, {
      age: 2,
      attempt: () => {
        environmentFree = true;
        account.changed();
        served.push("younger");
        return true;
      },
    });
    account.changed();
    await Promise.all([older, younger]);
    expect(served).toEqual(["younger", "older"]);
    expect(account.snapshot()).toMatchObject({ inFlight: 1, waiting: 0 });
  });
});
