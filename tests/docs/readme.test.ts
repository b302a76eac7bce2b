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

  it("gives the two commands a newcomer runs", () => {
    expect(readme).toContain("npm start");
    expect(readme).toContain("npm test");
  });
});
