/**
 * The function host's environment is Lambda's: the variables Lambda's Node.js runtime sets, so
 * Powertools and the SDK behave as deployed. In particular `AWS_LAMBDA_INITIALIZATION_TYPE` makes
 * Powertools' cold-start detection work: the first invocation of a fresh environment logs
 * `"cold_start":true`, the next `false`, and a new environment starts cold again.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FunctionHost } from "../../../local/runtime/function-host";
import { exitMessage, lambdaEnvironment } from "../../../local/runtime/lambda-environment";

const ROOT = path.resolve(__dirname, "../../..");
let dir: string;
const hosts: FunctionHost[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "function-host-"));
  buildSync({
    stdin: {
      contents: `
        import { Logger } from "@aws-lambda-powertools/logger";
        const logger = new Logger({ serviceName: "host-test" });
        const names = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_INITIALIZATION_TYPE",
          "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "AWS_REGION", "AWS_DEFAULT_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "TZ"];
        export const handler = async (_event: unknown, context: any) => {
          logger.addContext(context);
          logger.info("invoked");
          return { env: Object.fromEntries(names.map((n) => [n, process.env[n]])), logGroupName: context.logGroupName, functionVersion: context.functionVersion };
        };`,
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    outfile: path.join(dir, "index.js"),
    logLevel: "silent",
  });
});
// Each test's hosts stop after that test: their environments' exits count as its coverage (Stryker
// runs a mutant of the stop path against the tests that reach it, not against every test).
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function host(logs: string[], concurrency = 1): FunctionHost {
  const h = new FunctionHost({
    name: "host-test-fn",
    bundleDir: dir,
    environment: { AWS_REGION: "us-east-2" },
    memoryMb: 512,
    concurrency,
    onLog: (line) => logs.push(line),
  });
  hosts.push(h);
  return h;
}

const coldStarts = (logs: string[]) => logs.filter((l) => l.includes('"invoked"')).map((l) => (JSON.parse(l) as { cold_start?: boolean }).cold_start);

/**
 * The `cold_start` flags of the first `count` invocations' log lines. A function's stdout reaches
 * the host on its own pipe, so a line can arrive after the invocation's result: wait for it.
 */
async function coldStartsOf(logs: string[], count: number): Promise<(boolean | undefined)[]> {
  const deadline = Date.now() + 10_000;
  while (coldStarts(logs).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return coldStarts(logs);
}

describe("FunctionHost", () => {
  it("logs cold_start true on an environment's first invocation only", async () => {
    const logs: string[] = [];
    const h = host(logs);
    await h.invoke({});
    await h.invoke({});
    expect(await coldStartsOf(logs, 2)).toEqual([true, false]);
    // A fresh environment (after stop, a new host) is cold again.
    const again: string[] = [];
    await host(again).invoke({});
    expect(await coldStartsOf(again, 1)).toEqual([true]);
  });

  it("sets the variables Lambda's Node.js runtime sets", async () => {
    const result = (await host([]).invoke({})) as { env: Record<string, string>; logGroupName: string; functionVersion: string };
    expect(result.env).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: "host-test-fn",
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_LAMBDA_LOG_GROUP_NAME: "/aws/lambda/host-test-fn",
      AWS_LAMBDA_LOG_STREAM_NAME: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\]local-1$/),
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      AWS_REGION: "us-east-2",
      AWS_DEFAULT_REGION: "us-east-2",
      LAMBDA_TASK_ROOT: dir,
      _HANDLER: "index.handler",
      TZ: ":UTC",
    });
    expect(result).toMatchObject({ logGroupName: "/aws/lambda/host-test-fn", functionVersion: "$LATEST" });
  });

  it("takes the region from the function's ARN when its environment has none", () => {
    const env = lambdaEnvironment({ name: "f", bundleDir: dir, environment: {}, arn: "arn:aws:lambda:eu-west-1:000000000000:function:f" });
    expect(env).toMatchObject({ AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-1" });
    expect(lambdaEnvironment({ name: "f", bundleDir: dir, environment: {} }).AWS_REGION).toBeUndefined();
  });

  it("starts from the cloud's PATH, a UTF-8 locale and UTC; the worker's bundle, ARN and timeout come last", () => {
    const env = lambdaEnvironment({ name: "f", bundleDir: dir, environment: { LANG: "C", FOO: "bar", AWS_LAMBDA_FUNCTION_TIMEOUT: "1" } });
    expect(env).toMatchObject({
      PATH: process.env.PATH,
      LANG: "C", // the function's own variables override the runtime's defaults...
      TZ: ":UTC",
      FOO: "bar",
      LOCAL_FUNCTION_BUNDLE: path.join(dir, "index.js"),
      LOCAL_FUNCTION_ARN: "arn:aws:lambda:local:000000000000:function:f",
      AWS_LAMBDA_FUNCTION_TIMEOUT: "30", // ...but not the reserved ones; 30 s by default
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
    });
    expect(lambdaEnvironment({ name: "f", bundleDir: dir, environment: {} }).LANG).toBe("en_US.UTF-8");
    expect(lambdaEnvironment({ name: "f", bundleDir: dir, environment: {}, timeoutSeconds: 5 }).AWS_LAMBDA_FUNCTION_TIMEOUT).toBe("5");
    const arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
    expect(lambdaEnvironment({ name: "f", bundleDir: dir, environment: {}, arn }).LOCAL_FUNCTION_ARN).toBe(arn);
  });

  it("leaves PATH out when the cloud has none", () => {
    const saved = process.env.PATH;
    delete process.env.PATH;
    try {
      expect(Object.keys(lambdaEnvironment({ name: "f", bundleDir: dir, environment: {} }))).not.toContain("PATH");
    } finally {
      process.env.PATH = saved;
    }
  });

  it("words a runtime's exit as Lambda does", () => {
    expect(exitMessage(1, null)).toBe("Runtime exited with error: exit status 1");
    expect(exitMessage(null, "SIGKILL")).toBe("Runtime exited with error: signal: killed");
    expect(exitMessage(null, "SIGTERM")).toBe("Runtime exited with error: signal: term");
    expect(exitMessage(null, "SIGSEGV")).toBe("Runtime exited with error: signal: segv");
  });
});

describe("profiling an environment (cpuProfileDir, LOCAL_FUNCTION_CPU_PROFILE_DIR)", () => {
  it("writes one V8 CPU profile per environment when the host stops it, and none without the option", async () => {
    const profiles = fs.mkdtempSync(path.join(os.tmpdir(), "function-host-profiles-"));
    try {
      const profiled = new FunctionHost({ name: "profiled-fn", bundleDir: dir, environment: {}, cpuProfileDir: profiles, onLog: () => undefined });
      await profiled.invoke({});
      await profiled.stop();
      const written = fs.readdirSync(profiles);
      expect(written).toEqual([expect.stringMatching(/\.cpuprofile$/)]);
      const profile = JSON.parse(fs.readFileSync(path.join(profiles, written[0]!), "utf8")) as { nodes: { callFrame: { url: string } }[] };
      // The bundle's own code is in it: the profile covers the environment's invocations.
      expect(profile.nodes.some((n) => n.callFrame.url.endsWith(path.join(dir, "index.js")))).toBe(true);
      const plain = new FunctionHost({ name: "plain-fn", bundleDir: dir, environment: {}, onLog: () => undefined });
      await plain.invoke({});
      await plain.stop();
      expect(fs.readdirSync(profiles)).toHaveLength(1);
    } finally {
      fs.rmSync(profiles, { recursive: true, force: true });
    }
  });
});
