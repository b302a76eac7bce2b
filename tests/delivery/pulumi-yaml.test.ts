/**
 * Pulumi.yaml documents every stack setting with the same type and default as the settings schema
 * (components/lib/settings.ts `StackSettingsSchema`), and nothing else, so the two cannot drift.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { StackSettingsSchema, parseStackSettings } from "../../components/lib/settings";
import { PROJECT, SECRET_SETTINGS, checkProjectConfig, documentedOptionalSettings, effectiveConfig, settingKind } from "./pulumi-config";

const SOURCE = readFileSync(join(__dirname, "..", "..", "Pulumi.yaml"), "utf8");
const PROJECT_FILE = parse(SOURCE) as { name: string; runtime: unknown; main: string; config: Record<string, Record<string, unknown>> };
const shape = StackSettingsSchema.shape as Record<string, (typeof StackSettingsSchema.shape)[keyof typeof StackSettingsSchema.shape]>;

/** A deep copy of Pulumi.yaml, changed by `edit`. */
function edited(edit: (config: Record<string, Record<string, unknown>>) => void): typeof PROJECT_FILE {
  const copy = structuredClone(PROJECT_FILE);
  edit(copy.config);
  return copy;
}

describe("Pulumi.yaml", () => {
  it("is the utility-serverless Node.js TypeScript project with index.ts as its program", () => {
    expect(PROJECT_FILE.name).toBe(PROJECT);
    expect(PROJECT_FILE.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
    expect(PROJECT_FILE.main).toBe("index.ts");
  });

  it("documents every setting of StackSettingsSchema with its type, description and default, and nothing else", () => {
    expect(checkProjectConfig(PROJECT_FILE, SOURCE, shape)).toEqual([]);
  });

  it("covers exactly the schema's keys: declared ones plus the documented optional ones", () => {
    const declared = Object.keys(PROJECT_FILE.config);
    const optional = [...documentedOptionalSettings(SOURCE).keys()];
    expect([...declared, ...optional].sort()).toEqual(Object.keys(shape).sort());
    // The optional ones are exactly the settings without a default that the program does not require.
    expect(optional.sort()).toEqual(Object.keys(shape).filter((k) => settingKind(shape[k] as never).kind === "optional").sort());
  });

  it("declares every default the schema has, with the same value", () => {
    for (const [key, schema] of Object.entries(shape)) {
      const kind = settingKind(schema);
      if (kind.kind !== "default") continue;
      const fromYaml = PROJECT_FILE.config[key]?.default;
      // Decimal numbers are declared as strings (Pulumi has no number type); the program reads them as numbers.
      expect(typeof kind.value === "number" && typeof fromYaml === "string" ? Number(fromYaml) : fromYaml, key).toEqual(kind.value);
    }
  });

  it("marks the fingerprint key secret, required and without a default", () => {
    expect(SECRET_SETTINGS).toEqual(["accountFingerprintKey"]);
    const entry = PROJECT_FILE.config.accountFingerprintKey;
    expect(entry).toMatchObject({ type: "string", secret: true });
    expect(entry).not.toHaveProperty("default");
    expect(settingKind(shape.accountFingerprintKey as never)).toEqual({ kind: "required" });
  });

  it("gives the program the same settings through Pulumi's defaults as the schema's own defaults", () => {
    const secret = { accountFingerprintKey: "f".repeat(64) };
    const viaPulumiYaml = parseStackSettings({ ...effectiveConfig(PROJECT_FILE, {}), ...secret }, "dev", "us-east-2");
    const viaSchema = parseStackSettings(secret, "dev", "us-east-2");
    expect(viaPulumiYaml).toEqual(viaSchema);
  });

  describe("the drift check fails", () => {
    it("on a changed default", () => {
      const project = edited((c) => {
        (c.maxReceiveCount as Record<string, unknown>).default = 6;
        (c.fulfillmentSuccessRate as Record<string, unknown>).default = "0.75";
      });
      expect(checkProjectConfig(project, SOURCE, shape)).toEqual([
        "maxReceiveCount: Pulumi.yaml's default reads as 6, the schema's default is 5",
        "fulfillmentSuccessRate: Pulumi.yaml's default reads as 0.75, the schema's default is 0.7",
      ]);
    });

    it("on a missing key, an extra key and a wrong type", () => {
      const project = edited((c) => {
        delete c.batchSize;
        c.retries = { type: "integer", description: "not a setting", default: 3 };
        (c.highThroughput as Record<string, unknown>).type = "string";
      });
      expect(checkProjectConfig(project, SOURCE, shape)).toEqual([
        'highThroughput: default false is not of type string',
        "retries: declared in Pulumi.yaml but not a setting of the program",
        "batchSize: not declared in Pulumi.yaml",
        "highThroughput: type string, expected boolean",
      ]);
    });

    it("on an optional setting declared (Pulumi would require it) or left undocumented", () => {
      const project = edited((c) => {
        c.alarmEmail = { type: "string", description: "e-mail" };
      });
      const source = SOURCE.replace(/^.*otelLayerArn \(string, optional\).*$/m, "");
      expect(checkProjectConfig(project, source, shape)).toEqual([
        "otelLayerArn: optional, but not documented in Pulumi.yaml's optional-settings comment",
        "alarmEmail: optional (no default), but declared; Pulumi would make it required",
      ]);
    });

    it("on a secret with a default or without secret: true", () => {
      const project = edited((c) => {
        const entry = c.accountFingerprintKey as Record<string, unknown>;
        entry.default = "0123456789abcdef0123456789abcdef";
        delete entry.secret;
      });
      expect(checkProjectConfig(project, SOURCE, shape)).toEqual([
        "accountFingerprintKey: required by the schema, but Pulumi.yaml gives it a default",
        "accountFingerprintKey: a secret, but not marked secret: true",
      ]);
    });
  });
});
