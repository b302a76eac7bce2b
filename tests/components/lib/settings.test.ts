import { describe, expect, it } from "vitest";
import { StackConfigError, maxExpressFunctionTimeoutSeconds, parseStackSettings } from "../../../components/lib/settings";
import { orderWorkflowTimeoutSeconds } from "../../../components/orders/workflow-definition";

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

  it("gives the API function its own timeout, below API Gateway's 29 s integration timeout", () => {
    expect(parseStackSettings(key, "dev", "us-east-2")).toMatchObject({ apiTimeoutSeconds: 10, functionTimeoutSeconds: 30 });
    expect(parseStackSettings({ ...key, apiTimeoutSeconds: "28" }, "dev", "us-east-2").apiTimeoutSeconds).toBe(28);
    expect(() => parseStackSettings({ ...key, apiTimeoutSeconds: "29" }, "dev", "us-east-2")).toThrow(
      "utility-serverless:apiTimeoutSeconds is 29: must be below API Gateway's 29 s integration timeout (at most 28)",
    );
  });

  it("refuses an EXPRESS workflow whose derived execution timeout exceeds 300 s, naming the largest function timeout that fits", () => {
    const fits = maxExpressFunctionTimeoutSeconds();
    expect(orderWorkflowTimeoutSeconds(fits)).toBeLessThanOrEqual(300);
    expect(orderWorkflowTimeoutSeconds(fits + 1)).toBeGreaterThan(300);
    expect(parseStackSettings({ ...key, stateMachineType: "EXPRESS", functionTimeoutSeconds: String(fits) }, "dev", "us-east-2").stateMachineType).toBe("EXPRESS");
    expect(() => parseStackSettings({ ...key, stateMachineType: "EXPRESS" }, "dev", "us-east-2")).toThrow(
      `utility-serverless:stateMachineType is "EXPRESS": an EXPRESS execution runs at most 300 s, but the order workflow's slowest retry path takes up to ${orderWorkflowTimeoutSeconds(30)} s ` +
        `with functionTimeoutSeconds 30: set functionTimeoutSeconds to at most ${fits}, or use STANDARD`,
    );
    // STANDARD has no such cap: the derived timeout just grows with the function timeout.
    expect(parseStackSettings({ ...key, functionTimeoutSeconds: "900" }, "dev", "us-east-2").stateMachineType).toBe("STANDARD");
  });

  it("notifies alarm recoveries only after an ALARM unless set otherwise", () => {
    expect(parseStackSettings(key, "dev", "us-east-2").alarmOkNotifications).toBe("after-alarm");
    expect(parseStackSettings({ ...key, alarmOkNotifications: "always" }, "dev", "us-east-2").alarmOkNotifications).toBe("always");
    expect(() => parseStackSettings({ ...key, alarmOkNotifications: "sometimes" }, "dev", "us-east-2")).toThrow(/alarmOkNotifications is "sometimes"/);
  });
});
