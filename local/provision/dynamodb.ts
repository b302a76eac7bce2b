/** DynamoDB on dynalite: tables with their keys, local and global secondary indexes. */
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import type { AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, LocalSecondaryIndex, Projection } from "@aws-sdk/client-dynamodb";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import type { LocalDeployment } from "./context";
import { asNumber, asRecord, asString, plainInputs } from "./context";

function keySchema(hashKey: unknown, rangeKey: unknown): KeySchemaElement[] {
  const keys: KeySchemaElement[] = [{ AttributeName: String(hashKey), KeyType: "HASH" }];
  if (typeof rangeKey === "string" && rangeKey !== "") keys.push({ AttributeName: rangeKey, KeyType: "RANGE" });
  return keys;
}

function projection(index: Record<string, unknown>): Projection {
  const type = (asString(index.projectionType) ?? "ALL") as Projection["ProjectionType"];
  const nonKey = Array.isArray(index.nonKeyAttributes) ? (index.nonKeyAttributes as string[]) : undefined;
  return { ProjectionType: type, ...(type === "INCLUDE" && nonKey?.length ? { NonKeyAttributes: nonKey } : {}) };
}

export async function provisionTable(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const name = base.state.name as string;
  const onDemand = inputs.billingMode !== "PROVISIONED";
  const throughput = (source: Record<string, unknown>) =>
    onDemand ? {} : { ProvisionedThroughput: { ReadCapacityUnits: asNumber(source.readCapacity) ?? 1, WriteCapacityUnits: asNumber(source.writeCapacity) ?? 1 } };
  const attributes = (Array.isArray(inputs.attributes) ? inputs.attributes : []).map((a) => {
    const attribute = asRecord(a);
    return { AttributeName: String(attribute.name), AttributeType: String(attribute.type) } as AttributeDefinition;
  });
  const gsis: GlobalSecondaryIndex[] = (Array.isArray(inputs.globalSecondaryIndexes) ? inputs.globalSecondaryIndexes : []).map((g) => {
    const index = asRecord(g);
    return { IndexName: String(index.name), KeySchema: keySchema(index.hashKey, index.rangeKey), Projection: projection(index), ...throughput(index) };
  });
  const lsis: LocalSecondaryIndex[] = (Array.isArray(inputs.localSecondaryIndexes) ? inputs.localSecondaryIndexes : []).map((l) => {
    const index = asRecord(l);
    return { IndexName: String(index.name), KeySchema: keySchema(inputs.hashKey, index.rangeKey), Projection: projection(index) };
  });
  const created = await deployment.clients.dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: attributes,
      KeySchema: keySchema(inputs.hashKey, inputs.rangeKey),
      BillingMode: onDemand ? "PAY_PER_REQUEST" : "PROVISIONED",
      ...throughput(inputs),
      ...(gsis.length ? { GlobalSecondaryIndexes: gsis } : {}),
      ...(lsis.length ? { LocalSecondaryIndexes: lsis } : {}),
    }),
  );
  const arn = created.TableDescription?.TableArn ?? (base.state.arn as string);
  return { id: name, state: { ...base.state, name, arn, id: name } };
}
