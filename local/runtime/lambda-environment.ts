/**
 * What a local execution environment is started with: Lambda's environment variables, and the Node
 * arguments of its process (none, or a CPU profiler when asked for one).
 */
import * as path from "node:path";

/** What {@link lambdaEnvironment} needs of a function (a subset of `FunctionHostOptions`). */
export interface LambdaEnvironmentOptions {
  /** Physical function name (`AWS_LAMBDA_FUNCTION_NAME`). */
  name: string;
  /** Directory holding the bundle's `index.js`. */
  bundleDir: string;
  /** The function's environment variables (as deployed). */
  environment: Record<string, string>;
  /** Invocation timeout in seconds. @default 30 */
  timeoutSeconds?: number;
  /** Memory in MB. @default 256 */
  memoryMb?: number;
  /** The function's ARN; its region becomes `AWS_REGION` when the environment sets none. @default a local ARN from `name` */
  arn?: string;
}

/**
 * An environment's variables: the function's own, then what Lambda's Node.js runtime sets
 * (reserved names win, as on Lambda). `AWS_LAMBDA_INITIALIZATION_TYPE=on-demand` is what
 * Powertools' cold-start detection needs (`cold_start: true` on an environment's first invocation).
 */
export function lambdaEnvironment(options: LambdaEnvironmentOptions, environmentNumber = 1): Record<string, string> {
  const arn = options.arn ?? `arn:aws:lambda:local:000000000000:function:${options.name}`;
  const arnRegion = arn.split(":")[3];
  const region = options.environment.AWS_REGION ?? (arnRegion && arnRegion !== "local" ? arnRegion : undefined);
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  return {
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    ...options.environment,
    ...(region ? { AWS_REGION: region, AWS_DEFAULT_REGION: options.environment.AWS_DEFAULT_REGION ?? region } : {}),
    LOCAL_FUNCTION_BUNDLE: path.join(options.bundleDir, "index.js"),
    LOCAL_FUNCTION_ARN: arn,
    AWS_LAMBDA_FUNCTION_NAME: options.name,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(options.timeoutSeconds ?? 30),
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb ?? 256),
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]local-${environmentNumber}`,
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    LAMBDA_TASK_ROOT: options.bundleDir,
    _HANDLER: "index.handler",
  };
}

/**
 * The Node arguments of an environment's process. None by default: the worker and the bundles are
 * plain JavaScript, so an environment must not inherit the cloud's own `--import tsx` (which doubled
 * its start: 0.22 s → 0.38–0.59 s) or any profiling flag the cloud was started with. With
 * `cpuProfileDir`, V8's CPU profiler (1 ms samples) writes one `.cpuprofile` per environment there
 * when it exits (the host then stops it by disconnecting, not by a signal, so the profile is written).
 */
export function environmentExecArgv(cpuProfileDir?: string): string[] {
  return cpuProfileDir ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(cpuProfileDir)] : [];
}

/** Lambda's message for a runtime that exited: `exit status 1`, `signal: killed`. */
export function exitMessage(code: number | null, signal: NodeJS.Signals | null): string {
  return `Runtime exited with error: ${signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal.toLowerCase().replace(/^sig/, "")}` : `exit status ${code}`}`;
}
