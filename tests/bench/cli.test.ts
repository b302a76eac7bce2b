/**
 * `npm run bench`'s arguments: --help prints the real options, anything unknown is refused with
 * the usage (exit 2) before anything runs. The benchmark itself is never run here (slow).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "../../bench/index";

const ROOT = path.resolve(__dirname, "../..");

describe("npm run bench arguments", () => {
  it("runs every part by default, those named otherwise, writes JSON when asked, and refuses anything else", () => {
    expect(parseBenchArgs([])).toEqual({ functions: true, flows: true, latency: true, quick: false });
    expect(parseBenchArgs(["--functions"])).toEqual({ functions: true, flows: false, latency: false, quick: false });
    expect(parseBenchArgs(["--flows"])).toEqual({ functions: false, flows: true, latency: false, quick: false });
    expect(parseBenchArgs(["--latency", "--quick", "--json", "figures.json"])).toEqual({ functions: false, flows: false, latency: true, quick: true, json: "figures.json" });
    expect(() => parseBenchArgs(["--json"])).toThrow("--json needs a file name");
    expect(() => parseBenchArgs(["--json", "--flows"])).toThrow("--json needs a file name");
    expect(parseBenchArgs(["-h"])).toBe("help");
    expect(() => parseBenchArgs(["--function"])).toThrow('unknown option "--function"');
    expect(() => parseBenchArgs(["flows"])).toThrow('unknown argument "flows"');
  });

  it("as a process: --help exits 0 with the usage, a bogus flag exits 2 having run nothing", () => {
    const bench = (arg: string) => spawnSync("npx", ["tsx", "bench/index.ts", arg], { cwd: ROOT, encoding: "utf8" });
    const help = bench("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench \[-- --functions \| --flows \| --latency\] \[--quick\] \[--json <file>\]\n[\s\S]*--functions[\s\S]*--flows[\s\S]*--latency[\s\S]*--json/);
    const bogus = bench("--bogus");
    expect(bogus.status).toBe(2);
    expect(bogus.stdout).toBe("");
    expect(bogus.stderr).toContain('unknown option "--bogus"\nusage: npm run bench');
  });
});
