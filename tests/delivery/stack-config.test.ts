/**
 * The stack files (Pulumi.dev.yaml, Pulumi.staging.yaml): their regions, settings the program
 * accepts, and never a secret in plain text (accountFingerprintKey is set with
 * `pulumi config set --secret`, which stores it encrypted as `secure: ...`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { StackSettingsSchema, parseStackSettings } from "../../components/lib/settings";
import { checkStackFile, effectiveConfig } from "./pulumi-config";

const ROOT = join(__dirname, "..", "..");
const REGIONS = { dev: "us-east-2", staging: "us-east-1" } as const;
const shape = StackSettingsSchema.shape as Record<string, (typeof StackSettingsSchema.shape)[keyof typeof StackSettingsSchema.shape]>;
const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as unknown;
const stackFile = (stack: string) => parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };

describe.each(Object.entries(REGIONS))("Pulumi.%s.yaml", (stack, region) => {
  it(`keeps aws:region ${region}, names only settings of the program, with values of their declared types, and holds no plain-text secret`, () => {
    expect(checkStackFile(stack, stackFile(stack), project, shape, region)).toEqual([]);
  });
});

describe("per-stack values", () => {
  const settings = (stack: "dev" | "staging") =>
    parseStackSettings({ ...effectiveConfig(project, stackFile(stack).config), accountFingerprintKey: "f".repeat(64) }, stack, REGIONS[stack]);

  it("staging keeps logs a month, dev a week; staging consumers may scale further", () => {
    expect(settings("dev")).toMatchObject({ logRetentionDays: 7, maxConcurrency: 2, region: "us-east-2" });
    expect(settings("staging")).toMatchObject({ logRetentionDays: 30, maxConcurrency: 10, region: "us-east-1" });
  });

  it("each stack gets the OTEL collector layer of its own region", () => {
    expect(settings("dev").otelLayerArn).toMatch(/^arn:aws:lambda:us-east-2:/);
    expect(settings("staging").otelLayerArn).toMatch(/^arn:aws:lambda:us-east-1:/);
  });
});

describe("the stack-file check fails", () => {
  const broken = (edit: (config: Record<string, unknown>) => void) => {
    const file = structuredClone(stackFile("dev"));
    edit(file.config);
    return checkStackFile("dev", file, project, shape, REGIONS.dev);
  };

  it("on a plain-text secret, declared or recognisable by its name", () => {
    expect(
      broken((c) => {
        c["utility-serverless:accountFingerprintKey"] = "0123456789abcdef0123456789abcdef";
        c["aws:secretKey"] = "plain";
      }),
    ).toEqual([
      "Pulumi.dev.yaml: utility-serverless:accountFingerprintKey holds a plain value; set it with `pulumi config set --secret`",
      "Pulumi.dev.yaml: aws:secretKey holds a plain value; set it with `pulumi config set --secret`",
    ]);
  });

  it("accepts the same secret encrypted", () => {
    expect(broken((c) => (c["utility-serverless:accountFingerprintKey"] = { secure: "v1:abc123" }))).toEqual([]);
  });

  it("on a changed region, an unknown key, a wrong type and a value the program rejects", () => {
    const problems = broken((c) => {
      c["aws:region"] = "eu-west-1";
      c["utility-serverless:maxRecieveCount"] = 3;
      c["utility-serverless:batchSize"] = 2.5;
      c["utility-serverless:logRetentionDays"] = 10;
    });
    expect(problems.slice(0, 3)).toEqual([
      'Pulumi.dev.yaml: aws:region is "eu-west-1", expected us-east-2',
      "Pulumi.dev.yaml: utility-serverless:maxRecieveCount is not a setting of the program",
      "Pulumi.dev.yaml: utility-serverless:batchSize = 2.5 is not of type integer",
    ]);
    expect(problems[3]).toMatch(/the program rejects this stack's settings: .*logRetentionDays is 10: must be one of CloudWatch's retention periods/s);
  });
});
