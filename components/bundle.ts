/**
 * Bundles a handler with esbuild into the artifact Lambda runs: one minified CommonJS file for
 * `nodejs22.x`, tree-shaken, with its source map. The AWS SDK is bundled too (pinned versions, not
 * whatever the runtime ships). The local cloud and the bundle tests run these same files.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";

/** Where bundles are written: `.build/functions/<name>/`. */
export const BUILD_DIR = path.resolve(__dirname, "..", ".build", "functions");

export interface Bundle {
  /** Directory holding `index.js` and `index.js.map`. */
  dir: string;
  /** Size of `index.js` in bytes. */
  bytes: number;
  /** SHA-256 of `index.js`, base64 (Lambda's `sourceCodeHash`). */
  sha256: string;
}

const built = new Map<string, Bundle>();

/**
 * Builds (once per process) the bundle of `entry` under `name`.
 *
 * @param name - the function's short name (the output directory).
 * @param entry - the handler module; it must export `handler`.
 */
export function bundleFunction(name: string, entry: string): Bundle {
  const cached = built.get(name);
  if (cached) return cached;
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    treeShaking: true,
    sourcemap: "external",
    sourcesContent: false,
    legalComments: "none",
    outfile: path.join(BUILD_DIR, name, "index.js"),
    write: false,
    logLevel: "silent",
    // Packages that offer an ES-module build give esbuild better tree-shaking.
    mainFields: ["module", "main"],
  });
  const dir = path.join(BUILD_DIR, name);
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
  const bundle = { dir, bytes, sha256 };
  built.set(name, bundle);
  return bundle;
}
