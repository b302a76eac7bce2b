// DynamoDB for the local cloud: dynalite, in memory, on a thread of this process, on 127.0.0.1 only.
import path from "node:path";
import { Worker } from "node:worker_threads";

/** Options for {@link startDynamoDb}. */
export interface DynamoDbOptions {
  /**
   * TCP port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Milliseconds a table stays CREATING/UPDATING/DELETING before it settles. dynalite's own
   * default is 500; 0 keeps local deploys and tests fast, and `waitUntilTableExists` still works.
   * @default 0
   */
  tableStateMs?: number;
}

/** A running DynamoDB emulator. */
export interface DynamoDbEmulator {
  /** Base URL to give DynamoDB clients, e.g. `http://127.0.0.1:40124`. */
  readonly endpoint: string;
  /** Stops the server; every table and item is gone (they live in memory only). */
  stop(): Promise<void>;
}

/**
 * Starts dynalite in memory, bound to 127.0.0.1, on a worker thread of its own
 * (`dynamodb-thread.cjs`): DynamoDB is the busiest emulator (every payment and order writes to it),
 * and on the main thread its parsing and validation queued behind everything else the cloud does.
 *
 * @param options - Port and table state delay; see {@link DynamoDbOptions}. Defaults: a free
 *   port, tables ACTIVE at once.
 * @returns The endpoint and a `stop()` that closes the server and ends the thread.
 */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<DynamoDbEmulator> {
  const thread = new Worker(path.join(__dirname, "dynamodb-thread.cjs"), {
    workerData: { port: options.port ?? 0, tableStateMs: options.tableStateMs ?? 0 },
    // The thread is plain JavaScript: it needs none of the cloud's loaders (`--import tsx`).
    execArgv: [],
  });
  const port = await new Promise<number>((resolve, reject) => {
    thread.once("error", reject);
    thread.once("exit", (code) => reject(new Error(`the DynamoDB emulator's thread exited (code ${code}) before it listened`)));
    thread.once("message", (message: { port?: number; error?: string }) => {
      if (message.port) resolve(message.port);
      else reject(new Error(`the DynamoDB emulator could not listen: ${message.error}`));
    });
  }).catch(async (err: unknown) => {
    await thread.terminate();
    throw err;
  });
  thread.removeAllListeners();
  // dynalite throwing is a bug in the emulator, not in a function: say so, loudly, and let the
  // callers' SDK retries and errors show it rather than take the whole cloud down with it.
  thread.on("error", (err) => console.error(`[dynamodb] the emulator's thread failed: ${err.stack ?? err.message}`));
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        thread.once("exit", () => resolve());
        thread.postMessage("stop");
      })),
  };
}
