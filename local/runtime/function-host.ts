/**
 * Runs a function's bundle the way Lambda does: each execution environment is a fresh Node process
 * with the function's own environment, handling one invocation at a time; concurrent invocations
 * get more environments, up to `concurrency`. An invocation that outlives the function's timeout
 * kills its environment and fails with Lambda's message. Output is streamed line by line, prefixed
 * with the function name.
 *
 * Environments die, as on Lambda (a crash, an out-of-memory kill, `kill -9`), and the host outlives
 * them: a dead environment is discarded whenever it dies (idle, during init, during an invocation,
 * while its result is in flight) and the next invocation gets a fresh one. The invocation it was
 * running fails with `Runtime.ExitError`, as Lambda reports it; an invocation that had not reached
 * it yet is given to another environment, unaware.
 */
import type { ChildProcess } from "node:child_process";
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import * as readline from "node:readline";
import type { FunctionFaultKind } from "../faults/spec";
import { AccountConcurrency } from "./account-concurrency";
import type { InvocationSource } from "./account-concurrency";
import { FunctionError } from "./function-host-errors";
import { environmentExecArgv, exitMessage, lambdaEnvironment } from "./lambda-environment";

export { FunctionError } from "./function-host-errors";
export type { InvocationSource } from "./account-concurrency";

export interface FunctionHostOptions {
  /** Physical function name (`AWS_LAMBDA_FUNCTION_NAME`, and the log prefix). */
  name: string;
  /** Directory holding the bundle's `index.js`. */
  bundleDir: string;
  /** The function's environment variables (as deployed). */
  environment: Record<string, string>;
  /** Invocation timeout in seconds. @default 30 */
  timeoutSeconds?: number;
  /** Memory in MB, reported to the handler's context. @default 256 */
  memoryMb?: number;
  /** Most environments running at once. @default 1 */
  concurrency?: number;
  /**
   * The bound on all functions' environments together (`account-concurrency.ts`), shared by every
   * host of a local cloud.
   * @default none: only `concurrency` bounds this function
   */
  account?: AccountConcurrency;
  /** The function's ARN, reported to the handler's context. @default a local ARN from `name` */
  arn?: string;
  /** Receives each output line. @default prints `[name] line` to stdout */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
  /**
   * Decides the injected fault, if any, of each invocation (`local/faults`).
   * @default none: no faults
   */
  faults?: { functionFault(functionName: string): FunctionFaultKind | undefined; crashDelayMs(): number };
  /**
   * Profiles every environment with V8's CPU profiler, one `.cpuprofile` per environment written
   * here when it is stopped (`lambda-environment.ts`): where an invocation's time goes.
   * @default `LOCAL_FUNCTION_CPU_PROFILE_DIR` from the cloud's environment; unset: no profiling
   */
  cpuProfileDir?: string;
}

/** How one invocation is made: {@link FunctionHost.invoke}. */
export interface InvokeOptions {
  /** Who waits on it (`account-concurrency.ts`): a caller (`request`) is throttled when the account stays full; a Step Functions Task (`workflow`) and an event source wait. @default "request" */
  source?: InvocationSource;
  /** When its work began (ms since the epoch; a Task passes its execution's start): the account serves the oldest first. @default when `invoke` is called */
  age?: number;
  /**
   * Called when the invocation has its slot and environment, after any wait for them: a Task's
   * `TimeoutSeconds` counts from here, since locally that wait stands in for AWS's throttle and retry.
   * @default none
   */
  onStart?: () => void;
  /** Abandons the invocation if it is still waiting for a slot (its execution was stopped). @default none */
  signal?: AbortSignal;
}

interface Environment {
  child: ChildProcess;
  busy: boolean;
  /** When it last finished an invocation (or started): the least recently used idle one is reclaimed first. */
  idleSince: number;
  /** Gives its account slot back, once. */
  releaseSlot: () => void;
  ready: Promise<void>;
  /** The process has exited: it is out of the pool and never handed out again. */
  dead: boolean;
}

/** The environment died before the invocation reached it: run the invocation on another one. */
class EnvironmentGone extends Error {}

/** How many times an invocation is moved to a fresh environment because its own died before it started. */
const MAX_ENVIRONMENT_RETRIES = 2;

const WORKER = path.join(__dirname, "function-worker.cjs");

export class FunctionHost {
  private readonly environments: Environment[] = [];
  private stopped = false;
  private readonly cpuProfileDir: string | undefined;
  /** Environments starting now (at most one: see acquire). */
  private starting = 0;
  /** Where waiting invocations wait: the account's pool, or one of this host's own. */
  private readonly account: AccountConcurrency;
  /** Cold starts so far (environments created). */
  coldStarts = 0;

  constructor(readonly options: FunctionHostOptions) {
    this.cpuProfileDir = options.cpuProfileDir ?? process.env.LOCAL_FUNCTION_CPU_PROFILE_DIR;
    this.account = options.account ?? new AccountConcurrency({ limit: Number.MAX_SAFE_INTEGER });
    this.account.register({
      oldestIdleSince: () => this.oldestIdle()?.idleSince,
      reclaimIdle: () => {
        const env = this.oldestIdle();
        if (!env) return false;
        this.discard(env);
        env.dead = true;
        env.releaseSlot();
        void this.kill(env);
        return true;
      },
    });
  }

  /**
   * Invokes the function with `event` and returns its result.
   * @throws FunctionError when the handler throws or times out, or `TooManyRequestsException` when throttled.
   */
  async invoke(event: unknown, options: InvokeOptions = {}): Promise<unknown> {
    const fault = this.options.faults?.functionFault(this.options.name);
    const { name } = this.options;
    if (fault === "throttle") throw new FunctionError("TooManyRequestsException", "Rate Exceeded. (injected fault)", name, "service");
    if (fault === "throw") throw new FunctionError("InjectedFault", `The handler of ${name} failed (injected fault)`, name);
    for (let attempt = 0; ; attempt++) {
      const source = options.source ?? "request";
      const env = await this.acquire(source, options);
      try {
        if (fault === "timeout") return await this.timeOut(env);
        return await this.run(env, event, fault === "crash" ? (this.options.faults?.crashDelayMs() ?? 0) : undefined);
      } catch (error) {
        if (!(error instanceof EnvironmentGone)) throw error;
        if (attempt >= MAX_ENVIRONMENT_RETRIES) throw new FunctionError("Runtime.ExitError", error.message, this.options.name);
      } finally {
        env.busy = false;
        env.idleSince = Date.now();
        this.account.end(source);
      }
    }
  }

  /** Stops every environment, waiting for in-flight invocations to end first. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Invocations waiting for a slot end now ("is stopping"), not when a slot frees.
    this.account.wakeAll();
    while (this.environments.some((e) => e.busy)) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.environments.map((e) => this.kill(e)));
    this.environments.length = 0;
  }

  private oldestIdle(): Environment | undefined {
    let oldest: Environment | undefined;
    for (const env of this.environments) if (!env.busy && !env.dead && (!oldest || env.idleSince < oldest.idleSince)) oldest = env;
    return oldest;
  }

  private async acquire(source: InvocationSource, options: InvokeOptions): Promise<Environment> {
    const since = Date.now();
    const { signal } = options;
    const taken: { env?: Environment | Promise<Environment> } = {};
    const attempt = (): boolean => this.stopped || !!signal?.aborted || (taken.env = this.take(source, options)) !== undefined;
    for (;;) {
      if (this.stopped) throw new FunctionError("ServiceUnavailable", `function ${this.options.name} is stopping`, this.options.name);
      if (signal?.aborted) throw new FunctionError("ServiceUnavailable", `the invocation of ${this.options.name} was abandoned before it started`, this.options.name, "service");
      if (attempt()) return taken.env!;
      // Waiting for the account is bounded for a request (throttled, as on AWS); waiting for the
      // function's own limit or its starting environment is not. The account hands a freed slot to
      // the first waiter in its order that can take it (`attempt`).
      await this.account.wait(source, this.options.name, since, !this.account.hasRoom(source), { age: options.age, attempt, signal });
      if (taken.env) return taken.env;
    }
  }

  /**
   * Takes an environment for one invocation now, or nothing: the warm environment first, else a new
   * one below the function's own limit; either takes one of the account's slots (given back in
   * invoke's finally). Synchronous: the account calls it when it hands out a slot.
   */
  private take(source: InvocationSource, options: InvokeOptions): Environment | Promise<Environment> | undefined {
    const idle = this.environments.find((e) => !e.busy && !e.dead);
    // A new environment only below the function's own limit, and one at a time: a start costs a
    // synchronous fork on the cloud's event loop and a few hundred ms of CPU, while a busy
    // environment is usually free again in tens of ms. A burst then waits for the first warm
    // environment instead of starting one per request (which, on 2 cores, made every start slower).
    const mayStart = this.environments.length < (this.options.concurrency ?? 1) && this.starting === 0;
    if (!(idle || mayStart) || !this.account.hasRoom(source)) return undefined;
    this.account.begin(source);
    if (idle) {
      idle.busy = true;
      options.onStart?.();
      return idle;
    }
    if (!this.account.tryAddEnvironment()) {
      this.account.end(source, false);
      return undefined;
    }
    options.onStart?.();
    return this.startEnvironment(source);
  }

  /** A new environment, busy, once it is ready; its account slot is given back if it fails to start. */
  private async startEnvironment(source: InvocationSource): Promise<Environment> {
    let env: Environment;
    try {
      env = this.spawn();
    } catch (error) {
      this.account.end(source);
      throw error;
    }
    env.busy = true;
    this.environments.push(env);
    this.starting += 1;
    try {
      await env.ready;
    } catch (error) {
      this.discard(env);
      this.account.end(source);
      throw error;
    } finally {
      this.starting -= 1;
      // The next environment may start now: waiters held back only by "one start at a time" are
      // asked again (otherwise a burst would scale up only as fast as invocations end).
      this.account.changed();
    }
    return env;
  }

  private spawn(): Environment {
    const { options } = this;
    this.coldStarts += 1;
    let child: ChildProcess;
    let released = false;
    const releaseSlot = () => {
      if (released) return;
      released = true;
      this.account.removeEnvironment();
    };
    try {
      // Never the cloud's own execArgv (its `tsx` loader): environmentExecArgv says why.
      child = fork(WORKER, [], {
        execPath: process.execPath,
        execArgv: environmentExecArgv(this.cpuProfileDir),
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        env: lambdaEnvironment(options, this.coldStarts),
      });
    } catch (error) {
      releaseSlot();
      throw error;
    }
    const log = options.onLog ?? ((line: string) => console.log(`[${options.name}] ${line}`));
    for (const stream of ["stdout", "stderr"] as const) {
      const source = child[stream];
      if (source) readline.createInterface({ input: source }).on("line", (line) => log(line, stream));
    }
    const env: Environment = { child, busy: false, idleSince: Date.now(), releaseSlot, ready: Promise.resolve(), dead: false };
    const number = this.coldStarts;
    // A send on a closed channel is reported here (and the exit below follows): never an
    // unhandled 'error' event, which would take the whole local cloud down.
    child.on("error", (error) => log(`environment ${number}: ${error.message}`, "stderr"));
    child.once("exit", (code, signal) => {
      env.dead = true;
      // Still in the pool: it died on its own (a timeout or a crash mid-invocation already discarded it).
      const unexpected = this.environments.includes(env);
      this.discard(env);
      if (unexpected && !env.busy && !this.stopped) log(`environment ${number} ${exitMessage(code, signal).toLowerCase()} while idle; the next invocation starts a fresh one`, "stderr");
      releaseSlot(); // its slot is free, and every waiter looks again
    });
    env.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type: string; error?: { errorType: string; errorMessage: string } }) => {
        if (message.type === "ready") resolve();
        if (message.type === "init-error") reject(new FunctionError("Runtime.ImportModuleError", message.error?.errorMessage ?? "init failed", options.name));
        if (message.type === "ready" || message.type === "init-error") child.off("message", onMessage);
      };
      child.on("message", onMessage);
      child.once("exit", (code, signal) => reject(new FunctionError("Runtime.ExitError", `${exitMessage(code, signal)} (during init)`, options.name)));
    });
    env.ready.catch(() => undefined); // observed by acquire(); avoid an unhandled rejection
    return env;
  }

  /** An injected timeout: reported at once (not after the timeout), and the environment killed, as Lambda does. */
  private async timeOut(env: Environment): Promise<never> {
    this.discard(env);
    await this.kill(env);
    const seconds = (this.options.timeoutSeconds ?? 30).toFixed(2);
    throw new FunctionError("Sandbox.Timedout", `Task timed out after ${seconds} seconds (injected fault)`, this.options.name);
  }

  /**
   * Runs one invocation. With `crashAfterMs`, the environment is killed that long after the
   * invocation started in it: before the handler finished (the invocation fails with
   * `Runtime.ExitError`) or after (it succeeded; the environment is gone all the same).
   */
  private run(env: Environment, event: unknown, crashAfterMs?: number): Promise<unknown> {
    const id = randomUUID();
    const timeoutMs = (this.options.timeoutSeconds ?? 30) * 1000;
    return new Promise((resolve, reject) => {
      if (env.dead || !env.child.connected) {
        this.discard(env);
        reject(new EnvironmentGone(`environment of ${this.options.name} exited before the invocation`));
        return;
      }
      // Until the environment says it started the invocation, a dead environment means "run it
      // elsewhere" (the request may sit unread in a dead process's pipe); after, the invocation was
      // running there and fails as on Lambda.
      let started = false;
      const cleanup = () => {
        clearTimeout(timer);
        env.child.off("message", onMessage);
        env.child.off("exit", onExit);
      };
      const onMessage = (message: { type: string; id?: string; result?: unknown; error?: { errorType: string; errorMessage: string } }) => {
        if (message.id !== id) return;
        if (message.type === "started") {
          started = true;
          if (crashAfterMs !== undefined) setTimeout(() => env.child.kill("SIGKILL"), crashAfterMs).unref();
          return;
        }
        cleanup();
        if (message.type === "result") resolve(message.result);
        else reject(new FunctionError(message.error?.errorType ?? "Error", message.error?.errorMessage ?? "unknown error", this.options.name));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        this.discard(env);
        if (!started) reject(new EnvironmentGone(`${exitMessage(code, signal)} (before the invocation reached it)`));
        else reject(new FunctionError("Runtime.ExitError", exitMessage(code, signal), this.options.name));
      };
      const timer = setTimeout(() => {
        cleanup();
        this.discard(env);
        void this.kill(env);
        reject(new FunctionError("Sandbox.Timedout", `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, this.options.name));
      }, timeoutMs);
      env.child.on("message", onMessage);
      env.child.once("exit", onExit);
      env.child.send({ type: "invoke", id, requestId: id, event }, (error) => {
        if (!error) return;
        cleanup();
        this.discard(env);
        reject(new EnvironmentGone(`environment of ${this.options.name} could not take the invocation: ${error.message}`));
      });
    });
  }

  private discard(env: Environment) {
    const index = this.environments.indexOf(env);
    if (index >= 0) this.environments.splice(index, 1);
  }

  private kill(env: Environment): Promise<void> {
    if (env.child.exitCode !== null || env.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      env.child.once("exit", () => resolve());
      if (!this.cpuProfileDir || !env.child.connected) return void env.child.kill("SIGTERM");
      // A profiled environment exits on its own when disconnected, writing its profile (a signal
      // would lose it); one stuck in its handler is signalled after a grace period.
      env.child.disconnect();
      setTimeout(() => env.child.exitCode === null && env.child.signalCode === null && env.child.kill("SIGTERM"), 2000).unref();
    });
  }
}
