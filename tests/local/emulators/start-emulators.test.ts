// startEmulators: all three emulators up on 127.0.0.1, reachable with awsClientConfig, stopped by
// one call; and how long the cold start takes (module loading included).
import { ListTablesCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ListStateMachinesCommand, SFNClient } from "@aws-sdk/client-sfn";
import { ListTopicsCommand, SNSClient } from "@aws-sdk/client-sns";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import type { Emulators } from "../../../local/emulators";

const running: Emulators[] = [];

afterAll(async () => {
  await Promise.all(running.map((emulators) => emulators.stop()));
});

describe("startEmulators", () => {
  it("starts SNS/SQS, DynamoDB and Step Functions on 127.0.0.1 (and reports the start-up time)", async () => {
    const coldStart = performance.now();
    // Imported here so the measurement includes loading the emulator packages.
    const { awsClientConfig, startEmulators } = await import("../../../local/emulators");
    const emulators = await startEmulators({ region: "eu-central-1" });
    const coldMs = performance.now() - coldStart;
    running.push(emulators);

    const warmStart = performance.now();
    const second = await startEmulators();
    const warmMs = performance.now() - warmStart;
    running.push(second);
    console.log(`emulator start-up: cold ${coldMs.toFixed(0)} ms (module loading included), warm ${warmMs.toFixed(0)} ms`);

    const { endpoints, region } = emulators;
    expect(region).toBe("eu-central-1");
    for (const url of Object.values(endpoints)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoints.sns).toBe(endpoints.sqs);
    expect(new Set([endpoints.sqs, endpoints.dynamodb, endpoints.stepfunctions, second.endpoints.sqs]).size).toBe(4);

    const sns = new SNSClient(awsClientConfig(endpoints.sns, region));
    const sqs = new SQSClient(awsClientConfig(endpoints.sqs, region));
    const dynamodb = new DynamoDBClient(awsClientConfig(endpoints.dynamodb, region));
    const sfn = new SFNClient(awsClientConfig(endpoints.stepfunctions, region));
    try {
      expect((await sns.send(new ListTopicsCommand({}))).Topics ?? []).toEqual([]);
      expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
      expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      expect((await sfn.send(new ListStateMachinesCommand({}))).stateMachines).toEqual([]);
    } finally {
      for (const client of [sns, sqs, dynamodb, sfn]) client.destroy();
    }
  });

  it("gives SDK clients static dummy credentials and the endpoint", async () => {
    const { awsClientConfig } = await import("../../../local/emulators");
    expect(awsClientConfig("http://127.0.0.1:1")).toEqual({
      endpoint: "http://127.0.0.1:1",
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  });

  it("stops every emulator: the ports refuse connections afterwards", async () => {
    const { startEmulators } = await import("../../../local/emulators");
    const emulators = await startEmulators();
    await emulators.stop();
    for (const url of Object.values(emulators.endpoints)) {
      await expect(fetch(url, { method: "POST" })).rejects.toThrow();
    }
  });
});
