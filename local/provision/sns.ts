/** SNS on fauxqs: FIFO and standard topics, and SQS subscriptions with filter policies and raw delivery. */
import { CreateTopicCommand, SubscribeCommand } from "@aws-sdk/client-sns";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import type { LocalDeployment } from "./context";
import { asString, plainInputs } from "./context";

export async function provisionTopic(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const fifo = inputs.fifoTopic === true;
  let name = base.state.name as string;
  if (fifo && !name.endsWith(".fifo")) name = `${name}.fifo`;
  const attributes: Record<string, string> = {};
  if (fifo) attributes.FifoTopic = "true";
  if (inputs.contentBasedDeduplication !== undefined) attributes.ContentBasedDeduplication = String(inputs.contentBasedDeduplication === true);
  if (typeof inputs.displayName === "string") attributes.DisplayName = inputs.displayName;
  const created = await deployment.clients.sns.send(new CreateTopicCommand({ Name: name, Attributes: attributes }));
  const arn = created.TopicArn!;
  return { id: arn, state: { ...base.state, name, arn, id: arn } };
}

export async function provisionSubscription(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const protocol = asString(inputs.protocol) ?? "sqs";
  if (protocol !== "sqs") {
    // The local cloud delivers to SQS only (e-mail, HTTP, Lambda subscriptions are listed at start-up).
    deployment.count(deployment.accepted, `${args.type} (protocol ${protocol})`);
    return base;
  }
  const attributes: Record<string, string> = {};
  if (inputs.rawMessageDelivery !== undefined) attributes.RawMessageDelivery = String(inputs.rawMessageDelivery === true);
  if (typeof inputs.filterPolicy === "string") attributes.FilterPolicy = inputs.filterPolicy;
  if (typeof inputs.filterPolicyScope === "string") attributes.FilterPolicyScope = inputs.filterPolicyScope;
  if (typeof inputs.redrivePolicy === "string") attributes.RedrivePolicy = inputs.redrivePolicy;
  const result = await deployment.clients.sns.send(
    new SubscribeCommand({
      TopicArn: asString(inputs.topic),
      Protocol: protocol,
      Endpoint: asString(inputs.endpoint),
      Attributes: attributes,
      ReturnSubscriptionArn: true,
    }),
  );
  const arn = result.SubscriptionArn!;
  return { id: arn, state: { ...base.state, arn, id: arn } };
}
