/**
 * Bundles a handler with esbuild into the artifact Lambda runs: one minified CommonJS file for
 * `nodejs22.x`, tree-shaken, with its source map. The AWS SDK is bundled too (pinned versions, not
 * whatever the runtime ships), with two of its modules replaced (`BUNDLE_ALIASES`): the default
 * credential chain by the environment provider, and the event-stream codec, which no function uses,
 * by a module that refuses. The local cloud and the bundle tests run these same files.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import type { BuildOptions } from "esbuild";

/** Where bundles are written: `.build/functions/<name>/`. */
export const BUILD_DIR = path.resolve(__dirname, "..", "..", ".build", "functions");

export interface Bundle {
  /** Directory holding `index.js` and `index.js.map`. */
  dir: string;
  /** Size of `index.js` in bytes. */
  bytes: number;
  /** SHA-256 of `index.js`, base64 (Lambda's `sourceCodeHash`). */
  sha256: string;
}

const built = new Map<string, Bundle>();

const AWS_LIB = path.resolve(__dirname, "..", "..", "functions", "lib", "aws");

/**
 * Modules replaced in every bundle (measured: `npm run bench -- --functions`, README "Benchmarks").
 * - The SDK clients import their default credential chain (`@aws-sdk/credential-provider-node`:
 *   environment, SSO, INI profiles, process, web identity, container and instance metadata, with
 *   the STS and SSO-OIDC clients those need) whether or not it is used; a Lambda function only ever
 *   reads its role's credentials from the environment, so the bundles get the environment provider
 *   in its place (`functions/lib/aws/env-credentials.ts`): about 90 KiB less per bundle.
 * - The SDK's protocols reach the event-stream codec (`@smithy/core/event-streams`) with `import()`
 *   for streaming operations only, which no function calls: a module that refuses stands in
 *   (`functions/lib/aws/no-event-streams.ts`): about 15 KiB less.
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  "@aws-sdk/credential-provider-node": path.join(AWS_LIB, "env-credentials.ts"),
  "@smithy/core/event-streams": path.join(AWS_LIB, "no-event-streams.ts"),
};

/**
 * The esbuild options of every deploy artifact (the benchmark times esbuild with these too).
 * Nothing is written: the caller writes the output files.
 */
export function buildOptions(entry: string, outfile: string): BuildOptions & { write: false; metafile: true } {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    treeShaking: true,
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    outfile,
    write: false,
    logLevel: "silent",
    // Packages that offer an ES-module build give esbuild better tree-shaking.
    mainFields: ["module", "main"],
    alias: BUNDLE_ALIASES,
    metafile: true,
  };
}

/** Bump when the build options below change, so bundles cached on disk are rebuilt. */
export const BUILD_OPTIONS_VERSION = 3;
/**
 * Build manifests live beside the bundles, not in them: the bundle directory is the deployed
 * archive, and absolute paths and mtimes in it would change the artifact on every machine.
 */
const MANIFEST_DIR = path.join(BUILD_DIR, "..", "manifests");
const manifestPath = (name: string) => path.join(MANIFEST_DIR, `${name}.json`);

interface Manifest {
  version: number;
  entry: string;
  /** Every input esbuild read (relative to the working directory it reports) → `size:mtimeMs`. */
  inputs: Record<string, string>;
}

function stamp(file: string): string | undefined {
  try {
    const stat = fs.statSync(file);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * The bundle already on disk, when none of the files it was built from changed since (like make:
 * size and mtime of every input esbuild reported). Saves seconds per function at local cloud start.
 */
function reuse(name: string, dir: string, entry: string): Bundle | undefined {
  try {
    const manifest = JSON.parse(fs.readFileSync(manifestPath(name), "utf8")) as Manifest;
    if (manifest.version !== BUILD_OPTIONS_VERSION || manifest.entry !== path.resolve(entry)) return undefined;
    for (const [file, expected] of Object.entries(manifest.inputs)) if (stamp(file) !== expected) return undefined;
    const contents = fs.readFileSync(path.join(dir, "index.js"));
    return { dir, bytes: contents.byteLength, sha256: createHash("sha256").update(contents).digest("base64") };
  } catch {
    return undefined;
  }
}

/**
 * The bundle built (in this process) whose `index.js` has this SHA-256 (base64, as the function's
 * `sourceCodeHash`), so a runner given a deployed function's inputs finds its artifact.
 */
export function bundleForHash(sha256: string): Bundle | undefined {
  for (const bundle of built.values()) if (bundle.sha256 === sha256) return bundle;
  return undefined;
}

/**
 * Builds (once per process) the bundle of `entry` under `name`.
 *
 * @param name - the function's short name (the output directory).
 * @param entry - the handler module; it must export `handler`.
 */
export function bundleFunction(name: string, entry: string): Bundle {
  const cached = built.get(name);
  if (cached) return cached;
  const dir = path.join(BUILD_DIR, name);
  const reused = reuse(name, dir, entry);
  if (reused) {
    built.set(name, reused);
    return reused;
  }
  const result = buildSync(buildOptions(entry, path.join(BUILD_DIR, name, "index.js")));
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  let sha256 = "";
  for (const file of result.outputFiles) {
    // Write through a temporary file and rename: concurrent test processes may build the same function.
    const tmp = `${file.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, file.contents);
    fs.renameSync(tmp, file.path);
    if (file.path.endsWith(".js")) {
      bytes = file.contents.byteLength;
      sha256 = createHash("sha256").update(file.contents).digest("base64");
    }
  }
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const file = path.resolve(input);
    const current = stamp(file);
    if (current !== undefined) inputs[file] = current;
  }
  const manifest: Manifest = { version: BUILD_OPTIONS_VERSION, entry: path.resolve(entry), inputs };
  fs.mkdirSync(MANIFEST_DIR, { recursive: true });
  fs.rmSync(path.join(dir, "inputs.json"), { force: true }); // where earlier builds kept it
  const manifestTmp = `${manifestPath(name)}.${process.pid}.tmp`;
  fs.writeFileSync(manifestTmp, JSON.stringify(manifest));
  fs.renameSync(manifestTmp, manifestPath(name));
  const bundle = { dir, bytes, sha256 };
  built.set(name, bundle);
  return bundle;
}
