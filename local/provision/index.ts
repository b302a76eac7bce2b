/**
 * The local provisioner: given each resource the program declares (in dependency order, inputs
 * resolved to what was provisioned before), creates its local equivalent and returns the id and
 * state a real deployment would, with local URLs and ARNs.
 *
 * - emulated: SNS topics and SQS subscriptions (redrive to a DLQ), SQS queues (redrive, redrive-allow,
 *   queue policies: SNS delivers by them), DynamoDB
 *   tables, Lambda functions and SQS event source mappings, Step Functions state machines, SSM
 *   parameters (GetParameter), API
 *   Gateway REST APIs (see `API_GATEWAY_TYPES`);
 * - accepted, not emulated (no local meaning: IAM, KMS, CloudWatch, resource policies, ...): their
 *   AWS-shaped state is returned and they are listed once at start-up (`ACCEPTED_TYPES`);
 * - anything else: AWS-shaped state too, and a warning that the type is unknown to the local cloud.
 */
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import { API_GATEWAY_TYPES, provisionApiGateway } from "./apigateway";
import type { LocalDeployment, Provisioner } from "./context";
import { plainInputs } from "./context";
import { provisionTable } from "./dynamodb";
import { provisionEventSourceMapping, provisionFunction } from "./lambda";
import { provisionStateMachine } from "./sfn";
import { provisionSubscription, provisionTopic } from "./sns";
import { provisionParameter } from "./ssm";
import { provisionQueue, provisionQueuePolicy, provisionRedriveAllowPolicy } from "./sqs";

export const PROVISIONERS: Record<string, Provisioner> = {
  "aws:sns/topic:Topic": provisionTopic,
  "aws:sns/topicSubscription:TopicSubscription": provisionSubscription,
  "aws:sqs/queue:Queue": provisionQueue,
  "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": provisionRedriveAllowPolicy,
  "aws:sqs/queuePolicy:QueuePolicy": provisionQueuePolicy,
  "aws:dynamodb/table:Table": provisionTable,
  "aws:lambda/function:Function": provisionFunction,
  "aws:lambda/eventSourceMapping:EventSourceMapping": provisionEventSourceMapping,
  "aws:sfn/stateMachine:StateMachine": provisionStateMachine,
  "aws:ssm/parameter:Parameter": provisionParameter,
  ...Object.fromEntries(API_GATEWAY_TYPES.map((type) => [type, provisionApiGateway])),
};

/**
 * Types with no local behaviour. Matched by exact type or by module prefix (`aws:iam/`).
 * Their state is AWS-shaped, so everything that references them still resolves.
 */
export const ACCEPTED_TYPES: string[] = [
  "aws:iam/",
  "aws:kms/",
  "aws:cloudwatch/",
  "aws:xray/",
  "aws:sns/topicPolicy:TopicPolicy",
  "aws:lambda/permission:Permission",
  "aws:apigateway/account:Account",
  "aws:apigateway/methodSettings:MethodSettings",
  "aws:apigateway/methodResponse:MethodResponse",
  "aws:apigateway/integrationResponse:IntegrationResponse",
];

export function isAccepted(type: string): boolean {
  return ACCEPTED_TYPES.some((accepted) => (accepted.endsWith("/") ? type.startsWith(accepted) : type === accepted));
}

/** The `provision` callback for `runProgram`, deploying onto `deployment`. */
export function localProvisioner(deployment: LocalDeployment): (args: MockResourceArgs) => Promise<MockResourceResult> {
  return async (args) => {
    const provisioner = PROVISIONERS[args.type];
    if (provisioner) {
      try {
        return await provisioner(args, deployment);
      } catch (error) {
        throw new Error(`Local cloud could not provision ${args.type} "${args.name}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    const base = awsShapedState({ ...args, inputs: plainInputs(args) }, deployment.options);
    // Components (`utility:serverless:...`) and providers have no cloud counterpart at all.
    if (!args.type.startsWith("aws:")) return base;
    deployment.count(isAccepted(args.type) ? deployment.accepted : deployment.unknown, args.type);
    return base;
  };
}
