/**
 * `npm start` as a user runs it: a real `npm start -- --stack dev` process tree (npm → node), its
 * state under a temporary LOCAL_CLOUD_DIR so it never touches `.local` or another run. It refuses
 * an unknown stack in one line, refuses a second cloud for the same stack naming the running pid,
 * publishes through `npm run tx` with the bus's field names, and stops cleanly on SIGTERM to npm
 * itself: every port closed, outputs and lock removed. Then the pieces: when the cloud stops
 * (signals, duplicate Ctrl-C, parent gone) and the lock (live holder, stale takeover, release).
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForStop } from "../../local/main";
import { LocalCloudRunningError, StackOutputsFile, acquireCloudLock, cloudLockPath } from "../../local/outputs";

const ROOT = path.resolve(__dirname, "../..");
let dir: string;

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(command: string, args: string[], options: { detached?: boolean } = {}): Run {
  let output = "";
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: dir, npm_config_update_notifier: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached,
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function refuses(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "npm-start-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("refuses an unknown stack in one line naming the stacks that exist, exit 2", async () => {
    const nope = run("npm", ["start", "--silent", "--", "--stack", "nope"]);
    expect((await nope.exited).code).toBe(2);
    expect(nope.output()).toContain('No stack "nope": Pulumi.nope.yaml does not exist (stacks: dev, staging)');
    expect(nope.output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  let cloud: Run | undefined;
  afterAll(() => {
    // Only if a test failed half-way: the process group this file started.
    if (cloud?.child.pid && cloud.child.exitCode === null) process.kill(-cloud.child.pid, "SIGKILL");
  });

  it("serves one cloud per stack, publishes with the bus's field names, and stops cleanly on SIGTERM to npm", { timeout: 120_000 }, async () => {
    const started = Date.now();
    cloud = run("npm", ["start", "--", "--stack", "dev"], { detached: true });
    await until(() => /Local cloud ready \(dev\)/.test(cloud!.output()) || cloud!.child.exitCode !== null, 60_000, "the ready line");
    expect(cloud.output()).toMatch(/Local cloud ready \(dev\) in [\d.]+ s — API http:\/\/127\.0\.0\.1:\d+\/dev — outputs /);
    const outputsFile = path.join(dir, "dev", "outputs.json");
    const lockFile = path.join(dir, "dev", "cloud.pid");
    const outputs = StackOutputsFile.parse(JSON.parse(fs.readFileSync(outputsFile, "utf8")));
    const pid = Number(fs.readFileSync(lockFile, "utf8"));
    expect(pid).not.toBe(cloud.child.pid); // the node process, not npm

    const [second, tx] = [
      run("npm", ["start", "--silent", "--", "--stack", "dev"]),
      run("npx", ["tsx", "scripts/tx.ts", "payment", "--customer", "CUST-CLI-1", "--amount", "12.50"]),
    ];
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain(`The local cloud for stack "dev" is already running (pid ${pid}`);
    expect(second.output()).toContain(`kill ${pid}`);
    expect((await tx.exited).code).toBe(0);
    const published = JSON.parse(tx.output().trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(Object.keys(published)).toEqual(expect.arrayContaining(["transaction_id", "transaction_type", "customer_id", "message_id"]));
    expect(published).toMatchObject({ transaction_type: "payment", customer_id: "CUST-CLI-1" });
    expect(fs.readFileSync(outputsFile, "utf8")).toBe(`${JSON.stringify(outputs, null, 2)}\n`); // untouched by the refused start

    process.kill(cloud.child.pid!, "SIGTERM");
    const exit = await cloud.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(cloud.output()).toContain("SIGTERM: stopping the local cloud");
    expect(cloud.output()).toContain("Local cloud stopped");
    expect(() => process.kill(pid, 0)).toThrow(); // no orphaned node process
    const urls = [...Object.values(outputs.awsEndpoints ?? {}), outputs.otlpEndpoint!, outputs.apiUrl];
    expect(await Promise.all(urls.map(refuses))).toEqual(urls.map(() => true));
    expect(fs.existsSync(outputsFile)).toBe(false);
    expect(fs.existsSync(lockFile)).toBe(false);
    console.log(`npm start → ready → SIGTERM → stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});

describe("waitForStop", () => {
  const fakeProcess = () => Object.assign(new EventEmitter(), { ppid: 4242 }) as unknown as NodeJS.Process & EventEmitter & { ppid: number };

  it("resolves on the first signal; a second SIGINT is the same Ctrl-C within a second, an exit after", async () => {
    const proc = fakeProcess();
    let exits = 0;
    // A window wide enough that a loaded machine cannot push the duplicate past it.
    const stopped = waitForStop({ proc, duplicateMs: 500, exitNow: () => exits++ });
    proc.emit("SIGTERM");
    expect(await stopped).toBe("SIGTERM");
    proc.emit("SIGINT"); // npm's forwarded copy of the same Ctrl-C
    expect(exits).toBe(0);
    await new Promise((r) => setTimeout(r, 600));
    proc.emit("SIGINT");
    expect(exits).toBe(1);
  });

  it("resolves when the parent process goes away", async () => {
    const proc = fakeProcess();
    const stopped = waitForStop({ proc, pollMs: 10 });
    proc.ppid = 1;
    expect(await stopped).toBe("parent process 4242 exited");
  });
});

describe("the cloud lock", () => {
  it("refuses while its process lives, takes over a dead one's, and is released", async () => {
    const outputsFile = path.join(dir, "lock-test", "outputs.json");
    const lockFile = cloudLockPath(outputsFile);
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    // A live process: this test's parent (vitest).
    fs.writeFileSync(lockFile, `${process.ppid}\n`);
    expect(() => acquireCloudLock(outputsFile, "dev")).toThrow(LocalCloudRunningError);
    expect(() => acquireCloudLock(outputsFile, "dev")).toThrow(`is already running (pid ${process.ppid}`);
    // A crashed run's: a pid that has exited.
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => dead.once("exit", r));
    fs.writeFileSync(lockFile, `${dead.pid}\n`);
    const release = acquireCloudLock(outputsFile, "dev");
    expect(fs.readFileSync(lockFile, "utf8")).toBe(`${process.pid}\n`);
    // Held by this process: a second cloud here is refused too.
    expect(() => acquireCloudLock(outputsFile, "dev")).toThrow(LocalCloudRunningError);
    release();
    expect(fs.existsSync(lockFile)).toBe(false);
    acquireCloudLock(outputsFile, "dev")();
  });
});
