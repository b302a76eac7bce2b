// dynalite through the real SDK clients: the conditional put and the GSI query the order and
// transaction tables rely on.
import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import { startDynamoDb } from "../../../local/emulators/dynamodb";
import type { DynamoDbEmulator } from "../../../local/emulators/dynamodb";

let emulator: DynamoDbEmulator;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  emulator = await startDynamoDb();
  client = new DynamoDBClient(awsClientConfig(emulator.endpoint, "us-east-1"));
  doc = DynamoDBDocumentClient.from(client);
  await client.send(
    new CreateTableCommand({
      TableName: "orders",
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "order_id", AttributeType: "S" },
        { AttributeName: "customer_id", AttributeType: "S" },
        { AttributeName: "created_at", AttributeType: "S" },
      ],
      KeySchema: [{ AttributeName: "order_id", KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: "by-customer",
          KeySchema: [
            { AttributeName: "customer_id", KeyType: "HASH" },
            { AttributeName: "created_at", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: "orders" });
});

afterAll(async () => {
  doc?.destroy();
  client?.destroy();
  await emulator?.stop();
});

describe("dynalite emulator", () => {
  it("binds 127.0.0.1", () => {
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("rejects a second put of the same key under attribute_not_exists", async () => {
    const put = (status: string) =>
      doc.send(
        new PutCommand({
          TableName: "orders",
          Item: { order_id: "o-1", customer_id: "c-1", created_at: "2025-08-29T17:30:00Z", status },
          ConditionExpression: "attribute_not_exists(order_id)",
        }),
      );
    await put("PENDING");
    await expect(put("FULFILLED")).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("queries a GSI by partition key and sort key range", async () => {
    for (const [id, customer, at] of [
      ["o-2", "c-2", "2025-08-29T10:00:00Z"],
      ["o-3", "c-2", "2025-08-30T10:00:00Z"],
      ["o-4", "c-3", "2025-08-30T11:00:00Z"],
    ] as const) {
      await doc.send(new PutCommand({ TableName: "orders", Item: { order_id: id, customer_id: customer, created_at: at, status: "PENDING" } }));
    }
    const { Items } = await doc.send(
      new QueryCommand({
        TableName: "orders",
        IndexName: "by-customer",
        KeyConditionExpression: "customer_id = :c AND created_at >= :from",
        ExpressionAttributeValues: { ":c": "c-2", ":from": "2025-08-29T12:00:00Z" },
      }),
    );
    expect(Items?.map((item) => item.order_id)).toEqual(["o-3"]);
  });
});
