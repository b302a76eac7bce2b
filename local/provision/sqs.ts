/**
 * SQS on fauxqs: standard and FIFO queues with their redrive policy, redrive-allow policies, and
 * queue policies (the `Policy` attribute: SNS's deliveries are decided on it, `sns-delivery.ts`).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import type { LocalDeployment } from "./context";
import { asNumber, asString, plainInputs } from "./context";

/** Pulumi input → SQS attribute name, for the attributes that change behaviour locally. */
const ATTRIBUTES: Record<string, string> = {
  visibilityTimeoutSeconds: "VisibilityTimeout",
  messageRetentionSeconds: "MessageRetentionPeriod",
  delaySeconds: "DelaySeconds",
  receiveWaitTimeSeconds: "ReceiveMessageWaitTimeSeconds",
  maxMessageSize: "MaximumMessageSize",
  redrivePolicy: "RedrivePolicy",
  redriveAllowPolicy: "RedriveAllowPolicy",
  contentBasedDeduplication: "ContentBasedDeduplication",
  deduplicationScope: "DeduplicationScope",
  fifoThroughputLimit: "FifoThroughputLimit",
};

export async function provisionQueue(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const fifo = inputs.fifoQueue === true;
  let name = base.state.name as string;
  if (fifo && !name.endsWith(".fifo")) name = `${name}.fifo`;
  const attributes: Record<string, string> = {};
  if (fifo) attributes.FifoQueue = "true";
  for (const [input, attribute] of Object.entries(ATTRIBUTES)) {
    const value = inputs[input];
    if (value === undefined || value === null || value === "") continue;
    if (!fifo && ["ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"].includes(attribute)) continue;
    attributes[attribute] = typeof value === "string" ? value : String(value);
  }
  const { sqs } = deployment.clients;
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = created.QueueUrl!;
  const described = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  const arn = described.Attributes?.QueueArn ?? (base.state.arn as string);
  deployment.queues.set(arn, { name, url, arn, fifo, visibilityTimeoutSeconds: asNumber(inputs.visibilityTimeoutSeconds) ?? 30 });
  return { id: url, state: { ...base.state, name, url, arn, id: url } };
}

/** `aws:sqs/redriveAllowPolicy:RedriveAllowPolicy`: a queue attribute, set on the emulator. */
export async function provisionRedriveAllowPolicy(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const queueUrl = asString(inputs.queueUrl);
  const policy = asString(inputs.redriveAllowPolicy);
  if (queueUrl && policy) {
    await deployment.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { RedriveAllowPolicy: policy } }));
  }
  return { id: queueUrl ?? args.name, state: { ...inputs } };
}

/**
 * `aws:sqs/queuePolicy:QueuePolicy`: the queue's `Policy` attribute. IAM is not enforced locally,
 * but SNS delivers to a queue only when this policy admits the topic, as on AWS.
 */
export async function provisionQueuePolicy(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const queueUrl = asString(inputs.queueUrl);
  const policy = asString(inputs.policy);
  if (queueUrl && policy) {
    await deployment.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: policy } }));
  }
  return { id: queueUrl ?? args.name, state: { ...inputs } };
}
