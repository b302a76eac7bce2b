/**
 * The function host's pool of environments: one invocation per environment at a time, only a dead
 * environment leaves the pool, the account reclaims the least recently used idle environment (never
 * a busy one), and an environment's listeners do not grow with its invocations. Plus what a handler
 * sees of its process (no arguments, the default ARN) and where its output goes by default.
 */
import * as fs from "node:fs";
import type { ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AccountConcurrency } from "../../../local/runtime/account-concurrency";
import type { FunctionHostOptions } from "../../../local/runtime/function-host";
import { FunctionHost } from "../../../local/runtime/function-host";
import type { Bundles, MainEvent, MainResult } from "./host-fixture";
import { idleDeaths, isAlive, markedPid, outcome, waitFor, within, writeBundles } from "./host-fixture";

let bundles: Bundles;
const hosts: FunctionHost[] = [];

beforeAll(() => {
  bundles = writeBundles("function-host-pool-");
});
// Each test's hosts stop after that test: their environments' exits count as its coverage (Stryker
// runs a mutant of the stop path against the tests that reach it, not against every test).
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(() => {
  bundles.remove();
});

function host(name: string, options: Partial<FunctionHostOptions> = {}, logs: string[] = []): FunctionHost {
  const h = new FunctionHost({ name, bundleDir: bundles.main, environment: {}, onLog: (line) => logs.push(line), ...options });
  hosts.push(h);
  return h;
}

const invoke = (h: FunctionHost, event: MainEvent = {}, options?: Parameters<FunctionHost["invoke"]>[1]) => h.invoke(event, options) as Promise<MainResult>;

/** An invocation held until `release()`; `pid` once its handler runs. */
async function held(h: FunctionHost): Promise<{ result: Promise<MainResult>; pid: number; release: () => Promise<MainResult> }> {
  const mark = bundles.file("mark");
  const until = bundles.file("release");
  const result = invoke(h, { mark, until });
  const pid = await markedPid(mark);
  return { result, pid, release: () => (fs.writeFileSync(until, ""), within(result, 10_000, "the released invocation")) };
}

/** Waits until Date.now() has moved past its value now (a millisecond at most). */
async function laterMs(): Promise<void> {
  const now = Date.now();
  while (Date.now() <= now) await new Promise((r) => setTimeout(r, 1));
}

/** The host's internals a white-box test looks at: its account and its environments' processes. */
const internals = (h: FunctionHost) => h as unknown as { account: AccountConcurrency; environments: { child: ChildProcess }[] };

describe("FunctionHost's pool of environments", () => {
  it("runs one invocation per environment: with concurrency 1 a second one waits for the warm environment, then gets it", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    const h = host("pool-one", { account });
    const { pid } = await invoke(h);
    const first = await held(h);
    expect(first.pid).toBe(pid);
    const second = invoke(h);
    // Taken synchronously or not at all: it is waiting now, and no environment was started for it.
    expect(h.coldStarts).toBe(1);
    expect(account.snapshot()).toMatchObject({ inFlight: 1, waiting: 1, environments: 1 });
    await first.release();
    expect(await within(second, 10_000, "the second invocation")).toMatchObject({ pid });
    expect(h.coldStarts).toBe(1);
  });

  it("takes only the dead environment out of the pool: the other one stays warm", async () => {
    const logs: string[] = [];
    const h = host("pool-two", { concurrency: 2 }, logs);
    const [a, b] = [await held(h), await held(h)];
    expect(a.pid).not.toBe(b.pid);
    await a.release();
    await b.release();
    // The first idle environment (a's) takes the next invocation; it dies under it.
    const c = await held(h);
    expect(c.pid).toBe(a.pid);
    process.kill(c.pid, "SIGKILL");
    expect(await outcome(c.result)).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: signal: killed" });
    expect((await invoke(h)).pid).toBe(b.pid);
    expect(h.coldStarts).toBe(2);
    expect(idleDeaths(logs)).toEqual([]);
  });

  it("reclaims the least recently used idle environment of the account, never a busy one, and counts its room once", async () => {
    const logs: string[] = [];
    const account = new AccountConcurrency({ limit: 2, maxEnvironments: 2 });
    const x = host("pool-x", { account, concurrency: 2 }, logs);
    const y = host("pool-y", { account }, logs);
    const reclaimedAtStart: object[] = [];
    const onStart = () => void reclaimedAtStart.push(account.snapshot());

    // 1. x's first environment (first in its pool) is the least recently used: it is reclaimed.
    const [a, b] = [await held(x), await held(x)];
    await a.release();
    await laterMs();
    await b.release();
    const fromY = await invoke(y, {}, { onStart });
    // When y's invocation starts, the room of the reclaimed environment is already its own.
    expect(reclaimedAtStart).toEqual([expect.objectContaining({ environments: 2, reclaimed: 1 })]);
    await waitFor(() => !isAlive(a.pid), "the reclaimed environment to exit");
    expect(isAlive(b.pid)).toBe(true);

    // 2. x's environment is busy and older than y's idle one: y's is reclaimed, not the busy one.
    const c = await held(x);
    expect(c.pid).toBe(b.pid);
    const d = await held(x);
    await waitFor(() => !isAlive(fromY.pid), "y's environment to be reclaimed");
    await c.release();

    // 3. Now x's second environment (last in its pool) is the least recently used: it is reclaimed.
    await d.release();
    // An environment's idle time is in ms: let the clock move on, so that the next end is strictly later.
    await laterMs();
    await invoke(x, {}); // b's environment again: the first idle one in the pool, now the most recent
    await invoke(y, {});
    await waitFor(() => !isAlive(d.pid), "x's least recently used environment to exit");
    expect((await invoke(x)).pid).toBe(b.pid);
    expect(account.snapshot()).toMatchObject({ reclaimed: 3, inFlight: 0, environments: 2 });
    // Reclaimed, not dead on their own: nothing is logged about them.
    expect(idleDeaths(logs)).toEqual([]);
  });

  it("abandons an invocation whose signal aborts even when the abort itself frees a slot", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    const h = host("pool-abort", { account });
    await invoke(h);
    account.begin("request"); // the account's one slot, held by someone else
    const controller = new AbortController();
    // Registered before the invocation's own listener: the slot is free when the account looks.
    controller.signal.addEventListener("abort", () => account.end("request"));
    const abandoned = outcome(invoke(h, {}, { source: "workflow", signal: controller.signal }));
    expect(account.snapshot()).toMatchObject({ waiting: 1 });
    controller.abort();
    expect(await abandoned).toMatchObject({ errorType: "ServiceUnavailable", message: "the invocation of pool-abort was abandoned before it started" });
    expect(account.snapshot()).toMatchObject({ inFlight: 0, waiting: 0 });
  });
});

describe("FunctionHost's environments", () => {
  it("a host without an account is bounded only by its own concurrency", () => {
    expect(internals(host("pool-alone")).account.limit).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("the handler sees no process arguments and the function's default ARN", async () => {
    expect(await invoke(host("pool-argv"))).toMatchObject({ argv: [], arn: "arn:aws:lambda:local:000000000000:function:pool-argv" });
  });

  it("prints an environment's output as [name] line when no onLog is given", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      const h = new FunctionHost({ name: "pool-print", bundleDir: bundles.main, environment: {} });
      hosts.push(h);
      await invoke(h, { log: "hello from the handler" });
      // The output travels on its own pipe and may arrive after the result.
      await waitFor(() => log.mock.calls.some((call) => call[0] === "[pool-print] hello from the handler"), "the printed line");
    } finally {
      log.mockRestore();
    }
  });

  it("logs an environment's process error on stderr instead of letting it take the cloud down", async () => {
    const lines: [string, string][] = [];
    const h = new FunctionHost({ name: "pool-error", bundleDir: bundles.main, environment: {}, onLog: (line, stream) => lines.push([line, stream]) });
    hosts.push(h);
    await invoke(h);
    internals(h).environments[0]!.child.emit("error", new Error("channel closed"));
    expect(lines).toContainEqual(["environment 1: channel closed", "stderr"]);
    expect(await invoke(h)).toMatchObject({ pid: expect.any(Number) });
  });

  it("an environment's listeners do not grow with its invocations", async () => {
    const h = host("pool-listeners", { timeoutSeconds: 5 });
    await invoke(h);
    const { child } = internals(h).environments[0]!;
    const exitListeners = child.listenerCount("exit");
    expect(child.listenerCount("message")).toBe(0);
    for (let i = 0; i < 12; i++) await invoke(h);
    expect(child.listenerCount("message")).toBe(0);
    expect(child.listenerCount("exit")).toBe(exitListeners);
    await expect(invoke(h, { throw: "nope" })).rejects.toMatchObject({ message: "nope" });
    expect(child.listenerCount("message")).toBe(0);
    expect(child.listenerCount("exit")).toBe(exitListeners);
  });
});
