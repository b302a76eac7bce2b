/**
 * Link → IAM statements: exactly the actions a use needs, on exactly the linked resource, plus the
 * matching KMS actions on the key that encrypts it (as AWS CDK's `grant*` methods do, and unlike
 * SST's `sqs:*`/`dynamodb:*`). The policy pack checks the result; tests assert it statement by statement.
 */
import * as pulumi from "@pulumi/pulumi";
import type { LinkSpec } from "../../functions/lib/links";

/** The deployed resource a link points at. */
export interface LinkTarget {
  /** The resource's ARN. */
  arn: pulumi.Input<string>;
  /** Table name (tables), parameter name (SSM parameters). */
  name?: pulumi.Input<string>;
  /** Queue URL (queues). */
  url?: pulumi.Input<string>;
  /** ARN of the customer managed key that encrypts the resource, if any: adds the KMS actions. */
  kmsKeyArn?: pulumi.Input<string>;
}

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[];
}

/** Actions with no resource-level permission in IAM: X-Ray accepts only `*`. */
export const XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/** The resource actions of each link use. Read by the policy pack too. */
export const LINK_ACTIONS = {
  table: {
    read: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
    write: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"],
  },
  queue: {
    send: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
    consume: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
  },
  topic: { publish: ["sns:Publish"] },
  stateMachine: { start: ["states:StartExecution"] },
  parameter: { read: ["ssm:GetParameter"] },
} as const;

/** KMS actions needed to read or write data encrypted with a customer managed key. */
export const KMS_ACTIONS = {
  decrypt: ["kms:Decrypt", "kms:DescribeKey"],
  encrypt: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
  envelope: ["kms:Decrypt", "kms:GenerateDataKey"],
} as const;

const sid = (linkName: string, suffix: string) => `${linkName[0]!.toUpperCase()}${linkName.slice(1)}${suffix}`.replace(/[^A-Za-z0-9]/g, "");

/**
 * The statements granting one link.
 *
 * @param linkName - the link's name in the definition (becomes the statement Sid).
 * @param spec - the link's kind and access.
 * @param target - the linked resource.
 */
export function linkStatements(linkName: string, spec: LinkSpec, target: LinkTarget): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  let kms: readonly string[] | undefined;
  switch (spec.kind) {
    case "table": {
      const actions = new Set<string>();
      if (spec.access !== "write") LINK_ACTIONS.table.read.forEach((a) => actions.add(a));
      if (spec.access !== "read") LINK_ACTIONS.table.write.forEach((a) => actions.add(a));
      // Queries on an index address `<table>/index/<name>`; writes only ever address the table.
      const resources = spec.access === "write" ? [target.arn] : [target.arn, pulumi.interpolate`${target.arn}/index/*`];
      statements.push({ Sid: sid(linkName, "Table"), Effect: "Allow", Action: [...actions], Resource: resources });
      kms = spec.access === "read" ? KMS_ACTIONS.decrypt : KMS_ACTIONS.encrypt;
      break;
    }
    case "queue":
      statements.push({ Sid: sid(linkName, "Queue"), Effect: "Allow", Action: [...LINK_ACTIONS.queue[spec.access]], Resource: target.arn });
      kms = spec.access === "send" ? KMS_ACTIONS.envelope : ["kms:Decrypt"];
      break;
    case "topic":
      statements.push({ Sid: sid(linkName, "Topic"), Effect: "Allow", Action: [...LINK_ACTIONS.topic.publish], Resource: target.arn });
      kms = KMS_ACTIONS.envelope;
      break;
    case "parameter":
      // GetParameter on this one parameter; a SecureString is decrypted with its key on the
      // caller's behalf, so the role needs kms:Decrypt on that key (and nothing else of it).
      statements.push({ Sid: sid(linkName, "Parameter"), Effect: "Allow", Action: [...LINK_ACTIONS.parameter.read], Resource: target.arn });
      kms = ["kms:Decrypt"];
      break;
    case "stateMachine":
      statements.push({ Sid: sid(linkName, "StateMachine"), Effect: "Allow", Action: [...LINK_ACTIONS.stateMachine.start], Resource: target.arn });
      statements.push({
        Sid: sid(linkName, "Executions"),
        Effect: "Allow",
        Action: ["states:DescribeExecution"],
        Resource: pulumi.output(target.arn).apply((arn) => `${arn.replace(":stateMachine:", ":execution:")}:*`),
      });
      break;
  }
  if (kms && target.kmsKeyArn) {
    statements.push({ Sid: sid(linkName, "Key"), Effect: "Allow", Action: [...kms], Resource: target.kmsKeyArn });
  }
  return statements;
}

/** The runtime value of a link (what `resolveLinks` reads back), as JSON. */
export function linkValue(spec: LinkSpec, target: LinkTarget): pulumi.Output<string> {
  switch (spec.kind) {
    case "table":
      return pulumi.jsonStringify({ name: target.name, arn: target.arn });
    case "queue":
      return pulumi.jsonStringify({ url: target.url, arn: target.arn });
    case "topic":
    case "stateMachine":
      return pulumi.jsonStringify({ arn: target.arn });
    case "parameter":
      return pulumi.jsonStringify({ name: target.name, arn: target.arn });
  }
}
