// SNS + SQS for the local cloud: fauxqs, in this process, on 127.0.0.1 only.
//
// fauxqs's own `startFauxqs` and CLI bind 0.0.0.0, which would expose the emulator on every
// interface; `buildApp(...).listen(...)` lets us choose the host. fauxqs is ESM-only and its
// package `exports` only has an `import` condition, so a CommonJS `require("fauxqs")` fails with
// ERR_PACKAGE_PATH_NOT_EXPORTED even on Node 22: it is loaded with a dynamic `import()`.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AddressInfo } from "node:net";
import type { SqsStore } from "fauxqs/dist/sqs/sqsStore";
import type { SnsStore } from "fauxqs/dist/sns/snsStore";
import type { S3Store } from "fauxqs/dist/s3/s3Store";

/** Options for {@link startSnsSqs}. */
export interface SnsSqsOptions {
  /**
   * Region that topic and queue ARNs carry when a request does not name one (requests signed by
   * the SDK or the AWS CLI carry their own region in the Authorization header).
   * @default "us-east-1"
   */
  region?: string;
  /**
   * TCP port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Let fauxqs (fastify) log every request to stdout.
   * @default false
   */
  logger?: boolean;
}

/** A running SNS + SQS emulator. */
export interface SnsSqsEmulator {
  /** Base URL to give SNS and SQS clients, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string;
  /** The default region of the emulator. */
  readonly region: string;
  /** Stops the server and drops every topic, queue and message. */
  stop(): Promise<void>;
}

/** The part of fauxqs's fastify app we use (fastify is fauxqs's dependency, not ours). */
interface FauxqsApp {
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
  readonly server: { address(): AddressInfo | string | null };
}

interface FauxqsModule {
  buildApp(options: {
    logger?: boolean;
    defaultRegion?: string;
    stores?: { sqsStore: SqsStore; snsStore: SnsStore; s3Store: S3Store };
  }): FauxqsApp;
}

/**
 * Starts fauxqs in this process, bound to 127.0.0.1.
 *
 * Queue URLs it returns have the form `<endpoint>/000000000000/<queue name>`, so SDK clients and
 * the AWS CLI can use them as they are.
 *
 * @param options - Region, port and logging; see {@link SnsSqsOptions}. Defaults: `us-east-1`, a
 *   free port, no request logging.
 * @returns The endpoint, region and a `stop()` that closes the server.
 */
export async function startSnsSqs(options: SnsSqsOptions = {}): Promise<SnsSqsEmulator> {
  const region = options.region ?? "us-east-1";
  const fauxqs = (await import("fauxqs")) as unknown as FauxqsModule;
  const stores = await createStores();
  // fauxqs's SqsStore defaults `host` to "localhost" and then builds queue URLs as
  // `http://sqs.<region>.localhost:<port>/...`; that name does not resolve on every machine
  // (glibc does not map *.localhost to loopback). With an empty host it uses the request's Host
  // header instead, i.e. exactly the endpoint the client called. `buildApp({ host })` ignores an
  // empty string, hence our own store.
  stores.sqsStore.host = "";
  const app = fauxqs.buildApp({ logger: options.logger ?? false, defaultRegion: region, stores });
  await app.listen({ host: "127.0.0.1", port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") {
    await app.close();
    throw new Error(`fauxqs did not report a TCP address (got ${String(address)})`);
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    region,
    stop: async () => {
      await app.close();
    },
  };
}

/**
 * Creates fauxqs's stores from its own classes. The package does not export them, so they are
 * imported by file path (which `exports` does not restrict); `require.resolve` cannot be used to
 * find the package because it applies the same `exports` map.
 */
async function createStores(): Promise<{ sqsStore: SqsStore; snsStore: SnsStore; s3Store: S3Store }> {
  const dist = join(fauxqsPackageDir(), "dist");
  const load = async <T>(file: string, exportName: string): Promise<new () => T> => {
    const mod = (await import(pathToFileURL(join(dist, file)).href)) as Record<string, unknown>;
    const ctor = mod[exportName];
    if (typeof ctor !== "function") {
      throw new Error(`fauxqs ${file} has no export ${exportName}: the fauxqs version changed`);
    }
    return ctor as new () => T;
  };
  const [SqsStoreClass, SnsStoreClass, S3StoreClass] = await Promise.all([
    load<SqsStore>("sqs/sqsStore.js", "SqsStore"),
    load<SnsStore>("sns/snsStore.js", "SnsStore"),
    load<S3Store>("s3/s3Store.js", "S3Store"),
  ]);
  return { sqsStore: new SqsStoreClass(), snsStore: new SnsStoreClass(), s3Store: new S3StoreClass() };
}

/** The directory of the installed fauxqs package, found along Node's own module search path. */
function fauxqsPackageDir(): string {
  for (const dir of require.resolve.paths("fauxqs") ?? []) {
    const candidate = join(dir, "fauxqs");
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  throw new Error("fauxqs is not installed (npm install fauxqs)");
}
