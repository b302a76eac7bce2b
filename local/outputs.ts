/**
 * The stack outputs file: what `pulumi stack output --json --show-secrets` prints for a deployed
 * stack, and what the local cloud writes to `.local/<stack>/outputs.json` (plus `awsEndpoints` and
 * `otlpEndpoint`). The tools and the integration suite read only this, so they work against both.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { StackOutputsSchema } from "../components/outputs";
import { unknownStackMessage } from "../runner/stack-config";

/** The keys only the local cloud's outputs file has. */
const localCloudKeys = {
  /** AWS CLI service name (`sns`, `sqs`, `dynamodb`, `stepfunctions`, `ssm`) → endpoint URL; local cloud only. */
  awsEndpoints: z.record(z.string(), z.url()).optional(),
  /**
   * The local cloud's OTLP/HTTP receiver (the value for `OTEL_EXPORTER_OTLP_ENDPOINT`); local cloud
   * only, and only while it traces. `npm run tx` exports its publish span there.
   */
  otlpEndpoint: z.url().optional(),
  /** The local cloud's fault control endpoint (`local/faults/control.ts`); local cloud only. */
  faultControlUrl: z.url().optional(),
  /**
   * AWS CLI service name → the gateway the functions call (IAM, then faults), where a call signed
   * with `localRoleCredentials` gets the function's answer; local cloud only.
   */
  functionEndpoints: z.record(z.string(), z.url()).optional(),
  /**
   * Function name → the local credentials that act as its role (`local/iam/credentials.ts`): a call
   * signed with them gets the answer the function would; local cloud only, and only with IAM on.
   */
  localRoleCredentials: z.record(z.string(), z.object({ roleArn: z.string(), accessKeyId: z.string(), secretAccessKey: z.string() })).optional(),
  /** The local cloud's status endpoint: event-loop delay and account concurrency (`local/runtime/status.ts`); local cloud only. */
  localStatusUrl: z.url().optional(),
};

/**
 * An outputs file: every stack output (`StackOutputsSchema`, all required: the program always
 * outputs them all), the local cloud's own keys, and any other key as is. Built as `region`, the
 * local keys, then the rest, so the local cloud writes its keys in the order it always has.
 */
export const StackOutputsFile = StackOutputsSchema.pick({ region: true }).extend(localCloudKeys).extend(StackOutputsSchema.shape).loose();
export type StackOutputsFile = z.infer<typeof StackOutputsFile>;

const ROOT = path.resolve(__dirname, "..");

/**
 * The local cloud's state directory: `<dir>/<stack>/` holds `outputs.json`, the `cloud.pid` lock
 * and `spans.jsonl`. `LOCAL_CLOUD_DIR` moves it (the tests use a temporary one).
 * @default the repository's `.local`
 */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LOCAL_CLOUD_DIR?.trim() ? path.resolve(env.LOCAL_CLOUD_DIR.trim()) : path.join(ROOT, ".local");
}

/** Where the local cloud writes what each role used and was refused: beside the outputs file. */
export function iamUsagePath(outputsFile: string): string {
  return path.join(path.dirname(outputsFile), "iam-usage.json");
}

/** Where the local cloud writes a stack's outputs. */
export function localOutputsPath(stack: string): string {
  return path.join(localStateDir(), stack, "outputs.json");
}

/** The command that starts the local cloud for a stack. */
export function startCommand(stack: string): string {
  return `npm start -- --stack ${stack}`;
}

/**
 * The one line for a stack whose local cloud is not running: why we know (`no .local/dev/outputs.json`,
 * `nothing listens on <url>`) and the command that starts it.
 */
export function notRunningMessage(stack: string, evidence: string): string {
  return `The local cloud for stack ${stack} is not running (${evidence}): start it with \`${startCommand(stack)}\``;
}

/** The lock a running local cloud holds beside its outputs file: its process id. */
export function cloudLockPath(outputsFile: string): string {
  return path.join(path.dirname(outputsFile), "cloud.pid");
}

/** Raised when another local cloud already serves the same outputs directory. */
export class LocalCloudRunningError extends Error {
  override name = "LocalCloudRunningError";
  constructor(
    readonly stackName: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    const lock = path.relative(process.cwd(), lockFile);
    super(
      `The local cloud for stack "${stackName}" is already running (pid ${pid}, lock ${lock}). ` +
        `Use that one, or stop it first: Ctrl-C in its terminal, or \`kill ${pid}\`. ` +
        `(If pid ${pid} is not a local cloud, delete ${lock}.)`,
    );
  }
}

/** Whether a process exists (`process.kill(pid, 0)`; EPERM means it exists but is someone else's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A pid reused by a process that is not Node cannot be a local cloud (Linux only; elsewhere trust the pid).
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node");
  } catch {
    return true;
  }
}

/** The pid in a lock file, if it holds one. */
function readLockPid(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Locks this process holds (a second cloud in the same process is refused too). */
const held = new Set<string>();

/**
 * Takes the lock beside `outputsFile` for this process: created atomically with the pid in it
 * (written to a temporary file, then hard-linked into place). A lock whose process is gone (a
 * crashed run) is taken over.
 * @returns a function that releases it (only while it still names this process).
 * @throws LocalCloudRunningError when a live process holds it.
 */
export function acquireCloudLock(outputsFile: string, stack: string): () => void {
  const lockFile = cloudLockPath(outputsFile);
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const temporary = `${lockFile}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(temporary, lockFile);
        held.add(lockFile);
        return () => {
          held.delete(lockFile);
          if (readLockPid(lockFile) === process.pid) fs.rmSync(lockFile, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = readLockPid(lockFile);
      const running = holder === process.pid ? held.has(lockFile) : holder !== undefined && isAlive(holder);
      if (running) throw new LocalCloudRunningError(stack, holder!, lockFile);
      fs.rmSync(lockFile, { force: true }); // stale: its process is gone
    }
    throw new Error(`Could not take the lock ${lockFile}`);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * Reads and validates an outputs file.
 * @param file - path to the JSON file. @default the local cloud's `.local/<stack>/outputs.json`
 * @param stack - used for the default path. @default "dev"
 */
export function readStackOutputs(file?: string, stack = "dev"): StackOutputsFile {
  const target = file ?? localOutputsPath(stack);
  if (!fs.existsSync(target)) {
    throw new Error(
      file
        ? `Outputs file ${file} does not exist (pulumi stack output --json --show-secrets --stack <stack> > ${file})`
        : (unknownStackMessage(stack) ??
          `${notRunningMessage(stack, `no ${path.relative(process.cwd(), target)}`)} (or pass --outputs <file> for a deployed stack)`),
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(target, "utf8"));
  } catch (error) {
    throw new Error(`${target} is not a stack outputs file: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const parsed = StackOutputsFile.safeParse(json);
  if (!parsed.success) throw new Error(`${target} is not a stack outputs file: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/**
 * SDK client settings for a stack: the local endpoints and dummy credentials when the outputs come
 * from the local cloud, the default AWS configuration otherwise.
 */
export function clientConfig(outputs: StackOutputsFile, service: "sns" | "sqs" | "dynamodb" | "stepfunctions" | "ssm") {
  const endpoint = outputs.awsEndpoints?.[service];
  return {
    region: outputs.region,
    ...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  };
}
