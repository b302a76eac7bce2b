// SNS → SQS delivery as AWS decides it, on fauxqs: the queue policy decides, a refused delivery or
// a deleted queue ends in the subscription's dead-letter queue (with the published body, message
// attributes and FIFO group), and without a usable DLQ the message is discarded and counted.
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Message } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import type { DeliveryFailure } from "../../../local/emulators/sns-delivery";
import { snsMaySend } from "../../../local/emulators/queue-policy";
import { startSnsSqs } from "../../../local/emulators/sns-sqs";
import type { SnsSqsEmulator } from "../../../local/emulators/sns-sqs";

const region = "us-east-2";
let emulator: SnsSqsEmulator;
let sns: SNSClient;
let sqs: SQSClient;
const failures: DeliveryFailure[] = [];

beforeAll(async () => {
  emulator = await startSnsSqs({ region, enforceQueuePolicies: true, onDeliveryFailure: (f) => failures.push(f) });
  sns = new SNSClient(awsClientConfig(emulator.endpoint, region));
  sqs = new SQSClient(awsClientConfig(emulator.endpoint, region));
});
afterAll(async () => {
  sns?.destroy();
  sqs?.destroy();
  await emulator?.stop();
});

/** The program's queue policy: the topic may send; nothing without TLS. */
const admits = (queueArn: string, topicArn: string) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "TransactionTopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: queueArn, Condition: { ArnEquals: { "aws:SourceArn": topicArn } } },
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueArn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ],
  });

async function queue(name: string, policyFor?: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true" } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  const q = { url: QueueUrl!, arn: Attributes!.QueueArn! };
  if (policyFor) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: q.url, Attributes: { Policy: admits(q.arn, policyFor) } }));
  return q;
}

async function receiveAll(url: string): Promise<Message[]> {
  const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
  return Messages ?? [];
}

/** A topic, a route queue and its subscription DLQ, both admitting the topic, subscribed raw like the bus. */
async function route(name: string, withDlq = true) {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${name}.fifo`, Attributes: { FifoTopic: "true", ContentBasedDeduplication: "false" } }));
  const topicArn = TopicArn!;
  const main = await queue(`${name}-payment.fifo`, topicArn);
  const dlq = await queue(`${name}-payment-subscription-dlq.fifo`, topicArn);
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: "sqs",
      Endpoint: main.arn,
      ReturnSubscriptionArn: true,
      Attributes: { RawMessageDelivery: "true", ...(withDlq ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn }) } : {}) },
    }),
  );
  const publish = (transactionId: string, customer = "CUST-1") =>
    sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify({ transaction_id: transactionId, customer_id: customer, transaction_type: "payment", amount: 5 }),
        MessageGroupId: customer,
        MessageDeduplicationId: transactionId,
        MessageAttributes: {
          transaction_type: { DataType: "String", StringValue: "payment" },
          customer_id: { DataType: "String", StringValue: customer },
        },
      }),
    );
  return { topicArn, main, dlq, subscriptionArn: SubscriptionArn!, publish };
}

describe("SNS delivery to a subscribed queue", () => {
  it("delivers when the queue policy admits the topic", async () => {
    const r = await route("admitted");
    await r.publish("tx-1");
    expect((await receiveAll(r.main.url)).map((m) => JSON.parse(m.Body!).transaction_id)).toEqual(["tx-1"]);
    expect(await receiveAll(r.dlq.url)).toEqual([]);
    expect(emulator.deliveryCounts(r.topicArn).NumberOfNotificationsFailed).toBe(0);
  });

  it("dead-letters a delivery the queue policy refuses: same body, message attributes, group and deduplication id", async () => {
    const r = await route("refused");
    // Now the policy admits another topic only (a policy edited by hand, a topic renamed...).
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: r.main.url, Attributes: { Policy: admits(r.main.arn, `${r.topicArn}-other`) } }));
    await r.publish("tx-2", "CUST-2");
    expect(await receiveAll(r.main.url)).toEqual([]);
    const [dead] = await receiveAll(r.dlq.url);
    expect(JSON.parse(dead!.Body!)).toMatchObject({ transaction_id: "tx-2", customer_id: "CUST-2" });
    expect(dead!.MessageAttributes).toEqual({
      transaction_type: { DataType: "String", StringValue: "payment" },
      customer_id: { DataType: "String", StringValue: "CUST-2" },
    });
    expect(dead!.Attributes).toMatchObject({ MessageGroupId: "CUST-2", MessageDeduplicationId: "tx-2" });
    expect(failures.at(-1)).toEqual({
      topicArn: r.topicArn,
      subscriptionArn: r.subscriptionArn,
      endpoint: r.main.arn,
      reason: "no statement of the queue policy lets sns.amazonaws.com send from this topic",
      deadLetteredTo: r.dlq.arn,
    });
    expect(emulator.deliveryCounts(r.topicArn)).toEqual({ NumberOfNotificationsFailed: 1, NumberOfNotificationsRedrivenToDlq: 1, NumberOfNotificationsFailedToRedriveToDlq: 0 });
  });

  it("dead-letters a delivery to a deleted queue", async () => {
    const r = await route("deleted");
    await sqs.send(new DeleteQueueCommand({ QueueUrl: r.main.url }));
    await r.publish("tx-3");
    expect((await receiveAll(r.dlq.url)).map((m) => JSON.parse(m.Body!).transaction_id)).toEqual(["tx-3"]);
    expect(failures.at(-1)?.reason).toBe("the queue does not exist (AWS.SimpleQueueService.NonExistentQueue)");
  });

  it("keeps a customer's order in the DLQ and deduplicates it like the queue would", async () => {
    const r = await route("ordered");
    await sqs.send(new DeleteQueueCommand({ QueueUrl: r.main.url }));
    for (const id of ["a", "b", "c"]) await r.publish(`tx-${id}`, "CUST-ORDER");
    await r.publish("tx-a", "CUST-ORDER"); // a republish within the deduplication window
    const seen: string[] = [];
    for (;;) {
      const [m] = await receiveAll(r.dlq.url);
      if (!m) break;
      seen.push(JSON.parse(m.Body!).transaction_id);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: r.dlq.url, ReceiptHandle: m.ReceiptHandle }));
    }
    expect(seen).toEqual(["tx-a", "tx-b", "tx-c"]);
  });

  it("discards (and counts as lost) what it cannot dead-letter either, and what has no DLQ", async () => {
    const r = await route("lost");
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: r.main.url, Attributes: { Policy: admits(r.main.arn, "arn:aws:sns:us-east-2:000000000000:other") } }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: r.dlq.url, Attributes: { Policy: admits(r.dlq.arn, "arn:aws:sns:us-east-2:000000000000:other") } }));
    await r.publish("tx-4");
    expect(await receiveAll(r.dlq.url)).toEqual([]);
    expect(emulator.deliveryCounts(r.topicArn)).toEqual({ NumberOfNotificationsFailed: 1, NumberOfNotificationsRedrivenToDlq: 0, NumberOfNotificationsFailedToRedriveToDlq: 1 });
    expect(failures.at(-1)?.deadLetterFailure).toBe(`its dead-letter queue ${r.dlq.arn}: no statement of the queue policy lets sns.amazonaws.com send from this topic`);

    const bare = await route("bare", false);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: bare.main.url }));
    await bare.publish("tx-5");
    expect(await receiveAll(bare.dlq.url)).toEqual([]);
    expect(failures.at(-1)).toEqual({ topicArn: bare.topicArn, subscriptionArn: bare.subscriptionArn, endpoint: bare.main.arn, reason: "the queue does not exist (AWS.SimpleQueueService.NonExistentQueue)" });
    expect(emulator.deliveryCounts(bare.topicArn).NumberOfNotificationsFailed).toBe(1);
  });
});

describe("snsMaySend (the queue policy decision)", () => {
  const queueArn = "arn:aws:sqs:us-east-2:000000000000:q.fifo";
  const topicArn = "arn:aws:sns:us-east-2:000000000000:t.fifo";
  const decide = (...Statement: object[]) => snsMaySend(JSON.stringify({ Version: "2012-10-17", Statement }), { queueArn, topicArn }).allowed;
  const allow = { Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: queueArn };

  it("needs an Allow for SNS; no policy, or one for another principal, action or queue, refuses", () => {
    expect(snsMaySend(undefined, { queueArn, topicArn })).toEqual({ allowed: false, reason: "the queue has no policy that lets SNS send to it" });
    expect(decide(allow)).toBe(true);
    expect(decide({ ...allow, Principal: { Service: "events.amazonaws.com" } })).toBe(false);
    expect(decide({ ...allow, Action: "sqs:ReceiveMessage" })).toBe(false);
    expect(decide({ ...allow, Resource: "arn:aws:sqs:us-east-2:000000000000:other" })).toBe(false);
    expect(decide({ ...allow, Principal: "*", Action: "sqs:*", Resource: "*" })).toBe(true);
  });

  it("evaluates the source conditions SNS's request carries, and lets a matching Deny win", () => {
    expect(decide({ ...allow, Condition: { ArnLike: { "aws:SourceArn": "arn:aws:sns:us-east-2:000000000000:t*" } } })).toBe(true);
    expect(decide({ ...allow, Condition: { StringEquals: { "aws:SourceAccount": "111111111111" } } })).toBe(false);
    expect(decide(allow, { Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueArn, Condition: { Bool: { "aws:SecureTransport": "false" } } })).toBe(true);
    expect(decide(allow, { Effect: "Deny", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: queueArn })).toBe(false);
    // An operator it does not model never grants.
    expect(decide({ ...allow, Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } })).toBe(false);
  });
});
