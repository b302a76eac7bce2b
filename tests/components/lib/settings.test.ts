import { describe, expect, it } from "vitest";
import { StackConfigError, parseStackSettings } from "../../../components/lib/settings";

const key = { accountFingerprintKey: "k".repeat(40) };

describe("stack settings", () => {
  it("applies the defaults and the region's OTEL collector layer", () => {
    const s = parseStackSettings(key, "dev", "us-east-2");
    expect(s).toMatchObject({
      stack: "dev",
      region: "us-east-2",
      maxReceiveCount: 5,
      batchSize: 10,
      transactionTypes: ["bank_account_setup", "payment"],
      fulfillmentSuccessRate: 0.7,
      metricsNamespace: "OTEL/UtilityCustomer/Enhanced",
      otelLayerArn: "arn:aws:lambda:us-east-2:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5",
    });
  });

  it("decodes JSON values as pulumi config holds them", () => {
    const s = parseStackSettings({ ...key, maxReceiveCount: "3", highThroughput: "true", transactionTypes: '["payment"]' }, "dev", "us-east-1");
    expect(s.maxReceiveCount).toBe(3);
    expect(s.highThroughput).toBe(true);
    expect(s.transactionTypes).toEqual(["payment"]);
  });

  it("names the key, the stack and what is expected for each wrong value", () => {
    expect(() => parseStackSettings({ ...key, batchSize: "11", logRetentionDays: "10", fulfillmentSuccessRate: "1.5" }, "staging", "us-east-1")).toThrow(
      StackConfigError,
    );
    try {
      parseStackSettings({ ...key, batchSize: "11", logRetentionDays: "10", fulfillmentSuccessRate: "1.5" }, "staging", "us-east-1");
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('Invalid configuration for stack "staging"');
      expect(message).toContain("utility-serverless:batchSize is 11: Too big: expected number to be <=10");
      expect(message).toContain("utility-serverless:logRetentionDays is 10: must be one of CloudWatch's retention periods");
      expect(message).toContain("utility-serverless:fulfillmentSuccessRate is 1.5");
    }
  });

  it("never prints a secret's value", () => {
    expect(() => parseStackSettings({ accountFingerprintKey: "my-real-but-short-secret" }, "dev", "us-east-2")).toThrow(
      "utility-serverless:accountFingerprintKey is [secret]: must be at least 32 characters",
    );
    try {
      parseStackSettings({ accountFingerprintKey: "my-real-but-short-secret" }, "dev", "us-east-2");
    } catch (error) {
      expect((error as Error).message).not.toContain("my-real-but-short-secret");
    }
  });

  it("keeps string settings that look like numbers as strings", () => {
    const s = parseStackSettings({ accountFingerprintKey: "1".repeat(64), metricsNamespace: "12345" }, "dev", "us-east-2");
    expect(s.accountFingerprintKey).toBe("1".repeat(64));
    expect(s.metricsNamespace).toBe("12345");
  });

  it("refuses an OTEL layer from another region", () => {
    expect(() =>
      parseStackSettings({ ...key, otelLayerArn: "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5" }, "dev", "us-east-2"),
    ).toThrow("utility-serverless:otelLayerArn is in us-east-1, but the stack deploys to us-east-2");
  });

  it("reports a missing secret with how to set it", () => {
    expect(() => parseStackSettings({}, "dev", "us-east-2")).toThrow(/utility-serverless:accountFingerprintKey is missing/);
  });

  it("reports a missing region, an unknown transaction type and a misspelt key", () => {
    expect(() => parseStackSettings(key, "dev", undefined)).toThrow(/aws:region is missing/);
    expect(() => parseStackSettings({ ...key, transactionTypes: '["refund"]' }, "dev", "us-east-2")).toThrow(
      new StackConfigError('Invalid configuration for stack "dev":\n  - utility-serverless:transactionTypes.0 is ["refund"]: Invalid option: expected one of "bank_account_setup"|"payment"'),
    );
    expect(() => parseStackSettings({ ...key, maxRecieveCount: "3" }, "dev", "us-east-2")).toThrow(/maxRecieveCount is not a setting of this program/);
  });

  it("requires an explicit OTEL layer in a region without a known default", () => {
    expect(() => parseStackSettings(key, "dev", "eu-west-1")).toThrow(/otelLayerArn is missing: no default OTEL collector layer is known for eu-west-1/);
    const s = parseStackSettings({ ...key, otelLayerArn: "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:1" }, "dev", "eu-west-1");
    expect(s.otelLayerArn).toContain("eu-west-1");
  });
});
