// Link → IAM statements (components/lib/grants.ts): every link kind and access gives exactly these
// statements, written out here by hand (not read back from LINK_ACTIONS), so a removed, added or
// reordered action, a wrong resource or a wrong KMS list fails one case.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { KMS_ACTIONS, LINK_ACTIONS, XRAY_ACTIONS, linkStatements, linkValue } from "../../../components/lib/grants";
import type { LinkTarget, PolicyStatement } from "../../../components/lib/grants";
import { link } from "../../../functions/lib/links";
import type { LinkSpec } from "../../../functions/lib/links";

const TABLE = "arn:aws:dynamodb:us-east-2:123456789012:table/acme-orders";
const QUEUE = "arn:aws:sqs:us-east-2:123456789012:acme-fulfillment";
const TOPIC = "arn:aws:sns:us-east-2:123456789012:acme-transactions.fifo";
const MACHINE = "arn:aws:states:us-east-2:123456789012:stateMachine:acme-order-workflow";
const PARAMETER = "arn:aws:ssm:us-east-2:123456789012:parameter/acme/account-fingerprint-key";
const KEY = "arn:aws:kms:us-east-2:123456789012:key/0b6d4e38-58c2-4e8e-9a53-3c1f4b3a9d10";

beforeAll(async () => {
  // Outputs resolve under the mock runtime (no engine here).
  await pulumi.runtime.setMocks({ newResource: (args) => ({ id: args.name, state: args.inputs }), call: (args) => args.inputs }, "grants-test", "test", false);
});

/** The statements with every Output resolved. */
async function statements(linkName: string, spec: LinkSpec, target: LinkTarget): Promise<PolicyStatement[]> {
  const output = pulumi.output(linkStatements(linkName, spec, target) as unknown as pulumi.Input<PolicyStatement[]>);
  return new Promise((resolve) => output.apply((value) => resolve(value as PolicyStatement[])));
}
async function value(output: pulumi.Output<string>): Promise<unknown> {
  return JSON.parse(await new Promise<string>((resolve) => output.apply(resolve)));
}

const TABLE_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"];
const TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"];
const TABLE_READ_WRITE = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:ConditionCheckItem",
  "dynamodb:DescribeTable",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
];
const KMS_DECRYPT = ["kms:Decrypt", "kms:DescribeKey"];
const KMS_ENCRYPT = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];
const KMS_ENVELOPE = ["kms:Decrypt", "kms:GenerateDataKey"];

interface Case {
  kind: keyof typeof LINK_ACTIONS;
  access: string;
  spec: LinkSpec;
  linkName: string;
  target: string;
  /** The statements without a key. */
  expected: PolicyStatement[];
  /** The KMS statement's actions when the target has a key; `undefined`: no KMS statement even then. */
  kms: string[] | undefined;
}

const cases: Case[] = [
  {
    kind: "table",
    access: "read",
    spec: link.table("read"),
    linkName: "orders",
    target: TABLE,
    // Reads may query the table's indexes.
    expected: [{ Sid: "OrdersTable", Effect: "Allow", Action: TABLE_READ, Resource: [TABLE, `${TABLE}/index/*`] }],
    kms: KMS_DECRYPT,
  },
  {
    kind: "table",
    access: "write",
    spec: link.table("write"),
    linkName: "failedOrders",
    target: TABLE,
    // Writes only ever address the table.
    expected: [{ Sid: "FailedOrdersTable", Effect: "Allow", Action: TABLE_WRITE, Resource: [TABLE] }],
    kms: KMS_ENCRYPT,
  },
  {
    kind: "table",
    access: "readWrite",
    spec: link.table("readWrite"),
    linkName: "payments",
    target: TABLE,
    expected: [{ Sid: "PaymentsTable", Effect: "Allow", Action: TABLE_READ_WRITE, Resource: [TABLE, `${TABLE}/index/*`] }],
    kms: KMS_ENCRYPT,
  },
  {
    kind: "queue",
    access: "send",
    spec: link.queue("send"),
    linkName: "deadLetter",
    target: QUEUE,
    expected: [{ Sid: "DeadLetterQueue", Effect: "Allow", Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], Resource: QUEUE }],
    kms: KMS_ENVELOPE,
  },
  {
    kind: "queue",
    access: "consume",
    spec: link.queue("consume"),
    linkName: "source",
    target: QUEUE,
    expected: [{
      Sid: "SourceQueue",
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
      Resource: QUEUE,
    }],
    kms: ["kms:Decrypt"],
  },
  {
    kind: "topic",
    access: "publish",
    spec: link.topic(),
    linkName: "transactions",
    target: TOPIC,
    expected: [{ Sid: "TransactionsTopic", Effect: "Allow", Action: ["sns:Publish"], Resource: TOPIC }],
    kms: KMS_ENVELOPE,
  },
  {
    kind: "parameter",
    access: "read",
    spec: link.parameter(),
    linkName: "fingerprintKey",
    target: PARAMETER,
    expected: [{ Sid: "FingerprintKeyParameter", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: PARAMETER }],
    // SSM decrypts a SecureString with its key on the caller's behalf: kms:Decrypt only.
    kms: ["kms:Decrypt"],
  },
  {
    kind: "stateMachine",
    access: "start",
    spec: link.stateMachine(),
    linkName: "workflow",
    target: MACHINE,
    expected: [
      { Sid: "WorkflowStateMachine", Effect: "Allow", Action: ["states:StartExecution"], Resource: MACHINE },
      { Sid: "WorkflowExecutions", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: "arn:aws:states:us-east-2:123456789012:execution:acme-order-workflow:*" },
    ],
    // A state machine's data is not encrypted with a key the function must use.
    kms: undefined,
  },
];

describe("linkStatements", () => {
  it("the cases below cover every kind and access of LINK_ACTIONS", () => {
    const declared = Object.entries(LINK_ACTIONS).flatMap(([kind, accesses]) => Object.keys(accesses).map((access) => `${kind}.${access}`));
    const table = ["table.read", "table.write"]; // readWrite is the union of both
    expect(declared.sort()).toEqual([...table, "queue.send", "queue.consume", "topic.publish", "stateMachine.start", "parameter.read"].sort());
    expect(new Set(cases.map((c) => `${c.kind}.${c.access}`)).size).toBe(cases.length);
  });

  it.each(cases)("$kind $access, no key: exactly its statements", async ({ spec, linkName, target, expected }) => {
    expect(await statements(linkName, spec, { arn: target })).toEqual(expected);
  });

  it.each(cases)("$kind $access, with a key: the same statements, then the key's actions", async ({ spec, linkName, target, expected, kms }) => {
    const keyStatement = kms ? [{ Sid: `${linkName[0]!.toUpperCase()}${linkName.slice(1)}Key`, Effect: "Allow", Action: kms, Resource: KEY }] : [];
    expect(await statements(linkName, spec, { arn: target, kmsKeyArn: KEY })).toEqual([...expected, ...keyStatement]);
  });

  it("a Sid is the link name capitalised, without characters IAM refuses in a Sid", async () => {
    const [statement] = await statements("failed-orders_v2", link.table("write"), { arn: TABLE });
    expect(statement!.Sid).toBe("Failedordersv2Table");
  });

  it("the exported action lists are the ones the policy pack reads", () => {
    expect(XRAY_ACTIONS).toEqual(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
    expect(KMS_ACTIONS).toEqual({ decrypt: KMS_DECRYPT, encrypt: KMS_ENCRYPT, envelope: KMS_ENVELOPE });
    expect(LINK_ACTIONS.table).toEqual({ read: TABLE_READ, write: TABLE_WRITE });
  });
});

describe("linkValue", () => {
  const target = { arn: "arn:x", name: "acme-orders", url: "https://sqs/acme", kmsKeyArn: KEY };
  it.each([
    [link.table("read"), { name: "acme-orders", arn: "arn:x" }],
    [link.queue("send"), { url: "https://sqs/acme", arn: "arn:x" }],
    [link.topic(), { arn: "arn:x" }],
    [link.stateMachine(), { arn: "arn:x" }],
    [link.parameter(), { name: "acme-orders", arn: "arn:x" }],
  ] as const)("%o → exactly the fields the runtime reads (never the key)", async (spec, expected) => {
    expect(await value(linkValue(spec, target))).toEqual(expected);
  });
});
