// The layout stays navigable (issue 10): no source file outside tests/ grows past 400 lines; a
// file that does is split along its seams into a folder of small modules, as telemetry/ and
// local/services/ were.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");
const MAX_LINES = 400;

describe("layout", () => {
  it(`has no source file outside tests/ over ${MAX_LINES} lines`, () => {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => /\.(ts|mts|cjs|mjs)$/.test(f) && !f.startsWith("tests/") && fs.existsSync(path.join(ROOT, f)));
    expect(files.length).toBeGreaterThan(100);
    const long = files
      .map((f) => ({ f, lines: fs.readFileSync(path.join(ROOT, f), "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ f, lines }) => `${f}: ${lines} lines`);
    expect(long).toEqual([]);
  });
});
