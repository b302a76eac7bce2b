// DynamoDB for the local cloud: dynalite, in memory, in this process, on 127.0.0.1 only.
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

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
 * Starts dynalite in memory, bound to 127.0.0.1.
 *
 * @param options - Port and table state delay; see {@link DynamoDbOptions}. Defaults: a free
 *   port, tables ACTIVE at once.
 * @returns The endpoint and a `stop()` that closes the server.
 */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<DynamoDbEmulator> {
  const settleMs = options.tableStateMs ?? 0;
  const server = dynalite({ createTableMs: settleMs, updateTableMs: settleMs, deleteTableMs: settleMs });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
