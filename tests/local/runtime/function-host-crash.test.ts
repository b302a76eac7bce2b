/**
 * Environments die and the host outlives them (issue 16). Each test kills an environment's process
 * with SIGKILL, as a crashed or OOM-killed Lambda environment disappears, at one moment of its life:
 * idle, just before an invocation reaches it, during init, during an invocation, and while its
 * result is in flight. The invocation it was running fails as on Lambda (`Runtime.ExitError`); the
 * next one gets a fresh environment.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FunctionError, FunctionHost } from "../../../local/runtime/function-host";

let dir: string;
const hosts: FunctionHost[] = [];

/**
 * The bundle: at init it writes its pid to `$PID_DIR/init-<pid>` and, while `$PID_DIR/slow-init`
 * exists, sleeps in init; each invocation writes `$PID_DIR/invoke-<pid>` and then does what the
 * event says.
 */
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "function-host-crash-"));
  buildSync({
    stdin: {
      contents: `
        const fs = require("node:fs");
        const path = require("node:path");
        const pidDir = process.env.PID_DIR;
        fs.writeFileSync(path.join(pidDir, "init-" + process.pid), "");
        while (fs.existsSync(path.join(pidDir, "slow-init"))) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        exports.handler = async (event) => {
          fs.writeFileSync(path.join(pidDir, "invoke-" + process.pid), "");
          if (event.mode === "hang") await new Promise(() => setInterval(() => undefined, 1000));
          if (event.mode === "exit-after-result") setImmediate(() => process.exit(3));
          return { pid: process.pid };
        };`,
      resolveDir: dir,
      loader: "js",
    },
    platform: "node",
    target: "node22",
    format: "cjs",
    outfile: path.join(dir, "bundle", "index.js"),
    logLevel: "silent",
  });
});
// Each test's hosts stop after that test: their environments' exits count as its coverage (Stryker
// runs a mutant of the stop path against the tests that reach it, not against every test).
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function host(logs: string[] = []): { host: FunctionHost; pids: string } {
  const pids = fs.mkdtempSync(path.join(dir, "pids-"));
  const h = new FunctionHost({
    name: "crash-test-fn",
    bundleDir: path.join(dir, "bundle"),
    environment: { PID_DIR: pids },
    timeoutSeconds: 20,
    onLog: (line) => logs.push(line),
  });
  hosts.push(h);
  return { host: h, pids };
}

/** Waits for the file `<prefix>-<pid>` to appear in `pids` and returns the pid. */
async function pidOf(pids: string, prefix: "init" | "invoke", except: number[] = []): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const found = fs.readdirSync(pids).filter((f) => f.startsWith(`${prefix}-`)).map((f) => Number(f.split("-")[1])).find((p) => !except.includes(p));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${prefix} pid in ${pids}`);
}

async function exited(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The error an invocation rejected with, or "resolved". */
async function outcome(invocation: Promise<unknown>): Promise<FunctionError | "resolved"> {
  try {
    await invocation;
    return "resolved";
  } catch (error) {
    if (error instanceof FunctionError) return error;
    throw error;
  }
}

describe("FunctionHost when an environment dies", () => {
  it("idle: the next invocation gets a fresh environment, and the death is logged", async () => {
    const logs: string[] = [];
    const { host: h } = host(logs);
    const first = (await h.invoke({})) as { pid: number };
    process.kill(first.pid, "SIGKILL");
    await exited(first.pid);
    const second = (await h.invoke({})) as { pid: number };
    expect(second.pid).not.toBe(first.pid);
    expect(h.coldStarts).toBe(2);
    expect(logs).toContain("environment 1 runtime exited with error: signal: killed while idle; the next invocation starts a fresh one");
  });

  it("just before an invocation reaches it: the invocation runs on a fresh environment, unaware", async () => {
    const { host: h } = host();
    const first = (await h.invoke({})) as { pid: number };
    process.kill(first.pid, "SIGKILL"); // not waited for: the host may not have seen the exit yet
    const second = (await h.invoke({})) as { pid: number };
    expect(second.pid).not.toBe(first.pid);
  });

  it("during init: the invocation fails with Runtime.ExitError, the next one starts a new environment", async () => {
    const { host: h, pids } = host();
    fs.writeFileSync(path.join(pids, "slow-init"), "");
    const invocation = outcome(h.invoke({}));
    const pid = await pidOf(pids, "init");
    process.kill(pid, "SIGKILL");
    const error = await invocation;
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: signal: killed (during init)" });
    fs.rmSync(path.join(pids, "slow-init"));
    expect(((await h.invoke({})) as { pid: number }).pid).not.toBe(pid);
  });

  it("during an invocation: it fails with Runtime.ExitError, as Lambda reports a crash; the next one succeeds", async () => {
    const { host: h, pids } = host();
    const invocation = outcome(h.invoke({ mode: "hang" }));
    const pid = await pidOf(pids, "invoke");
    process.kill(pid, "SIGKILL");
    expect(await invocation).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: signal: killed", functionName: "crash-test-fn" });
    expect(((await h.invoke({})) as { pid: number }).pid).not.toBe(pid);
    expect(h.coldStarts).toBe(2);
  });

  it("while its result is in flight: the result arrives or the invocation fails as a crash, and the next one succeeds", async () => {
    const { host: h, pids } = host();
    const first = await outcome(h.invoke({ mode: "exit-after-result" }));
    // The process exits right after sending its result: Node may or may not flush the message first.
    if (first !== "resolved") expect(first).toMatchObject({ errorType: "Runtime.ExitError", message: "Runtime exited with error: exit status 3" });
    const pid = await pidOf(pids, "invoke");
    await exited(pid);
    expect(((await h.invoke({})) as { pid: number }).pid).not.toBe(pid);
  });

  it("survives many deaths in a row: every other invocation kills its environment", async () => {
    const { host: h } = host();
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const { pid } = (await h.invoke({})) as { pid: number };
      pids.add(pid);
      if (i % 2 === 0) process.kill(pid, "SIGKILL");
    }
    expect(pids.size).toBe(4);
  });
});
