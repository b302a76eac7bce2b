/**
 * OrderWorkflow: the order state machine (validate → store `PENDING` → send to the fulfillment
 * queue; its definition is `workflow-definition.ts`), its execution role with exactly the Tasks,
 * the queue and the key it uses, and its log group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/aliases";
import type { EncryptedQueue } from "../lib/encrypted-queue";
import { XRAY_ACTIONS } from "../lib/grants";
import type { PolicyStatement } from "../lib/grants";
import { accountContext } from "../lib/keys";
import { physicalName } from "../lib/naming";
import type { StackSettings } from "../lib/settings";
import type { Transform } from "../lib/transform";
import { transformed } from "../lib/transform";
import type { TypedFunction } from "../lib/typed-function";
import { orderWorkflowDefinition, taskTimeoutFor } from "./workflow-definition";

/**
 * Actions Step Functions needs to deliver execution logs to CloudWatch Logs. They are the "vended
 * logs" delivery APIs, which have no resource-level permissions: IAM accepts only `Resource: "*"`
 * for them (AWS, "IAM policies for logging using CloudWatch Logs" in the Step Functions guide).
 */
export const STATE_MACHINE_LOG_DELIVERY_ACTIONS = [
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
];

/** X-Ray actions of a traced state machine; like Lambda's, they accept only `Resource: "*"`. */
export const STATE_MACHINE_XRAY_ACTIONS = [...XRAY_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets"];

export interface OrderWorkflowArgs {
  /** The stack's settings: workflow type (`STANDARD`/`EXPRESS`), function timeout (Task timeouts), log retention. */
  settings: StackSettings;
  /**
   * Prefix of every physical name.
   * @example "dofs-dev" → state machine "dofs-dev-order-workflow"
   */
  namePrefix: string;
  /** The Task that validates an order. */
  validate: TypedFunction;
  /** The Task that stores an order `PENDING`. */
  store: TypedFunction;
  /** Where the last state sends the order (SQS `sendMessage` service integration). */
  fulfillmentQueue: EncryptedQueue;
  /** ARN of the key that encrypts the fulfillment queue: the role needs its envelope actions. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * ARN of the key that encrypts the execution log group (the unit's key, whose policy admits
   * CloudWatch Logs for `/aws/vendedlogs/states/<namePrefix>-*`).
   * @default none (CloudWatch Logs' own encryption; the policy pack requires a key)
   */
  logKmsKeyArn?: pulumi.Input<string>;
  /**
   * The component its resources were declared under before this component existed (their old
   * URNs stay as aliases, so a deployed stack updates in place).
   * @default none
   */
  formerParent?: pulumi.Resource;
  /**
   * Escape hatch: adjust the underlying resources' args before they are created.
   * @default {}
   * @example { stateMachine: (args) => { args.tags = { team: "orders" }; } }
   */
  transform?: { stateMachine?: Transform<aws.sfn.StateMachineArgs> };
}

export class OrderWorkflow extends pulumi.ComponentResource {
  readonly stateMachine: aws.sfn.StateMachine;
  /** The state machine's execution role. */
  readonly role: aws.iam.Role;
  /** The role's inline policy (`OrderWorkflow.statements`). */
  readonly policy: aws.iam.RolePolicy;
  /** Execution logs (`/aws/vendedlogs/states/<name>`). */
  readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: OrderWorkflowArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:OrderWorkflow", name, {}, opts);
    const { settings } = args;
    const child = childOf(this, args.formerParent);
    const machineName = physicalName(args.namePrefix, "order-workflow", 80);

    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      // The /aws/vendedlogs/ prefix keeps the log delivery resource policy small (AWS's advice).
      name: `/aws/vendedlogs/states/${machineName}`,
      retentionInDays: settings.logRetentionDays,
      ...(args.logKmsKeyArn ? { kmsKeyId: args.logKmsKeyArn } : {}),
    }, child);

    this.role = new aws.iam.Role(`${name}-role`, {
      name: physicalName(args.namePrefix, "order-workflow", 64),
      description: `Execution role of the ${machineName} state machine only`,
      assumeRolePolicy: trustPolicy(settings.region, machineName),
    }, child);
    this.policy = new aws.iam.RolePolicy(`${name}-policy`, {
      role: this.role.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: OrderWorkflow.statements({
          functionArns: [args.validate.function.arn, args.store.function.arn],
          queueArn: args.fulfillmentQueue.arn,
          keyArn: args.kmsKeyArn,
        }),
      }),
    }, child);

    const definition = pulumi
      .all([args.validate.function.arn, args.store.function.arn, args.fulfillmentQueue.url])
      .apply(([validateFunctionArn, storeFunctionArn, fulfillmentQueueUrl]) =>
        JSON.stringify(orderWorkflowDefinition({ validateFunctionArn, storeFunctionArn, fulfillmentQueueUrl, taskTimeoutSeconds: taskTimeoutFor(settings.functionTimeoutSeconds) })),
      );
    this.stateMachine = new aws.sfn.StateMachine(name, transformed<aws.sfn.StateMachineArgs>({
      name: machineName,
      type: settings.stateMachineType,
      roleArn: this.role.arn,
      definition,
      // Execution data holds customer ids and items: kept out of the logs (it is in the history).
      loggingConfiguration: { logDestination: pulumi.interpolate`${this.logGroup.arn}:*`, includeExecutionData: false, level: "ALL" },
      tracingConfiguration: { enabled: true },
    }, args.transform?.stateMachine), { ...child, dependsOn: [this.policy, this.logGroup] });

    this.registerOutputs({ stateMachineArn: this.stateMachine.arn });
  }

  /** The role's statements: exactly the workflow's Tasks, its queue and key, log delivery and tracing. */
  static statements(args: {
    functionArns: pulumi.Input<string>[];
    queueArn: pulumi.Input<string>;
    keyArn: pulumi.Input<string>;
  }): PolicyStatement[] {
    return [
      { Sid: "InvokeWorkflowFunctions", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: args.functionArns },
      { Sid: "SendToFulfillmentQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: args.queueArn },
      // The queue is encrypted with the unit's key and Step Functions sends as this role (IAM), so
      // the role needs the envelope actions on that key.
      { Sid: "FulfillmentQueueKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: args.keyArn },
      { Sid: "LogDelivery", Effect: "Allow", Action: STATE_MACHINE_LOG_DELIVERY_ACTIONS, Resource: "*" },
      { Sid: "Tracing", Effect: "Allow", Action: STATE_MACHINE_XRAY_ACTIONS, Resource: "*" },
    ];
  }
}

/** Step Functions may assume the role only for this account's state machine of this name (confused deputy). */
function trustPolicy(region: string, machineName: string): pulumi.Output<string> {
  const { accountId, partition } = accountContext();
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { Service: "states.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": accountId },
        ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${partition}:states:${region}:${accountId}:stateMachine:${machineName}` },
      },
    }],
  });
}
