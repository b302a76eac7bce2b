/**
 * Bundles and waits shared by the function host's lifecycle tests. The tests never sleep for a
 * fixed time to let something happen: a handler holds its invocation until the test writes a
 * release file, tells the test it started by writing a mark file, and the test waits on conditions
 * with a deadline.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FunctionError } from "../../../local/runtime/function-host";

/**
 * What the `main` bundle's handler does, in this order: writes its pid to `mark`; spins forever in
 * synchronous code (`spin`: not even a closed IPC channel is noticed); waits until the file `until` exists; prints `log`; exits with `exit`; throws `throw` (named `name`), the string
 * `throwString`, or (`throwBare`) an error without a name or message; sends a stray IPC message
 * (`stray`); then answers its pid, its process arguments and its ARN.
 */
export interface MainEvent {
  mark?: string;
  spin?: boolean;
  until?: string;
  log?: string;
  exit?: number;
  throw?: string;
  name?: string;
  throwString?: string;
  throwBare?: boolean;
  stray?: boolean;
}

export interface MainResult {
  pid: number;
  argv: string[];
  arn: string;
}

const MAIN = `const fs = require("node:fs");
exports.handler = async (event, context) => {
  if (event.mark) fs.writeFileSync(event.mark, String(process.pid));
  if (event.spin) for (;;);
  while (event.until && !fs.existsSync(event.until)) await new Promise((r) => setTimeout(r, 10));
  if (event.log) console.log(event.log);
  if (event.exit !== undefined) process.exit(event.exit);
  if (event.throw) throw Object.assign(new Error(event.throw), event.name ? { name: event.name } : {});
  if (event.throwString) throw event.throwString;
  if (event.throwBare) {
    const error = new Error("bare");
    Object.defineProperty(error, "name", { value: undefined });
    Object.defineProperty(error, "message", { value: undefined });
    throw error;
  }
  if (event.stray) process.send({ type: "result", result: "stray" });
  return { pid: process.pid, argv: process.argv.slice(2), arn: context.invokedFunctionArn };
};`;

/** Its init throws: the worker reports `init-error` and exits 1. */
const BROKEN = `throw new Error("init boom");`;

/** Its init throws an error without a message (nothing to report but that init failed). */
const BROKEN_BARE = `const error = new Error("bare");
Object.defineProperty(error, "message", { value: undefined });
throw error;`;

/**
 * Loads, says ready, and exits (status 1) when an invocation arrives, before the worker's own
 * listener (registered after the bundle loads) can say it started: the invocation never reached it.
 */
const VANISHING = `process.on("message", (m) => { if (m && m.type === "invoke") process.exit(1); });
exports.handler = async () => ({});`;

export interface Bundles {
  dir: string;
  main: string;
  broken: string;
  brokenBare: string;
  vanishing: string;
  /** A fresh path in the temp dir (for a mark or release file). */
  file(name: string): string;
  remove(): void;
}

export function writeBundles(prefix: string): Bundles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const bundles: Record<string, string> = { main: MAIN, broken: BROKEN, brokenBare: BROKEN_BARE, vanishing: VANISHING };
  for (const [name, code] of Object.entries(bundles)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, "index.js"), code);
  }
  let files = 0;
  return {
    dir,
    main: path.join(dir, "main"),
    broken: path.join(dir, "broken"),
    brokenBare: path.join(dir, "brokenBare"),
    vanishing: path.join(dir, "vanishing"),
    file: (name) => path.join(dir, `${name}-${++files}`),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Waits until `condition` holds. The deadline is 10 s by default, where the conditions waited on
 * take tens to a few hundred ms: a loaded 2-core machine starts an environment in up to ~1 s.
 */
export async function waitFor(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `promise`, or a failure naming `what` if it has not settled within `ms` (a mutant that hangs fails fast). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error an invocation rejected with (a FunctionError or any other), or "resolved". */
export async function outcome(invocation: Promise<unknown>): Promise<Error | "resolved"> {
  try {
    await invocation;
    return "resolved";
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
}

/** Whether the process `pid` exists (and has not been reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid a handler wrote to its mark file, once it has. */
export async function markedPid(mark: string): Promise<number> {
  await waitFor(() => fs.existsSync(mark) && fs.readFileSync(mark, "utf8") !== "", `the handler's mark ${mark}`);
  return Number(fs.readFileSync(mark, "utf8"));
}

/** The lines a host logged about an idle environment's death. */
export const idleDeaths = (logs: string[]) => logs.filter((l) => l.includes("while idle"));

export { FunctionError };
