/**
 * The local account's concurrency (issue 17): one bound on the invocations in flight across all
 * functions, one on the environments alive; a request that finds the account full waits briefly and
 * is then throttled as on AWS, an event source waits; environments start one at a time per function
 * and never inherit the cloud's loader.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AccountConcurrency, defaultAccountConcurrency, parseAccountConcurrency } from "../../../local/runtime/account-concurrency";
import { FunctionError, FunctionHost } from "../../../local/runtime/function-host";

let dir: string;
const hosts: FunctionHost[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "account-concurrency-"));
  // Sleeps `event.ms`, or until the file `event.until` exists, then answers its pid and what it was
  // started with.
  fs.writeFileSync(
    path.join(dir, "index.js"),
    `const fs = require("node:fs");
exports.handler = async (event) => {
  await new Promise((r) => setTimeout(r, event.ms ?? 0));
  while (event.until && !fs.existsSync(event.until)) await new Promise((r) => setTimeout(r, 10));
  return { pid: process.pid, execArgv: process.execArgv };
};`,
  );
});

// Each test's hosts stop when it ends, not all at the end: their environments' exits then count as
// that test's (mutation testing's per-test coverage), and no test inherits another's processes.
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function host(name: string, account: AccountConcurrency, concurrency = 10): FunctionHost {
  const h = new FunctionHost({ name, bundleDir: dir, environment: {}, concurrency, account, onLog: () => undefined });
  hosts.push(h);
  return h;
}

describe("AccountConcurrency", () => {
  it("sizes its default from cores and memory, and refuses a bad --concurrency with the reason", () => {
    expect(defaultAccountConcurrency(2, 24 * 2 ** 30)).toBe(8);
    expect(defaultAccountConcurrency(64, 2 * 2 ** 30)).toBe(4); // memory bounds it: 1 GiB at 256 MiB each
    expect(defaultAccountConcurrency(1, 2 ** 28)).toBe(2);
    expect(parseAccountConcurrency("12")).toBe(12);
    for (const bad of ["0", "-1", "1.5", "abc", "1001", ""]) expect(() => parseAccountConcurrency(bad)).toThrow(/whole number of environments from 1 to 1000/);
  });

  it("bounds the invocations in flight across functions: a request waits, then is throttled as on AWS", async () => {
    const account = new AccountConcurrency({ limit: 1, requestWaitMs: 300 });
    const a = host("fn-a", account);
    const b = host("fn-b", account);
    await b.invoke({}); // b has a warm environment
    const release = path.join(dir, "release-long");
    const long = a.invoke({ until: release });
    expect(account.snapshot()).toMatchObject({ inFlight: 1 });
    const started = Date.now();
    const refused = await b.invoke({}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FunctionError);
    expect(refused).toMatchObject({ errorType: "TooManyRequestsException", source: "service" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(account.snapshot()).toMatchObject({ limit: 1, inFlight: 1, throttled: 1 });
    // A Step Functions Task and an event source wait their turn instead.
    const queued = Promise.all([b.invoke({}, { source: "workflow" }), b.invoke({}, { source: "event-source" })]);
    await new Promise((r) => setTimeout(r, 400));
    expect(account.snapshot()).toMatchObject({ inFlight: 1, waiting: 2, throttled: 1 });
    fs.writeFileSync(release, "");
    const [task, waited] = await queued;
    expect(task).toMatchObject({ pid: expect.any(Number) });
    expect(waited).toMatchObject({ pid: expect.any(Number) });
    await long;
    expect(account.snapshot()).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it("keeps a quarter of the slots for requests: a bus backlog cannot take every slot from the API", async () => {
    const account = new AccountConcurrency({ limit: 4, requestWaitMs: 300 });
    const poller = host("fn-p", account);
    const api = host("fn-q", account);
    // The backlog's invocations hold their slots until the test releases them (a file it writes).
    const release = path.join(dir, "release-backlog");
    // Environments start one at a time: wait until the backlog holds every slot it may.
    const backlog = Array.from({ length: 5 }, () => poller.invoke({ until: release }, { source: "event-source" }));
    for (let waited = 0; account.snapshot().fromEventSources < 3 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(account.snapshot()).toMatchObject({ reservedForRequests: 1, fromEventSources: 3, inFlight: 3 });
    await expect(api.invoke({})).resolves.toMatchObject({ pid: expect.any(Number) });
    expect(account.snapshot()).toMatchObject({ fromEventSources: 3, waiting: 2 });
    fs.writeFileSync(release, "");
    await Promise.all(backlog);
  }, 60_000);

  it("scales a function up while its first environments are busy: each start that ends lets the next begin", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    const busy = host("fn-burst", account);
    const release = path.join(dir, "release-burst");
    const burst = Array.from({ length: 3 }, () => busy.invoke({ until: release }, { source: "workflow" }));
    // None of the three can end before the release: the second and third environments start only
    // because the end of each start asks the waiters again.
    for (let waited = 0; account.snapshot().environments < 3 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(account.snapshot()).toMatchObject({ environments: 3, inFlight: 3, waiting: 0 });
    fs.writeFileSync(release, "");
    expect(new Set((await Promise.all(burst)).map((r) => (r as { pid: number }).pid)).size).toBe(3);
  });

  it("never starves event sources: while a poller waits, Step Functions Tasks leave it its quarter", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    expect(account.reservedForEventSources).toBe(1);
    for (let i = 0; i < 4; i++) {
      // No event source wants a slot: Tasks may take every one.
      expect(account.hasRoom("workflow")).toBe(true);
      account.begin("workflow");
    }
    const poller = account.roomFor("event-source", 5000);
    account.end("workflow");
    // A slot is free, and it is the waiting poller's: not a Task's, though a request may have it.
    expect(account.hasRoom("workflow")).toBe(false);
    expect(account.hasRoom("request")).toBe(true);
    expect(account.hasRoom("event-source")).toBe(true);
    await expect(poller).resolves.toBe(true);
    account.begin("event-source");
    expect(account.hasRoom("workflow")).toBe(false); // full: 4 of 4
    // With its quarter held, the event sources no longer hold Tasks back.
    account.end("workflow");
    await new Promise((resolve) => setImmediate(resolve));
    expect(account.hasRoom("workflow")).toBe(true);
    expect(account.snapshot()).toMatchObject({ inFlight: 3, fromEventSources: 1, waiting: 0 });
  });

  it("hands the freed slot to the starved poller, not to the Task waiting before it", async () => {
    const account = new AccountConcurrency({ limit: 4 });
    for (let i = 0; i < 4; i++) account.begin("workflow");
    const events: string[] = [];
    const task = account.wait("workflow", "fn-t", Date.now()).then(() => events.push(`task served, room ${account.hasRoom("workflow")}`));
    const poller = account.roomFor("event-source", 5000).then((room) => events.push(`poller served, room ${room}`));
    account.end("workflow");
    await poller;
    // The Task waits first and ranks before event sources, but the freed slot is the poller's share.
    expect(events).toEqual(["poller served, room true"]);
    expect(account.snapshot()).toMatchObject({ waiting: 1 });
    account.begin("event-source"); // the poller's invocation takes it
    account.end("workflow"); // with its share held, the next slot is the Task's
    await task;
    expect(events).toEqual(["poller served, room true", "task served, room true"]);
  });

  /** Waits for a slot as `source` aged `age`, taking it when served; records who was served in `served`. */
  function waitTaking(account: AccountConcurrency, served: string[], name: string, source: "request" | "workflow" | "event-source", age: number): Promise<void> {
    const attempt = () => account.hasRoom(source) && (account.begin(source), served.push(name), true);
    return account.wait(source, name, Date.now(), true, { age, attempt });
  }

  it("serves the oldest work first: a Task of an older execution before newer ones and before a later request", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    account.begin("workflow");
    const served: string[] = [];
    const now = Date.now();
    const waits = [
      waitTaking(account, served, "task of the execution started 1 s ago", "workflow", now - 1000),
      waitTaking(account, served, "request arriving now", "request", now),
      waitTaking(account, served, "task of the execution started 5 s ago", "workflow", now - 5000),
      waitTaking(account, served, "event source, oldest of all", "event-source", now - 60_000),
      waitTaking(account, served, "task of the execution started 3 s ago", "workflow", now - 3000),
    ];
    for (let i = 0; i < 5; i++) {
      account.end("workflow"); // frees the one slot; `served` shows who took it
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(waits);
    expect(served).toEqual([
      "task of the execution started 5 s ago",
      "task of the execution started 3 s ago",
      "task of the execution started 1 s ago",
      "request arriving now",
      "event source, oldest of all",
    ]);
  });

  it("hands one freed slot to one waiter: the others are not woken (thousands of Tasks woken per slot cost more than the work)", async () => {
    const account = new AccountConcurrency({ limit: 2 });
    account.begin("workflow");
    account.begin("workflow");
    let attempts = 0;
    const served: number[] = [];
    const waits = Array.from({ length: 100 }, (_, i) =>
      account.wait("workflow", "fn", Date.now(), true, {
        age: i,
        attempt: () => (attempts++, account.hasRoom("workflow") && (account.begin("workflow"), served.push(i), true)),
      }),
    );
    account.end("workflow");
    await waits[0];
    expect(served).toEqual([0]);
    expect(attempts).toBe(1); // the first waiter took it; the account was full again, nobody else was asked
    expect(account.snapshot()).toMatchObject({ inFlight: 2, waiting: 99 });
    account.wakeAll();
    await Promise.all(waits);
  });

  it("drops a waiter whose signal aborts (a stopped execution's Task), and a host refuses the abandoned invocation", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    const a = host("fn-abandon", account);
    const long = a.invoke({ ms: 500 });
    const controller = new AbortController();
    const abandoned = a.invoke({}, { source: "workflow", signal: controller.signal }).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 50));
    expect(account.snapshot()).toMatchObject({ waiting: 1 });
    controller.abort();
    expect(account.snapshot()).toMatchObject({ waiting: 0 });
    expect(await abandoned).toMatchObject({ errorType: "ServiceUnavailable", message: "the invocation of fn-abandon was abandoned before it started" });
    await long;
    expect(account.snapshot()).toMatchObject({ inFlight: 0 });
  });

  it("calls onStart when the invocation has its slot, not while it waits for one", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    const a = host("fn-onstart", account);
    await a.invoke({}); // warm
    const long = a.invoke({ ms: 400 });
    let startedAt = 0;
    const queuedAt = Date.now();
    const waited = a.invoke({}, { source: "workflow", onStart: () => (startedAt = Date.now()) });
    await new Promise((r) => setTimeout(r, 100));
    expect(startedAt).toBe(0);
    await Promise.all([long, waited]);
    expect(startedAt - queuedAt).toBeGreaterThanOrEqual(250);
  });

  it("reclaims the least recently used idle environment when the environments are at their bound", async () => {
    const account = new AccountConcurrency({ limit: 1, maxEnvironments: 1 });
    const a = host("fn-c", account);
    const b = host("fn-d", account);
    await a.invoke({});
    await b.invoke({});
    expect(account.snapshot()).toMatchObject({ environments: 1, reclaimed: 1 });
    expect(a.coldStarts + b.coldStarts).toBe(2);
  });

  it("starts one environment at a time per function and forks it without the cloud's loader", async () => {
    const account = new AccountConcurrency({ limit: 10 });
    const c = host("fn-e", account, 10);
    const results = (await Promise.all(Array.from({ length: 6 }, () => c.invoke({ ms: 5 })))) as { pid: number; execArgv: string[] }[];
    // A burst of six on a cold function: the first environment serves the ones that waited for it,
    // so fewer than six start (each start is a synchronous fork and hundreds of ms of CPU).
    expect(c.coldStarts).toBeLessThan(6);
    expect(new Set(results.map((r) => r.pid)).size).toBe(c.coldStarts);
    for (const r of results) expect(r.execArgv).toEqual([]);
  });
});
