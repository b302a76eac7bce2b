/**
 * A stack's config as the Pulumi CLI holds it: read from `Pulumi.<stack>.yaml` with fully qualified
 * keys (`<project>:key`, `aws:region`), overrides qualified like `pulumi config set` does, and the
 * one message for a stack that does not exist.
 *
 * The program runner, the local cloud and the tools (`npm run tx`, `npm run traces`) read stacks
 * only through this module, so they agree on which stacks exist and what a missing one is told.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT } from "../components/lib/settings";

const ROOT = path.resolve(__dirname, "..");

/** The stacks that exist: one per `Pulumi.<stack>.yaml` in the repository, sorted. */
export function stackNames(root = ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

/**
 * `undefined` when the stack exists, else one line saying it does not and naming those that do:
 * `No stack "nope": Pulumi.nope.yaml does not exist (stacks: dev, staging)`.
 */
export function unknownStackMessage(stack: string, root = ROOT): string | undefined {
  const stacks = stackNames(root);
  if (stacks.includes(stack)) return undefined;
  return `No stack "${stack}": Pulumi.${stack}.yaml does not exist (stacks: ${stacks.join(", ") || "none"})`;
}

/** Reads a stack's config file as `pulumi config` would hold it: fully qualified keys → strings. */
export function readStackConfig(stack: string): Record<string, string> {
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(unknownStackMessage(stack) ?? `No stack "${stack}": ${path.relative(process.cwd(), file)} does not exist`);
  const doc = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    // Encrypted values need the stack's secrets provider (the Pulumi CLI): without it they are
    // missing here, and a required one is reported by validation unless an override gives it.
    if (value && typeof value === "object" && "secure" in value) continue;
    config[key.includes(":") ? key : `${PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return config;
}

/** Qualifies override keys: `maxReceiveCount` → `<project>:maxReceiveCount`. */
export function qualifyConfigKeys(overrides: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k.includes(":") ? k : `${PROJECT}:${k}`, v]));
}
