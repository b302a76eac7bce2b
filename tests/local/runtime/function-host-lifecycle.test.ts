/**
 * How an invocation ends, and what the host gives back each time: Lambda's exact messages (a
 * timeout, a crash, an exit, a bundle whose init throws, each injected fault), the retry of an
 * invocation whose environment died before it reached it, and the account's counters (`inFlight`,
 * `environments`) back to what they were after every kind of end, including a start that fails.
 * Then `stop()`: it waits for the invocations in flight, ends the ones waiting for a slot at once,
 * and leaves no process behind.
 */
import * as fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FunctionFaultKind } from "../../../local/faults/spec";
import { AccountConcurrency } from "../../../local/runtime/account-concurrency";
import type { FunctionHostOptions } from "../../../local/runtime/function-host";
import { FunctionHost } from "../../../local/runtime/function-host";
import type { Bundles, MainEvent, MainResult } from "./host-fixture";
import { FunctionError, idleDeaths, isAlive, markedPid, outcome, waitFor, within, writeBundles } from "./host-fixture";

let bundles: Bundles;
const hosts: FunctionHost[] = [];

beforeAll(() => {
  bundles = writeBundles("function-host-lifecycle-");
});
// Each test's hosts stop after that test: their environments' exits count as its coverage (Stryker
// runs a mutant of the stop path against the tests that reach it, not against every test).
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(() => {
  bundles.remove();
});

/** A host of the `main` bundle named `lc-fn`, its log lines in `logs`. */
function host(logs: string[], options: Partial<FunctionHostOptions> = {}): FunctionHost {
  const h = new FunctionHost({ name: "lc-fn", bundleDir: bundles.main, environment: {}, onLog: (line) => logs.push(line), ...options });
  hosts.push(h);
  return h;
}

const invoke = (h: FunctionHost, event: MainEvent = {}, options?: Parameters<FunctionHost["invoke"]>[1]) => h.invoke(event, options) as Promise<MainResult>;

describe("FunctionHost: how an invocation ends", () => {
  it("a profiled environment stuck in synchronous code is terminated 2 s after it was asked to exit, its invocation timed out", async () => {
    const profiles = bundles.file("profiles");
    const h = host([], { timeoutSeconds: 1, cpuProfileDir: profiles });
    const mark = bundles.file("spinning");
    const spinning = outcome(invoke(h, { mark, spin: true }));
    const pid = await markedPid(mark);
    try {
      expect(await within(spinning, 10_000, "the spinning invocation")).toMatchObject({ errorType: "Sandbox.Timedout", message: "Task timed out after 1.00 seconds" });
      // A profiled environment is asked to exit by closing its channel (so it writes its profile);
      // spinning, it never reads that, and only the signal 2 s later ends it.
      expect(isAlive(pid)).toBe(true);
      await waitFor(() => !isAlive(pid), "the spinning environment's end", 10_000);
    } finally {
      // Out of the host's pool once timed out: if the host failed to end it, nothing else would.
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });

  it("an invocation that outlives its timeout fails with Lambda's message and takes its environment with it; one waiting for its room starts after it exited", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 1, maxEnvironments: 1 });
    const h = host(logs, { timeoutSeconds: 1, account });
    // A quick invocation first: its own timer must be disarmed by its result, or it would kill the
    // environment under the next invocation. 300 ms apart, so that such a timer would fire well
    // before the next invocation's own (and the kill take effect first).
    const { pid } = await invoke(h);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const hanging = outcome(invoke(h, { until: bundles.file("never") }));
    // A Task waits for the one slot; it may start only once the timed-out environment is gone (the
    // account has room for one environment, and that one is still exiting when the slot frees),
    // and only once: never on the dying environment (onStart would be called for each try).
    const previousAliveAtStarts: boolean[] = [];
    const waiting = invoke(h, {}, { source: "workflow", onStart: () => void previousAliveAtStarts.push(isAlive(pid)) });
    // 10 s: the timeout is 1 s; a timer that never fires fails here rather than at the test's timeout.
    expect(await within(hanging, 10_000, "the hanging invocation")).toMatchObject({
      errorType: "Sandbox.Timedout",
      message: "Task timed out after 1.00 seconds",
      functionName: "lc-fn",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    const next = await within(waiting, 10_000, "the waiting invocation");
    expect(previousAliveAtStarts).toEqual([false]);
    expect(isAlive(pid)).toBe(false);
    expect(next.pid).not.toBe(pid);
    expect(h.coldStarts).toBe(2);
    // Killed for its timeout, not dead while idle: nothing logged about it.
    expect(idleDeaths(logs)).toEqual([]);
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 1, waiting: 0 });
  });

  it("a crash of the environment during an invocation: Runtime.ExitError with the exit status or the signal", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 4 });
    const h = host(logs, { account });
    const exit = await outcome(invoke(h, { exit: 1 }));
    expect(exit).toBeInstanceOf(FunctionError);
    expect(exit).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: exit status 1", functionName: "lc-fn", source: "function" });
    const mark = bundles.file("mark");
    const killed = outcome(invoke(h, { mark, until: bundles.file("never") }));
    process.kill(await markedPid(mark), "SIGTERM");
    expect(await killed).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: signal: term" });
    expect(idleDeaths(logs)).toEqual([]);
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
    expect(h.coldStarts).toBe(2);
  });

  it("the death of an idle environment is logged once, in Lambda's words, and its room given back", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 4 });
    const h = host(logs, { account });
    const { pid } = await invoke(h);
    process.kill(pid, "SIGTERM");
    await waitFor(() => account.snapshot().environments === 0, "the environment's room back");
    expect(idleDeaths(logs)).toEqual(["environment 1 runtime exited with error: signal: term while idle; the next invocation starts a fresh one"]);
    expect((await invoke(h)).pid).not.toBe(pid);
    expect(idleDeaths(logs)).toHaveLength(1);
  });

  it("a handler's error is the invocation's, by its name and message; one without either is Error / unknown error", async () => {
    const h = host([]);
    expect(await outcome(invoke(h, { throw: "nope" }))).toMatchObject({ errorType: "Error", message: "nope", functionName: "lc-fn" });
    expect(await outcome(invoke(h, { throw: "bad input", name: "ValidationError" }))).toMatchObject({ errorType: "ValidationError", message: "bad input" });
    expect(await outcome(invoke(h, { throwString: "boom" }))).toMatchObject({ errorType: "Error", message: "boom" });
    expect(await outcome(invoke(h, { throwBare: true }))).toMatchObject({ errorType: "Error", message: "unknown error" });
    // The environment survives its handler's errors.
    expect(h.coldStarts).toBe(1);
  });

  it("only the invocation's own messages end it: a stray message from the handler is ignored", async () => {
    const h = host([]);
    expect(await invoke(h, { stray: true })).toMatchObject({ pid: expect.any(Number) });
  });

  it("a bundle whose init throws fails with Runtime.ImportModuleError, and its environment is out of the pool at once", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 4 });
    const h = host(logs, { bundleDir: bundles.broken, account });
    expect(await outcome(h.invoke({}))).toMatchObject({ errorType: "Runtime.ImportModuleError", message: "init boom", functionName: "lc-fn" });
    expect(account.snapshot()).toMatchObject({ inFlight: 0 });
    // The next invocation starts its own environment right away (the failed one no longer counts
    // against the function's concurrency of 1, though its process may still be exiting).
    const again = outcome(h.invoke({}));
    expect(h.coldStarts).toBe(2);
    expect(await again).toMatchObject({ errorType: "Runtime.ImportModuleError", message: "init boom" });
    await waitFor(() => account.snapshot().environments === 0, "the environments' room back");
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
    expect(idleDeaths(logs)).toEqual([]);
    // An init error without a message still says what failed.
    const bare = host([], { bundleDir: bundles.brokenBare });
    expect(await outcome(bare.invoke({}))).toMatchObject({ errorType: "Runtime.ImportModuleError", message: "init failed" });
  });

  it("an environment that cannot be forked fails the invocation and gives its slot and room back", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    // A NUL byte in a variable: Node refuses to spawn the process.
    const h = host([], { environment: { BAD: "a\0b" }, account });
    for (let i = 1; i <= 2; i++) {
      const error = await within(outcome(h.invoke({})), 10_000, `invocation ${i}`);
      expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
      expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
    }
    expect(h.coldStarts).toBe(2);
  });

  it("an invocation whose environment dies before it arrives moves to a fresh one, at most twice, then fails with Runtime.ExitError", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    const h = host([], { bundleDir: bundles.vanishing, account });
    // 20 s: three environment starts, each up to ~1 s on a loaded machine; an endless retry fails here.
    const error = await within(outcome(h.invoke({})), 20_000, "the invocation");
    expect(error).toMatchObject({
      errorType: "Runtime.ExitError",
      message: "Runtime exited with error: exit status 1 (before the invocation reached it)",
      functionName: "lc-fn",
    });
    expect(h.coldStarts).toBe(3);
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
  });
});

describe("FunctionHost: injected faults (local/faults)", () => {
  let fault: FunctionFaultKind | undefined;
  let crashDelayMs = 0;
  const faulty = (logs: string[], account: AccountConcurrency) =>
    host(logs, { account, faults: { functionFault: (name) => (name === "lc-fn" ? fault : undefined), crashDelayMs: () => crashDelayMs } });

  it("throttle and throw fail at once, without an environment", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    const h = faulty([], account);
    fault = "throttle";
    const throttled = await outcome(h.invoke({}));
    expect(throttled).toBeInstanceOf(FunctionError);
    expect(throttled).toMatchObject({ errorType: "TooManyRequestsException", message: "Rate Exceeded. (injected fault)", functionName: "lc-fn", source: "service" });
    fault = "throw";
    expect(await outcome(h.invoke({}))).toMatchObject({ errorType: "InjectedFault", message: "The handler of lc-fn failed (injected fault)", functionName: "lc-fn", source: "function" });
    expect(h.coldStarts).toBe(0);
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
  });

  it("timeout is reported at once with the function's timeout, and kills the environment", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 4 });
    const h = faulty(logs, account);
    fault = undefined;
    const { pid } = await invoke(h);
    fault = "timeout";
    // The default timeout is 30 s: the fault is reported long before it.
    expect(await within(outcome(h.invoke({})), 10_000, "the timed-out invocation")).toMatchObject({
      errorType: "Sandbox.Timedout",
      message: "Task timed out after 30.00 seconds (injected fault)",
      functionName: "lc-fn",
    });
    expect(isAlive(pid)).toBe(false);
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
    fault = undefined;
    expect((await invoke(h)).pid).not.toBe(pid);
    expect(idleDeaths(logs)).toEqual([]);
  });

  it("crash kills the environment during the invocation (Runtime.ExitError), after crashDelayMs", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 4 });
    const h = faulty(logs, account);
    fault = "crash";
    crashDelayMs = 0;
    const crashed = within(outcome(invoke(h, { until: bundles.file("never") })), 10_000, "the crashing invocation");
    expect(await crashed).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: signal: killed" });
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0 });
    // A crash due long after the handler ends: the result stands (the kill is due in 60 s; stop() ends the environment first).
    crashDelayMs = 60_000;
    const mark = bundles.file("mark");
    const release = bundles.file("release");
    const late = invoke(h, { mark, until: release });
    await markedPid(mark);
    fs.writeFileSync(release, "");
    expect(await late).toMatchObject({ pid: expect.any(Number) });
    expect(idleDeaths(logs)).toEqual([]);
  });
});

describe("FunctionHost.stop", () => {
  it("waits for the invocations in flight, ends the waiting ones at once, refuses new ones, and leaves no process", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 4 });
    const h = host(logs, { account });
    const mark = bundles.file("mark");
    const release = bundles.file("release");
    const events: string[] = [];
    const running = invoke(h, { mark, until: release }).then((r) => (events.push("running ended"), r));
    const pid = await markedPid(mark);
    // Waits for the function's only environment (concurrency 1), without limit (a Task).
    const waiting = outcome(invoke(h, {}, { source: "workflow" }));
    expect(account.snapshot()).toMatchObject({ inFlight: 1, waiting: 1 });
    const stopped = h.stop().then(() => events.push("stopped"));
    expect(await within(waiting, 5000, "the waiting invocation")).toMatchObject({ errorType: "ServiceUnavailable", message: "function lc-fn is stopping", functionName: "lc-fn" });
    expect(events).toEqual([]);
    fs.writeFileSync(release, "");
    expect(await within(running, 10_000, "the running invocation")).toMatchObject({ pid });
    await within(stopped, 10_000, "stop()");
    expect(events).toEqual(["running ended", "stopped"]);
    expect(isAlive(pid)).toBe(false);
    expect(await outcome(h.invoke({}))).toMatchObject({ errorType: "ServiceUnavailable", message: "function lc-fn is stopping" });
    expect(h.coldStarts).toBe(1);
    expect(account.snapshot()).toMatchObject({ inFlight: 0, environments: 0, waiting: 0 });
    expect(idleDeaths(logs)).toEqual([]);
  });
});
