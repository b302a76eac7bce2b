/**
 * Checks that keep Pulumi.yaml's `config:` block and the stack files in step with the settings
 * schema (components/lib/settings.ts, `StackSettingsSchema`). Each check returns its problems, so tests
 * can show it passing on the real files and failing on broken copies.
 *
 * What Pulumi does with the block (pulumi/pulumi, sdk/go/common/workspace/project.go and config.go):
 * a key is typed `string | integer | boolean | array` (arrays need `items`); a declared key without
 * `default` is required, so optional settings cannot be declared; a `default` is copied into the
 * stack's config when the stack does not set the key (strings, integers and booleans as their text,
 * anything else as JSON); a `secret: true` key must be set encrypted (`secure:`).
 */
import { z } from "zod";
import { parseStackSettings } from "../../components/lib/settings";

export type PulumiType = "string" | "integer" | "boolean" | "array";
const PULUMI_TYPES: readonly string[] = ["string", "integer", "boolean", "array"];
const ENTRY_ATTRIBUTES: readonly string[] = ["type", "items", "description", "default", "secret"];

/** The project name, the namespace of its config keys in stack files. */
export const PROJECT = "utility-serverless";

/**
 * Settings that are secrets. The zod schema cannot say so (it only validates the value), so the
 * list is here and the check below requires Pulumi.yaml to mark exactly these `secret: true`.
 */
export const SECRET_SETTINGS: readonly string[] = ["accountFingerprintKey"];

/** A value that satisfies the schema's required keys, for validating the rest. */
const PLACEHOLDER_SECRET = "0".repeat(64);

type Shape = Record<string, z.ZodType>;

/** What the zod schema says about one setting when it is not set. */
export type SettingKind = { kind: "default"; value: unknown } | { kind: "optional" } | { kind: "required" };

export function settingKind(schema: z.ZodType): SettingKind {
  const result = schema.safeParse(undefined);
  if (!result.success) return { kind: "required" };
  return result.data === undefined ? { kind: "optional" } : { kind: "default", value: result.data };
}

/** The Pulumi type a setting is declared with: integers `integer`, decimal numbers `string` (read as numbers). */
export function pulumiTypeOf(schema: z.ZodType): PulumiType {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
  switch (inner.def.type) {
    case "number":
      return (inner as z.ZodNumber).isInt ? "integer" : "string";
    case "boolean":
      return "boolean";
    case "array":
      return "array";
    case "string": // includes formats such as z.email()
    case "enum":
      return "string";
    default:
      throw new Error(`no Pulumi config type for zod type ${inner.def.type}`);
  }
}

/** Pulumi's `ValidateConfigValue`, ported: does `value` (from YAML) fit the declared type? */
export function fitsPulumiType(type: string, items: unknown, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && /^[+-]?\d+$/.test(value));
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "array": {
      const itemType = (items as { type?: unknown } | undefined)?.type;
      return Array.isArray(value) && typeof itemType === "string" && value.every((v) => fitsPulumiType(itemType, (items as { items?: unknown }).items, v));
    }
    default:
      return false;
  }
}

/** The text the program receives for a config value Pulumi took from YAML. */
export function asConfigText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || (typeof value === "number" && Number.isInteger(value))) return String(value);
  return JSON.stringify(value);
}

/** Optional settings documented in the comment block of Pulumi.yaml: `#   key (type, optional): description`. */
export function documentedOptionalSettings(source: string): Map<string, { type: string; description: string }> {
  const found = new Map<string, { type: string; description: string }>();
  for (const line of source.split("\n")) {
    const match = /^\s*#\s+([A-Za-z][A-Za-z0-9]*) \((string|integer|boolean|array), optional\): (\S.*)$/.exec(line);
    if (match?.[1] && match[2] && match[3]) found.set(match[1], { type: match[2], description: match[3] });
  }
  return found;
}

/** Pulumi.yaml's `config:` block against the settings schema. */
export function checkProjectConfig(project: unknown, source: string, shape: Shape): string[] {
  const problems: string[] = [];
  const config = (project as { config?: unknown } | null)?.config;
  if (typeof config !== "object" || config === null || Array.isArray(config)) return ["Pulumi.yaml has no config: block"];
  const declared = config as Record<string, Record<string, unknown>>;
  const optional = documentedOptionalSettings(source);

  // Each declaration is one Pulumi accepts.
  for (const [key, entry] of Object.entries(declared)) {
    if (typeof entry !== "object" || entry === null) {
      problems.push(`${key}: declared as a bare value; declare type, description and default`);
      continue;
    }
    for (const attribute of Object.keys(entry)) if (!ENTRY_ATTRIBUTES.includes(attribute)) problems.push(`${key}: Pulumi does not allow the attribute "${attribute}"`);
    if (typeof entry.type !== "string" || !PULUMI_TYPES.includes(entry.type)) problems.push(`${key}: type ${JSON.stringify(entry.type)} is not one of ${PULUMI_TYPES.join(", ")}`);
    if (entry.type === "array" && (entry.items as { type?: unknown } | undefined)?.type === undefined) problems.push(`${key}: an array needs items: { type: ... }`);
    if (typeof entry.description !== "string" || entry.description.trim() === "") problems.push(`${key}: no description`);
    if ("default" in entry && !fitsPulumiType(String(entry.type), entry.items, entry.default)) problems.push(`${key}: default ${JSON.stringify(entry.default)} is not of type ${String(entry.type)}`);
    if ("secret" in entry && typeof entry.secret !== "boolean") problems.push(`${key}: secret must be true or false`);
    if (entry.secret === true && "default" in entry) problems.push(`${key}: a secret must not have a default in Pulumi.yaml`);
    if (!(key in shape)) problems.push(`${key}: declared in Pulumi.yaml but not a setting of the program`);
  }
  for (const key of optional.keys()) if (!(key in shape)) problems.push(`${key}: documented as optional in Pulumi.yaml but not a setting of the program`);

  // Each setting is documented, the same way the schema treats it.
  for (const [key, schema] of Object.entries(shape)) {
    const entry = declared[key];
    const kind = settingKind(schema);
    const type = pulumiTypeOf(schema);
    if (kind.kind === "optional") {
      const doc = optional.get(key);
      if (entry) problems.push(`${key}: optional (no default), but declared; Pulumi would make it required`);
      if (!doc) problems.push(`${key}: optional, but not documented in Pulumi.yaml's optional-settings comment`);
      else if (doc.type !== type) problems.push(`${key}: documented as ${doc.type}, expected ${type}`);
      continue;
    }
    if (!entry) {
      problems.push(`${key}: not declared in Pulumi.yaml`);
      continue;
    }
    if (optional.has(key)) problems.push(`${key}: declared and also documented as optional`);
    if (entry.type !== type) problems.push(`${key}: type ${String(entry.type)}, expected ${type}`);
    if (kind.kind === "required") {
      if ("default" in entry) problems.push(`${key}: required by the schema, but Pulumi.yaml gives it a default`);
      continue;
    }
    if (!("default" in entry)) {
      problems.push(`${key}: the schema's default is ${JSON.stringify(kind.value)}, Pulumi.yaml has none`);
      continue;
    }
    // The default as the program would receive it from Pulumi, read by the program's own parser.
    const received = readSetting(key, asConfigText(entry.default));
    if (!received.ok) problems.push(`${key}: Pulumi.yaml's default ${JSON.stringify(entry.default)} is rejected by the program: ${received.error}`);
    else if (JSON.stringify(received.value) !== JSON.stringify(kind.value)) {
      problems.push(`${key}: Pulumi.yaml's default reads as ${JSON.stringify(received.value)}, the schema's default is ${JSON.stringify(kind.value)}`);
    }
  }

  for (const key of SECRET_SETTINGS) if (declared[key]?.secret !== true) problems.push(`${key}: a secret, but not marked secret: true`);
  for (const [key, entry] of Object.entries(declared)) if (entry?.secret === true && !SECRET_SETTINGS.includes(key)) problems.push(`${key}: marked secret but not listed in SECRET_SETTINGS`);
  return problems;
}

/** One setting's value as the program parses it (other settings at their defaults). */
function readSetting(key: string, text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    const settings = parseStackSettings({ accountFingerprintKey: PLACEHOLDER_SECRET, [key]: text }, "check", "us-east-2") as Record<string, unknown>;
    return { ok: true, value: settings[key] };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

/** The config text the program receives for a stack: Pulumi.yaml's defaults, overridden by the stack file. */
export function effectiveConfig(project: unknown, stackConfig: Record<string, unknown>): Record<string, string> {
  const declared = ((project as { config?: unknown }).config ?? {}) as Record<string, Record<string, unknown>>;
  const raw: Record<string, string> = {};
  for (const [key, entry] of Object.entries(declared)) if ("default" in entry) raw[key] = asConfigText(entry.default);
  for (const [fullKey, value] of Object.entries(stackConfig)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    raw[key] = isSecure(value) ? PLACEHOLDER_SECRET : asConfigText(value);
  }
  return raw;
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).join() === "secure" && typeof (value as { secure: unknown }).secure === "string";
}

/** A key whose name says it holds a secret, whatever Pulumi.yaml says. */
const SECRET_NAME = /(key|secret|password|passphrase|token|credentials?)$/i;

/** One stack file (`Pulumi.<stack>.yaml`), parsed. */
export function checkStackFile(stack: string, file: unknown, project: unknown, shape: Shape, expectedRegion: string): string[] {
  const problems: string[] = [];
  const config = (file as { config?: unknown } | null)?.config;
  if (typeof config !== "object" || config === null || Array.isArray(config)) return [`Pulumi.${stack}.yaml has no config: block`];
  const values = config as Record<string, unknown>;
  const declared = ((project as { config?: unknown }).config ?? {}) as Record<string, Record<string, unknown>>;

  if (values["aws:region"] !== expectedRegion) problems.push(`Pulumi.${stack}.yaml: aws:region is ${JSON.stringify(values["aws:region"])}, expected ${expectedRegion}`);

  for (const [fullKey, value] of Object.entries(values)) {
    const [namespace, key = ""] = fullKey.includes(":") ? (fullKey.split(":", 2) as [string, string]) : [PROJECT, fullKey];
    const secret = (namespace === PROJECT && declared[key]?.secret === true) || SECRET_NAME.test(key);
    if (secret && !isSecure(value)) problems.push(`Pulumi.${stack}.yaml: ${fullKey} holds a plain value; set it with \`pulumi config set --secret\``);
    if (namespace === "aws") continue;
    if (namespace !== PROJECT) {
      problems.push(`Pulumi.${stack}.yaml: ${fullKey} is in no namespace this program reads`);
      continue;
    }
    if (!(key in shape)) {
      problems.push(`Pulumi.${stack}.yaml: ${fullKey} is not a setting of the program`);
      continue;
    }
    const entry = declared[key];
    if (entry && !isSecure(value)) {
      // Pulumi keeps YAML scalars as text and validates that text against the declared type.
      const content = typeof value === "object" && value !== null ? value : asConfigText(value);
      if (!fitsPulumiType(String(entry.type), entry.items, content)) problems.push(`Pulumi.${stack}.yaml: ${fullKey} = ${JSON.stringify(value)} is not of type ${String(entry.type)}`);
    }
  }

  if (typeof values["aws:region"] === "string") {
    try {
      // A secret the file does not hold yet is set by the user (Pulumi refuses to run until then).
      const raw = effectiveConfig(project, values);
      for (const key of SECRET_SETTINGS) raw[key] ??= PLACEHOLDER_SECRET;
      parseStackSettings(raw, stack, values["aws:region"]);
    } catch (error) {
      problems.push(`Pulumi.${stack}.yaml: the program rejects this stack's settings: ${String(error)}`);
    }
  }
  return problems;
}
