// SNS + SQS for the local cloud: fauxqs, in this process, on 127.0.0.1 only, with two thin layers
// for what fauxqs 2.4.1 lacks: SNS delivery decided by queue policies with subscription
// dead-letter queues (sns-delivery.ts), and SQS's message move tasks (sqs-move-tasks.ts).
//
// fauxqs's own `startFauxqs` and CLI bind 0.0.0.0, which would expose the emulator on every
// interface; `buildApp(...).listen(...)` lets us choose the host. fauxqs is ESM-only and its
// package `exports` only has an `import` condition, so a CommonJS `require("fauxqs")` fails with
// ERR_PACKAGE_PATH_NOT_EXPORTED even on Node 22: it is loaded with a dynamic `import()`.
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AddressInfo } from "node:net";
import type { SqsStore } from "fauxqs/dist/sqs/sqsStore";
import type { SnsStore } from "fauxqs/dist/sns/snsStore";
import type { S3Store } from "fauxqs/dist/s3/s3Store";
import type { SqsMessage } from "fauxqs/dist/sqs/sqsTypes";
import { installSnsDelivery } from "./sns-delivery";
import type { DeliveryFailure, TopicDeliveryCounts } from "./sns-delivery";
import { MessageMoveTasks, SqsApiError } from "./sqs-move-tasks";
import type { MessageFactory } from "./sqs-move-tasks";

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
  /**
   * Deliver from a topic to a subscribed queue only when the queue's policy lets SNS send from that
   * topic, as AWS does (`sns-delivery.ts`); a refused delivery goes to the subscription's DLQ. Off,
   * any existing queue receives. A missing queue fails the delivery either way.
   * @default false
   */
  enforceQueuePolicies?: boolean;
  /** Called for each delivery SNS could not make (dead-lettered or discarded). @default nothing */
  onDeliveryFailure?: (failure: DeliveryFailure) => void;
  /** Decides each delivery instead of the queue policy alone (`sns-delivery.ts`). @default the queue policy */
  authorizeDelivery?: (queueArn: string, topicArn: string, queuePolicy: string | undefined) => string | undefined;
}

/** A running SNS + SQS emulator. */
export interface SnsSqsEmulator {
  /** Base URL to give SNS and SQS clients, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string;
  /** The default region of the emulator. */
  readonly region: string;
  /** SNS's delivery metrics per topic (failed, dead-lettered, lost), as the emulator counted them. */
  deliveryCounts(topicArn: string): TopicDeliveryCounts;
  /** Stops the server and drops every topic, queue and message. */
  stop(): Promise<void>;
}

/** The part of fauxqs's fastify app we use (fastify is fauxqs's dependency, not ours). */
interface FauxqsApp {
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
  addHook(name: "preHandler", hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): void;
  readonly server: { address(): AddressInfo | string | null };
}

interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

interface FastifyReplyLike {
  status(code: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload: unknown): FastifyReplyLike;
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
  // SNS delivery as AWS decides it (queue policies, subscription DLQs) and SQS's message move
  // tasks: neither is in fauxqs 2.4.1.
  const delivery = installSnsDelivery(stores.snsStore, stores.sqsStore, { enforceQueuePolicies: options.enforceQueuePolicies ?? false, onFailure: options.onDeliveryFailure, authorize: options.authorizeDelivery });
  const moveTasks = new MessageMoveTasks(stores.sqsStore, stores.createMessage);
  await allowSupplementaryCharacters();
  const app = fauxqs.buildApp({ logger: options.logger ?? false, defaultRegion: region, stores: { sqsStore: stores.sqsStore, snsStore: stores.snsStore, s3Store: stores.s3Store } });
  app.addHook("preHandler", async (request, reply) => answerMoveTasks(moveTasks, request, reply));
  await app.listen({ host: "127.0.0.1", port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") {
    await app.close();
    throw new Error(`fauxqs did not report a TCP address (got ${String(address)})`);
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    region,
    deliveryCounts: (topicArn) => delivery.counts(topicArn),
    stop: async () => {
      moveTasks.stopAll();
      await app.close();
    },
  };
}

/**
 * Answers `StartMessageMoveTask`, `ListMessageMoveTasks` and `CancelMessageMoveTask` (AWS JSON
 * protocol, `X-Amz-Target: AmazonSQS.<action>`) before fauxqs's router, which does not know them;
 * every other request goes on to fauxqs.
 */
async function answerMoveTasks(moveTasks: MessageMoveTasks, request: FastifyRequestLike, reply: FastifyReplyLike): Promise<unknown> {
  const target = request.headers["x-amz-target"];
  if (typeof target !== "string" || !target.startsWith("AmazonSQS.")) return undefined;
  const action = target.slice("AmazonSQS.".length);
  const body = request.body && typeof request.body === "object" ? (request.body as Record<string, unknown>) : {};
  try {
    const result = moveTasks.handle(action, body);
    if (result === undefined) return undefined;
    return reply.header("content-type", "application/x-amz-json-1.0").send(result);
  } catch (error) {
    if (!(error instanceof SqsApiError)) throw error;
    return reply
      .status(error.statusCode)
      .header("content-type", "application/x-amz-json-1.0")
      // The query-compatible code the SDK names the error by: these are AWS-wide codes, without
      // the AWS.SimpleQueueService. prefix of SQS's own (NonExistentQueue, ...).
      .header("x-amzn-query-error", `${error.code};Sender`)
      .send({ __type: `com.amazonaws.sqs#${error.code}`, message: error.message });
  }
}

/**
 * Creates fauxqs's stores from its own classes. The package does not export them, so they are
 * imported by file path (which `exports` does not restrict); `require.resolve` cannot be used to
 * find the package because it applies the same `exports` map.
 */
async function createStores(): Promise<{ sqsStore: SqsStore; snsStore: SnsStore; s3Store: S3Store; createMessage: MessageFactory }> {
  const dist = join(fauxqsPackageDir(), "dist");
  const load = async <T>(file: string, exportName: string): Promise<new () => T> => {
    const mod = (await import(pathToFileURL(join(dist, file)).href)) as Record<string, unknown>;
    const ctor = mod[exportName];
    if (typeof ctor !== "function") {
      throw new Error(`fauxqs ${file} has no export ${exportName}: the fauxqs version changed`);
    }
    return ctor as new () => T;
  };
  const [SqsStoreClass, SnsStoreClass, S3StoreClass, SqsQueueClass] = await Promise.all([
    load<SqsStore>("sqs/sqsStore.js", "SqsStore"),
    load<SnsStore>("sns/snsStore.js", "SnsStore"),
    load<S3Store>("s3/s3Store.js", "S3Store"),
    load<unknown>("sqs/sqsStore.js", "SqsQueue"),
  ]);
  resetReceiveCountOnRedrive(SqsQueueClass as unknown as { prototype: { enqueue(message: RedrivenMessage): unknown } });
  const factory = SqsStoreClass as unknown as { createMessage(body: string, attributes?: object, delaySeconds?: number, groupId?: string, dedupId?: string): SqsMessage };
  return {
    sqsStore: new SqsStoreClass(),
    snsStore: new SnsStoreClass(),
    s3Store: new S3StoreClass(),
    createMessage: (body, attributes, groupId, dedupId) => factory.createMessage(body, attributes, undefined, groupId, dedupId),
  };
}

interface RedrivenMessage {
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
}

const RESET_INSTALLED = Symbol.for("utility-serverless.fauxqs.resetReceiveCountOnRedrive");

/**
 * A message a redrive policy moves to a dead-letter queue starts there with a receive count of 0,
 * as on AWS; fauxqs 2.4.1 moves the message object as it is, so its count (already past the source
 * queue's maxReceiveCount) carries over, and a DLQ with a redrive policy of its own (the
 * fulfillment DLQ → dlq-failures) passes it on at its first receive, before its consumer ever sees
 * it (LocalStack fixed the same bug, localstack/localstack#5225). `enqueue` is only ever given an
 * already-received message by that move, so that is where the count is reset. Patched once per
 * process: the class is shared by every emulator started in it.
 */
function resetReceiveCountOnRedrive(queueClass: { prototype: { enqueue(message: RedrivenMessage): unknown } }): void {
  const proto = queueClass.prototype as { enqueue(message: RedrivenMessage): unknown; [RESET_INSTALLED]?: true };
  if (proto[RESET_INSTALLED]) return;
  const enqueue = proto.enqueue;
  proto.enqueue = function (this: unknown, message: RedrivenMessage) {
    if (message.approximateReceiveCount > 0) {
      message.approximateReceiveCount = 0;
      message.approximateFirstReceiveTimestamp = undefined;
    }
    return enqueue.call(this, message);
  };
  proto[RESET_INSTALLED] = true;
}

/** The characters SQS refuses in a message: all but #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. */
const NOT_SQS_TEXT = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/**
 * fauxqs refuses every character above U+FFFF (emoji, CJK extension B, ...) in SendMessage: its
 * check (`INVALID_MESSAGE_BODY_CHAR`, no `u` flag) tests UTF-16 code units and omits the
 * #x10000-#x10FFFF range SQS allows. Its SNS fan-out does not check, so such a message reached a
 * queue, and a consumer could then not send it on to its DLQ (found by tests/fuzz/bus.fuzz.test.ts:
 * invalid messages with an emoji were redriven without their failure reason, after 5 receives).
 * The check's `test` is replaced by AWS's rule, on the one module instance fauxqs itself loaded.
 */
async function allowSupplementaryCharacters(): Promise<void> {
  // fauxqs's own imports resolve to the real path (node_modules may be a symlink): same instance.
  const file = realpathSync(join(fauxqsPackageDir(), "dist", "sqs", "sqsTypes.js"));
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const check = mod.INVALID_MESSAGE_BODY_CHAR;
  if (!(check instanceof RegExp)) throw new Error("fauxqs sqs/sqsTypes.js has no INVALID_MESSAGE_BODY_CHAR: the fauxqs version changed");
  Object.defineProperty(check, "test", { value: (text: string) => NOT_SQS_TEXT.test(text), configurable: true });
}

/** The directory of the installed fauxqs package, found along Node's own module search path. */
function fauxqsPackageDir(): string {
  for (const dir of require.resolve.paths("fauxqs") ?? []) {
    const candidate = join(dir, "fauxqs");
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  throw new Error("fauxqs is not installed (npm install fauxqs)");
}
