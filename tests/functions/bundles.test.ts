/**
 * The deploy artifacts stay lean (issue 17): each function's bundle, built with the deploy options
 * (components/lib/bundle.ts), fits its size budget and contains exactly the AWS SDK clients its
 * handler uses, the environment credential provider instead of the SDK's default chain, and
 * zod/mini with one locale instead of full zod. What a change saves is measured by
 * `npm run bench -- --functions`; this test only keeps a regression from shipping.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import type { Metafile } from "esbuild";
import { describe, expect, it } from "vitest";
import { buildOptions } from "../../components/lib/bundle";

const FUNCTIONS = path.resolve(__dirname, "..", "..", "functions");
const KIB = 1024;

/** The budget of every bundle (minified `index.js`). */
const BUDGET_KIB = 350;

/**
 * Bundles over the common budget, each with its own ceiling and the reason. Lower a ceiling when a
 * change brings the bundle down; never raise one without saying why here.
 */
const SQS_CONSUMER =
  "an SQS consumer with a table: the SQS and DynamoDB clients (53 KiB) on the SDK's core (about 135 KiB: protocols, signing, retries, endpoints), plus the tracer and its exporter (58 KiB), Powertools logger, metrics and batch (41 KiB) and zod/mini (25-30 KiB); measured 2026-12-02, README \"Benchmarks\"";
const OVER_BUDGET: Record<string, { kib: number; why: string }> = {
  "orders/dlq": { kib: 365, why: SQS_CONSUMER },
  "orders/fulfillment": { kib: 368, why: SQS_CONSUMER },
  "transactions/payment": { kib: 370, why: SQS_CONSUMER },
  "transactions/bank-account-setup": {
    kib: 456,
    why: `${SQS_CONSUMER}; and the SSM client (Powertools Parameters reads the fingerprint key), whose service model registers all of SSM's ~140 error classes at load: about 77 KiB esbuild cannot drop`,
  },
};

/** The AWS SDK clients each function's bundle holds: exactly those its handler calls. */
const CLIENTS: Record<string, string[]> = {
  "orders/api": ["client-dynamodb", "client-sfn"],
  "orders/dlq": ["client-dynamodb", "client-sqs"],
  "orders/fulfillment": ["client-dynamodb", "client-sqs"],
  "orders/store": ["client-dynamodb"],
  "orders/validate": [],
  "transactions/bank-account-setup": ["client-dynamodb", "client-sqs", "client-ssm"],
  "transactions/payment": ["client-dynamodb", "client-sqs"],
};

/** Every `functions/<unit>/<name>/handler.ts`, as `<unit>/<name>`. */
function handlers(): string[] {
  return fs
    .readdirSync(FUNCTIONS, { withFileTypes: true })
    .filter((unit) => unit.isDirectory() && unit.name !== "lib")
    .flatMap((unit) => fs.readdirSync(path.join(FUNCTIONS, unit.name)).map((name) => `${unit.name}/${name}`))
    .filter((fn) => fs.existsSync(path.join(FUNCTIONS, fn, "handler.ts")))
    .sort();
}

/** The package a bundled input comes from (`@aws-sdk/client-sqs`, `zod`), or `undefined` for our own. */
const packageOf = (input: string) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];

function build(fn: string): { bytes: number; inputs: string[] } {
  const result = buildSync(buildOptions(path.join(FUNCTIONS, fn, "handler.ts"), path.join("/tmp", "bundles-test", fn, "index.js")));
  const metafile: Metafile = result.metafile;
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  return { bytes: output.bytes, inputs: Object.keys(output.inputs) };
}

const built = new Map(handlers().map((fn) => [fn, build(fn)]));

describe("function bundles", () => {
  it("over-budget bundles are few and each says why", () => {
    for (const [fn, { kib, why }] of Object.entries(OVER_BUDGET)) {
      expect(CLIENTS, fn).toHaveProperty([fn]);
      expect(kib).toBeGreaterThan(BUDGET_KIB);
      expect(why.length).toBeGreaterThan(40);
    }
  });

  it("every handler has a client list here (a new function must declare what it bundles)", () => {
    expect(Object.keys(CLIENTS).sort()).toEqual(handlers());
  });

  it.each(Object.keys(CLIENTS))("%s fits its size budget", (fn) => {
    const ceiling = OVER_BUDGET[fn]?.kib ?? BUDGET_KIB;
    expect(built.get(fn)!.bytes / KIB).toBeLessThanOrEqual(ceiling);
  });

  it.each(Object.keys(CLIENTS))("%s bundles exactly the AWS clients it uses", (fn) => {
    const clients = new Set(built.get(fn)!.inputs.map(packageOf).filter((p) => p?.startsWith("@aws-sdk/client-")));
    expect([...clients].map((c) => c!.replace("@aws-sdk/", "")).sort()).toEqual(CLIENTS[fn]);
  });

  it.each(Object.keys(CLIENTS))("%s resolves credentials from the environment only, carries no event-stream codec, and validates with zod/mini in English", (fn) => {
    const inputs = built.get(fn)!.inputs;
    const packages = new Set(inputs.map(packageOf));
    for (const chain of ["@aws-sdk/credential-provider-node", "@aws-sdk/credential-provider-ini", "@aws-sdk/credential-provider-sso", "@aws-sdk/nested-clients"]) {
      expect(packages).not.toContain(chain);
    }
    if (CLIENTS[fn]!.length > 0) expect(inputs).toContain("functions/lib/aws/env-credentials.ts");
    expect(inputs.filter((i) => i.includes("/submodules/event-streams/"))).toEqual([]);
    expect(inputs.filter((i) => i.includes("node_modules/zod/v4/classic/"))).toEqual([]);
    expect(inputs.filter((i) => i.includes("node_modules/zod/v4/locales/"))).toEqual([expect.stringMatching(/\/locales\/en\.js$/)]);
  });
});

describe("the modules the bundles alias", () => {
  it("the event-stream stand-in refuses with a message that names the alias", async () => {
    const { EventStreamSerde, eventStreamSerdeProvider } = await import("../../functions/lib/aws/no-event-streams");
    expect(() => new EventStreamSerde()).toThrow(/AWS event streams are not bundled .*@smithy\/core\/event-streams/);
    expect(() => eventStreamSerdeProvider()).toThrow(/not bundled/);
  });

  it("the credential stand-in reads the environment (a local function's own key included)", async () => {
    const { defaultProvider } = await import("../../functions/lib/aws/env-credentials");
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDLOCALFUNCTION1", AWS_SECRET_ACCESS_KEY: "secret-1", AWS_SESSION_TOKEN: "token-1" });
      await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: "AKIDLOCALFUNCTION1", secretAccessKey: "secret-1", sessionToken: "token-1" });
      delete process.env.AWS_ACCESS_KEY_ID;
      await expect(defaultProvider()()).rejects.toThrow(/environment variable/i);
    } finally {
      process.env = saved;
    }
  });
});
