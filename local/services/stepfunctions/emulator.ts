/**
 * The Step Functions emulator: the HTTP front of the AWS JSON 1.0 API on 127.0.0.1 (`POST` with
 * `X-Amz-Target: AWSStepFunctions.<Operation>`), over the API operations (api.ts), the execution
 * store (store.ts), the runner (runner.ts) and the Task handlers (task-handlers.ts) of one
 * emulator instance.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StepFunctionsApi } from "./api";
import { StepFunctionsApiError } from "./errors";
import { ExecutionRunner } from "./runner";
import type { TimingOverrides } from "./runner";
import { ExecutionStore, describe } from "./store";
import type { ExecutionDescription } from "./store";
import { TaskHandlers } from "./task-handlers";
import type { TaskHandler, TaskHandlerOptions, TaskResolver } from "./task-handlers";
import { parseJsonBody } from "./wire";
import type { Body } from "./wire";

/** Options for {@link startStepFunctions} and {@link StepFunctionsEmulator}. */
export interface StepFunctionsOptions {
  /**
   * Region in the ARNs this emulator returns.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * TCP port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Called for a Task no registered handler matches.
   * @default undefined (such Tasks fail the execution with `States.Runtime`)
   */
  resolveTask?: TaskResolver;
  /**
   * Shorter retry pauses and waits, e.g. `{ retryIntervalMs: 0 }` in tests.
   * @default {} (AWS timing)
   */
  timing?: TimingOverrides;
}

/**
 * The Step Functions emulator. Usually started with {@link startStepFunctions}; the class is
 * exported so callers can type the handle and use the programmatic helpers.
 */
export class StepFunctionsEmulator {
  readonly region: string;
  private readonly server: Server;
  private readonly store = new ExecutionStore();
  private readonly tasks: TaskHandlers;
  private readonly api: StepFunctionsApi;
  private listening?: string;

  /**
   * Creates the emulator; {@link StepFunctionsEmulator.listen} starts serving.
   * @param options - See {@link StepFunctionsOptions}; every field is optional.
   */
  constructor(private readonly options: StepFunctionsOptions = {}) {
    this.region = options.region ?? "us-east-1";
    this.tasks = new TaskHandlers(options.resolveTask);
    const runner = new ExecutionRunner(this.store, this.tasks, this.region, options.timing ?? {});
    this.api = new StepFunctionsApi(this.store, runner, this.region);
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  /** Base URL for Step Functions clients; throws before {@link StepFunctionsEmulator.listen}. */
  get endpoint(): string {
    if (this.listening === undefined) throw new Error("Step Functions emulator is not listening");
    return this.listening;
  }

  /**
   * Binds 127.0.0.1 on the port from the options (default: a free one).
   * @returns The endpoint URL.
   */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.listening = `http://127.0.0.1:${port}`;
    return this.listening;
  }

  /**
   * Aborts running executions (they end ABORTED) and closes the server.
   */
  async stop(): Promise<void> {
    for (const execution of this.store.executions.values()) {
      if (execution.status === "RUNNING") execution.abort.abort();
    }
    await Promise.all([...this.store.executions.values()].map((e) => e.done));
    if (!this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      // SDK clients keep connections alive; without this, close() waits for them to time out.
      this.server.closeAllConnections();
      this.server.close((err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Routes Tasks whose `Resource` matches to a handler. Exact ARNs win over patterns; among
   * patterns the latest registration wins.
   *
   * @param resource - An exact Resource ARN, a pattern with `*` wildcards
   *   (`arn:aws:lambda:*:*:function:*`), or a RegExp.
   * @param handler - Runs the Task; see {@link TaskHandler}.
   * @param options - See {@link TaskHandlerOptions}. @default the Task's clock starts at dispatch
   * @returns A function that removes this registration.
   */
  registerTaskHandler(resource: string | RegExp, handler: TaskHandler, options?: TaskHandlerOptions): () => void {
    return this.tasks.register(resource, handler, options);
  }

  /**
   * Waits until an execution has ended.
   * @param executionArn - ARN returned by StartExecution.
   * @returns Its final description.
   */
  async waitForExecution(executionArn: string): Promise<ExecutionDescription> {
    const execution = this.store.execution(executionArn);
    await execution.done;
    return describe(execution);
  }

  /**
   * Runs one API operation, as the HTTP front does; exposed so the local cloud can call the
   * service in process.
   * @param operation - The operation name, e.g. `StartExecution`.
   * @param body - The request's JSON body.
   * @returns The response body (dates as epoch seconds, as on the wire).
   * @throws {StepFunctionsApiError} For every API error.
   */
  async invoke(operation: string, body: Body): Promise<Body> {
    return this.api.invoke(operation, body);
  }

  /**
   * Answers one HTTP request as the HTTP front does, without the HTTP: the local cloud's gateway in
   * front of the emulators (local/faults/service-proxy.ts) calls it in process, which saves every
   * call a function makes to Step Functions a loopback round trip through this process's event loop.
   * @param method - The request's HTTP method (only POST is an API call).
   * @param headers - The request's headers (`x-amz-target` names the operation).
   * @param body - The request's body.
   * @returns The status, headers and body the HTTP front would send.
   */
  async answer(method: string, headers: IncomingHttpHeaders, body: Buffer | string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    let status = 200;
    let payload: Body;
    try {
      const target = headers["x-amz-target"];
      const operation = typeof target === "string" && target.startsWith("AWSStepFunctions.") ? target.slice("AWSStepFunctions.".length) : undefined;
      if (method !== "POST" || operation === undefined) {
        throw new StepFunctionsApiError("UnknownOperationException", "Expected POST with X-Amz-Target: AWSStepFunctions.<Operation>");
      }
      payload = await this.invoke(operation, parseJsonBody(typeof body === "string" ? body : body.toString("utf8")));
    } catch (error) {
      const apiError = error instanceof StepFunctionsApiError ? error : new StepFunctionsApiError("InternalFailure", String(error), 500);
      status = apiError.status;
      payload = { __type: apiError.type, message: apiError.message };
    }
    const text = JSON.stringify(payload);
    return { status, headers: { "content-type": "application/x-amz-json-1.0", "content-length": String(Buffer.byteLength(text)), "x-amzn-requestid": randomUUID() }, body: text };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await this.answer(req.method ?? "GET", req.headers, Buffer.concat(chunks));
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }
}

/**
 * Starts the Step Functions emulator on 127.0.0.1.
 *
 * @param options - Region, port, Task resolver and timing overrides; see
 *   {@link StepFunctionsOptions}. Defaults: `us-east-1`, a free port, no resolver, AWS timing.
 * @returns The running emulator: `endpoint`, `region`, `registerTaskHandler`, `stop()`.
 */
export async function startStepFunctions(options: StepFunctionsOptions = {}): Promise<StepFunctionsEmulator> {
  const emulator = new StepFunctionsEmulator(options);
  await emulator.listen();
  return emulator;
}
