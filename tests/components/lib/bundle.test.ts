// Bundling (components/lib/bundle.ts): a small handler (importing a local module and the AWS SDK)
// becomes one minified CommonJS file with a linked source map in `.build/functions/<name>/`, the
// SDK bundled in; a later process with unchanged inputs reuses it from disk (the manifest of input
// stamps), and a changed input rebuilds it. Each "later process" is a fresh module instance.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type * as bundleModule from "../../../components/lib/bundle";

type BundleModule = typeof bundleModule;

const ROOT = path.resolve(__dirname, "..", "..", "..");
const NAME = `bundle-test-${process.pid}`;
/** Inside the repository (ignored by git), so esbuild finds the AWS SDK in its node_modules. */
const SOURCE_DIR = path.join(ROOT, ".build", "bundle-test-sources", String(process.pid));
const ENTRY = path.join(SOURCE_DIR, "handler.ts");
const HELPER = path.join(SOURCE_DIR, "greeting.ts");
const BUILD_DIR = path.join(ROOT, ".build", "functions");
const OUT_DIR = path.join(BUILD_DIR, NAME);
const MANIFEST = path.join(ROOT, ".build", "manifests", `${NAME}.json`);

/** A fresh instance of the module, as a new process would load it (its in-process cache empty). */
async function freshBundler(): Promise<BundleModule> {
  vi.resetModules();
  return import("../../../components/lib/bundle");
}
const indexJs = () => path.join(OUT_DIR, "index.js");
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("base64");

beforeAll(() => {
  fs.mkdirSync(SOURCE_DIR, { recursive: true });
  fs.writeFileSync(HELPER, 'export const GREETING = "hello from the helper";\n');
  fs.writeFileSync(
    ENTRY,
    [
      'import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";',
      'import { GREETING } from "./greeting";',
      "export const handler = async (event: { name: string }) => {",
      "  const aVeryLongLocalVariableName = `${GREETING}, ${event.name}`;",
      "  return { message: aVeryLongLocalVariableName, command: new GetQueueUrlCommand({ QueueName: event.name }).input };",
      "};",
      "",
    ].join("\n"),
  );
});
afterAll(() => {
  fs.rmSync(SOURCE_DIR, { recursive: true, force: true });
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
  fs.rmSync(MANIFEST, { force: true });
});

describe("bundleFunction", () => {
  let first: ReturnType<BundleModule["bundleFunction"]>;
  let firstStat: fs.Stats;

  it("writes index.js and its source map, nothing else, to .build/functions/<name>", async () => {
    const bundler = await freshBundler();
    expect(bundler.BUILD_DIR).toBe(BUILD_DIR);
    first = bundler.bundleFunction(NAME, ENTRY);
    firstStat = fs.statSync(indexJs());
    expect(first).toEqual({ dir: OUT_DIR, bytes: firstStat.size, sha256: sha256(indexJs()) });
    expect(fs.readdirSync(OUT_DIR).sort()).toEqual(["index.js", "index.js.map"]);
  });

  it("minified: one line of code, local names shortened, then the source map link", () => {
    const code = fs.readFileSync(indexJs(), "utf8");
    const lines = code.split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe("//# sourceMappingURL=index.js.map");
    expect(code).not.toContain("aVeryLongLocalVariableName");
    expect(code).toContain("hello from the helper");
  });

  it("the source map names the sources, without their contents", () => {
    const map = JSON.parse(fs.readFileSync(path.join(OUT_DIR, "index.js.map"), "utf8")) as { version: number; sources: string[]; sourcesContent?: unknown };
    expect(map.version).toBe(3);
    const sources = map.sources.map((s) => path.resolve(OUT_DIR, s));
    expect(sources).toContain(ENTRY);
    expect(sources).toContain(HELPER);
    expect(sources.some((s) => s.includes(`${path.sep}@aws-sdk${path.sep}client-sqs${path.sep}`))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });

  it("bundles the AWS SDK (no require of @aws-sdk or @smithy), as CommonJS exporting handler", async () => {
    const code = fs.readFileSync(indexJs(), "utf8");
    expect(code).not.toMatch(/require\(["'](@aws-sdk|@smithy)\//);
    const loaded = createRequire(__filename)(indexJs()) as { handler: (event: { name: string }) => Promise<unknown> };
    expect(await loaded.handler({ name: "orders" })).toEqual({ message: "hello from the helper, orders", command: { QueueName: "orders" } });
  });

  it("in one process, a second call returns the same bundle without building", async () => {
    const bundler = await freshBundler();
    const a = bundler.bundleFunction(NAME, ENTRY);
    fs.rmSync(OUT_DIR, { recursive: true }); // a build would have to write it again
    const b = bundler.bundleFunction(NAME, ENTRY);
    expect(b).toBe(a);
    expect(fs.existsSync(OUT_DIR)).toBe(false);
    // Put it back as the first test built it.
    (await freshBundler()).bundleFunction(NAME, ENTRY);
    firstStat = fs.statSync(indexJs());
    expect(sha256(indexJs())).toBe(first.sha256);
  });

  it("the manifest beside the bundles stamps every input esbuild read", async () => {
    const manifest = JSON.parse(fs.readFileSync(MANIFEST, "utf8")) as { version: number; entry: string; inputs: Record<string, string> };
    expect(manifest.version).toBe((await freshBundler()).BUILD_OPTIONS_VERSION);
    expect(manifest.entry).toBe(ENTRY);
    for (const file of [ENTRY, HELPER]) {
      const stat = fs.statSync(file);
      expect(manifest.inputs[file]).toBe(`${stat.size}:${stat.mtimeMs}`);
    }
    expect(Object.keys(manifest.inputs).some((f) => f.includes(`${path.sep}@aws-sdk${path.sep}client-sqs${path.sep}`))).toBe(true);
  });

  it("a later process with unchanged inputs reuses the bundle on disk: same hash, file not rewritten", async () => {
    const again = (await freshBundler()).bundleFunction(NAME, ENTRY);
    expect(again).toEqual(first);
    const stat = fs.statSync(indexJs());
    expect({ ino: stat.ino, mtimeMs: stat.mtimeMs }).toEqual({ ino: firstStat.ino, mtimeMs: firstStat.mtimeMs });
  });

  it("a changed input rebuilds: new hash, new file, the new code, a new stamp", async () => {
    fs.writeFileSync(HELPER, 'export const GREETING = "hello again from the changed helper";\n');
    const bundler = await freshBundler();
    const rebuilt = bundler.bundleFunction(NAME, ENTRY);
    expect(rebuilt.sha256).not.toBe(first.sha256);
    expect(rebuilt.sha256).toBe(sha256(indexJs()));
    expect(fs.statSync(indexJs()).ino).not.toBe(firstStat.ino);
    expect(fs.readFileSync(indexJs(), "utf8")).toContain("hello again from the changed helper");
    const manifest = JSON.parse(fs.readFileSync(MANIFEST, "utf8")) as { inputs: Record<string, string> };
    expect(manifest.inputs[HELPER]).toBe(`${fs.statSync(HELPER).size}:${fs.statSync(HELPER).mtimeMs}`);
    // The function's deployed sourceCodeHash finds it (the local cloud runs it by that hash).
    expect(bundler.bundleForHash(rebuilt.sha256)).toBe(rebuilt);
    expect(bundler.bundleForHash(first.sha256)).toBeUndefined();
  });

  it("another entry under the same name rebuilds", async () => {
    const other = path.join(SOURCE_DIR, "other.ts");
    fs.writeFileSync(other, 'export const handler = async () => "other";\n');
    const before = fs.statSync(indexJs()).ino;
    const rebuilt = (await freshBundler()).bundleFunction(NAME, other);
    expect(fs.statSync(indexJs()).ino).not.toBe(before);
    expect(rebuilt.sha256).toBe(sha256(indexJs()));
    expect(JSON.parse(fs.readFileSync(MANIFEST, "utf8")).entry).toBe(other);
  });
});
