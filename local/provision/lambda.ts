/**
 * Lambda: each function runs from its built bundle (the deploy artifact) in a `FunctionHost`, with
 * its own environment plus the local endpoints; event source mappings are recorded here and started
 * once the whole program is deployed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { BUILD_DIR, bundleForHash } from "../../components/lib/bundle";
import { awsShapedState } from "../../runner/aws-shaped-state";
import { FunctionHost } from "../runtime/function-host";
import type { LocalDeployment } from "./context";
import { asNumber, asRecord, asString, plainInputs } from "./context";

/** Environments a function may run at once locally, unless it reserves fewer. */
export const DEFAULT_LOCAL_CONCURRENCY = 10;

/**
 * The directory of a function's bundle. The `code` archive's path is not resolved under the mock
 * runtime, so the bundle is found by its `sourceCodeHash`, then by the archive path, then by the
 * definition name (`POWERTOOLS_SERVICE_NAME`, the bundle's directory name).
 */
export function bundleDirOf(inputs: Record<string, unknown>, variables: Record<string, string>): string {
  const hash = asString(inputs.sourceCodeHash);
  const byHash = hash ? bundleForHash(hash) : undefined;
  if (byHash) return byHash.dir;
  const archivePath = asRecord(inputs.code).path;
  if (typeof archivePath === "string" && fs.existsSync(path.join(archivePath, "index.js"))) return archivePath;
  const service = variables.POWERTOOLS_SERVICE_NAME;
  if (service && fs.existsSync(path.join(BUILD_DIR, service, "index.js"))) return path.join(BUILD_DIR, service);
  throw new Error(`Cannot find the bundle of function ${String(inputs.name)}: no built bundle matches its sourceCodeHash (run \`npm run build\`)`);
}

export function provisionFunction(args: MockResourceArgs, deployment: LocalDeployment): MockResourceResult {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const name = base.state.name as string;
  const arn = base.state.arn as string;
  const variables = Object.fromEntries(
    Object.entries(asRecord(asRecord(inputs.environment).variables)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  const handler = asString(inputs.handler) ?? "index.handler";
  if (handler !== "index.handler") throw new Error(`Function ${name}: the local cloud runs bundles exporting index.handler, not ${handler}`);
  const reserved = asNumber(inputs.reservedConcurrentExecutions);
  const host = new FunctionHost({
    name,
    arn,
    bundleDir: bundleDirOf(inputs, variables),
    // With IAM, the function signs with its own role session's credentials (local/iam/credentials.ts).
    environment: { ...variables, ...deployment.options.functionEnvironment, ...deployment.options.iam?.functionCredentials(name, asString(inputs.role) ?? "") },
    timeoutSeconds: asNumber(inputs.timeout) ?? 3,
    memoryMb: asNumber(inputs.memorySize) ?? 128,
    concurrency: reserved !== undefined && reserved >= 0 ? Math.max(1, reserved) : DEFAULT_LOCAL_CONCURRENCY,
    onLog: (line) => deployment.options.log(`[${name}] ${line}`),
    faults: deployment.options.faults,
    ...(deployment.options.account ? { account: deployment.options.account } : {}),
  });
  deployment.addFunction({ name, arn, host });
  return base;
}

export function provisionEventSourceMapping(args: MockResourceArgs, deployment: LocalDeployment): MockResourceResult {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const eventSourceArn = asString(inputs.eventSourceArn) ?? "";
  if (!eventSourceArn.startsWith("arn:aws:sqs:")) {
    deployment.count(deployment.unknown, `${args.type} (source ${eventSourceArn.split(":")[2] ?? "unknown"})`);
    return base;
  }
  const responseTypes = Array.isArray(inputs.functionResponseTypes) ? (inputs.functionResponseTypes as string[]) : [];
  deployment.mappings.push({
    uuid: base.id ?? args.name,
    eventSourceArn,
    functionName: asString(inputs.functionName) ?? "",
    batchSize: asNumber(inputs.batchSize) ?? 10,
    maximumConcurrency: asNumber(asRecord(inputs.scalingConfig).maximumConcurrency) ?? 2,
    enabled: inputs.enabled !== false,
    reportBatchItemFailures: responseTypes.includes("ReportBatchItemFailures"),
  });
  return { id: base.id, state: { ...base.state, state: "Enabled", functionArn: asString(inputs.functionName) } };
}
