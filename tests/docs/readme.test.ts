/** The README is the front door: it must name every policy, setting and stack output there is. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StackSettingsSchema } from "../../components/lib/settings";
import { policies } from "../../policies/pack";
import { runStack } from "../support/program";

const readme = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");

describe("README", () => {
  it("lists every policy of the pack", () => {
    const missing = policies.map((p) => p.name).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it("documents every stack setting", () => {
    const missing = Object.keys(StackSettingsSchema.shape).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it("names every stack output", async () => {
    const run = await runStack({ stack: "dev" });
    const missing = Object.keys(run.outputs).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it("names only paths that exist (README and docs/)", () => {
    const root = path.resolve(__dirname, "../..");
    const docs = ["README.md", ...fs.readdirSync(path.join(root, "docs")).map((f) => `docs/${f}`)];
    const missing: string[] = [];
    for (const doc of docs) {
      const text = fs.readFileSync(path.join(root, doc), "utf8");
      const named = [...text.matchAll(/[`(]((?:components|functions|local|runner|policies|tests|scripts|bench|docs)\/[\w./-]*)[`)#]/g)].map((m) => m[1]!);
      // Placeholders (`functions/<unit>/...`) and globs are descriptions, not paths.
      for (const file of named) if (!fs.existsSync(path.join(root, file.replace(/\/$/, "")))) missing.push(`${doc}: ${file}`);
    }
    expect(missing).toEqual([]);
  });

  it("starts with a quick start whose commands are the package's own scripts", () => {
    const quickStart = /^## Quick start\n([\s\S]*?)^## /m.exec(readme)?.[1];
    expect(quickStart, "README has a ## Quick start section").toBeDefined();
    const shellLines = [...quickStart!.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1]!.split("\n"));
    const npmCommands = shellLines.flatMap((line) => [...line.matchAll(/\bnpm (run [\w:-]+|[\w:-]+)/g)].map((m) => m[1]!));
    // A newcomer installs, starts the local cloud and runs the tests, in that order.
    expect(npmCommands.slice(0, 3)).toEqual(["install", "start", "test"]);
    const scripts = (JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    // `npm start` and `npm test` run the scripts of those names; `npm run X` runs script X.
    const scriptNames = npmCommands.filter((c) => c !== "install").map((c) => c.replace(/^run /, ""));
    expect(scriptNames.filter((name) => !(name in scripts))).toEqual([]);
    expect(scripts.start).toBe("exec node --import tsx local/main.ts");
    expect(scripts.test).toMatch(/\bvitest run\b/);
  });

  it("names only npm scripts that exist, everywhere (README and docs/)", () => {
    const root = path.resolve(__dirname, "../..");
    const scripts = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const missing: string[] = [];
    for (const doc of ["README.md", ...fs.readdirSync(path.join(root, "docs")).map((f) => `docs/${f}`)]) {
      const text = fs.readFileSync(path.join(root, doc), "utf8");
      for (const m of text.matchAll(/\bnpm run ([\w:-]+)/g)) if (!(m[1]! in scripts)) missing.push(`${doc}: npm run ${m[1]}`);
    }
    expect(missing).toEqual([]);
  });
});
