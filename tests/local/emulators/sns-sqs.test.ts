// fauxqs through the real SDK clients: the FIFO bus pattern (filtered raw subscription) and
// redrive to a DLQ, as the FifoTransactionBus uses them.
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import { startSnsSqs } from "../../../local/emulators/sns-sqs";
import type { SnsSqsEmulator } from "../../../local/emulators/sns-sqs";

const region = "eu-west-1";
let emulator: SnsSqsEmulator;
let sns: SNSClient;
let sqs: SQSClient;

beforeAll(async () => {
  emulator = await startSnsSqs({ region });
  sns = new SNSClient(awsClientConfig(emulator.endpoint, region));
  sqs = new SQSClient(awsClientConfig(emulator.endpoint, region));
});

afterAll(async () => {
  sns?.destroy();
  sqs?.destroy();
  await emulator?.stop();
});

async function createFifoQueue(name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true", ...attributes } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  return { url: QueueUrl ?? "", arn: Attributes?.QueueArn ?? "" };
}

describe("fauxqs emulator", () => {
  it("binds 127.0.0.1 and hands out queue URLs on its own endpoint", async () => {
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const queue = await createFifoQueue("url-check.fifo");
    expect(queue.url).toBe(`${emulator.endpoint}/000000000000/url-check.fifo`);
    expect(queue.arn).toBe(`arn:aws:sqs:${region}:000000000000:url-check.fifo`);
    // The URL works with a client that has no endpoint of its own beyond it.
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d" }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url }));
    expect(Messages?.[0]?.Body).toBe("x");
  });

  it("routes a FIFO topic to a FIFO queue through a raw subscription filtered on transaction_type", async () => {
    const { TopicArn } = await sns.send(
      new CreateTopicCommand({ Name: "transactions.fifo", Attributes: { FifoTopic: "true", ContentBasedDeduplication: "false" } }),
    );
    expect(TopicArn).toBe(`arn:aws:sns:${region}:000000000000:transactions.fifo`);
    const payments = await createFifoQueue("payment-processing.fifo");
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: "sqs",
        Endpoint: payments.arn,
        Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ transaction_type: ["payment"] }) },
      }),
    );

    const publish = (type: string, id: string): Promise<unknown> =>
      sns.send(
        new PublishCommand({
          TopicArn,
          Message: JSON.stringify({ transaction_id: id, customer_id: "CUST-1", transaction_type: type }),
          MessageGroupId: "CUST-1",
          MessageDeduplicationId: id,
          MessageAttributes: {
            transaction_type: { DataType: "String", StringValue: type },
            customer_id: { DataType: "String", StringValue: "CUST-1" },
          },
        }),
      );
    await publish("bank_account_setup", "tx-1");
    await publish("payment", "tx-2");
    await publish("payment", "tx-2"); // same deduplication id: dropped

    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: payments.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }),
    );
    expect(Messages).toHaveLength(1);
    const [message] = Messages ?? [];
    // Raw delivery: the body is the published message itself, not an SNS envelope.
    expect(JSON.parse(message?.Body ?? "{}")).toMatchObject({ transaction_id: "tx-2", transaction_type: "payment" });
    expect(message?.MessageAttributes?.transaction_type?.StringValue).toBe("payment");
    expect(message?.Attributes?.MessageGroupId).toBe("CUST-1");
    await sqs.send(new DeleteMessageCommand({ QueueUrl: payments.url, ReceiptHandle: message?.ReceiptHandle }));
    const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: payments.url, WaitTimeSeconds: 0 }));
    expect(after.Messages ?? []).toHaveLength(0);
  });

  it("accepts every character SQS accepts, emoji included, and refuses the others (found by tests/fuzz/bus.fuzz.test.ts)", async () => {
    const queue = await createFifoQueue("characters.fifo");
    const accepted = ["emoji 😀", "CJK ext B 𠀀", "max 􏿿", "tab\tnewline\ncr\r", "bmp \ud7ff \ue000 \ufffd"];
    for (const [i, body] of accepted.entries()) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, MessageGroupId: `g${i}`, MessageDeduplicationId: `ok${i}` }));
    }
    const bodies: string[] = [];
    for (let i = 0; i < 5 && bodies.length < accepted.length; i++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      bodies.push(...Messages.map((m) => m.Body!));
    }
    expect(bodies.sort()).toEqual([...accepted].sort());
    for (const [i, body] of ["nul \u0000", "bell \u0007", "fffe \ufffe", "lone \ud83d surrogate"].entries()) {
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, MessageGroupId: "g", MessageDeduplicationId: `bad${i}` })), JSON.stringify(body)).rejects.toThrow(
        /Invalid characters found/,
      );
    }
  });

  it("moves a message to the DLQ after maxReceiveCount receives", async () => {
    const dlq = await createFifoQueue("orders-dlq.fifo");
    const queue = await createFifoQueue("orders.fifo", {
      VisibilityTimeout: "30",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "poison", MessageGroupId: "g1", MessageDeduplicationId: "p1" }));

    // Two receives without a delete (VisibilityTimeout 0 makes it visible again at once).
    for (let attempt = 1; attempt <= 2; attempt++) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, VisibilityTimeout: 0, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }));
      expect(Messages?.[0]?.Body).toBe("poison");
      expect(Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe(String(attempt));
    }
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0 }));
    expect(third.Messages ?? []).toHaveLength(0);
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, WaitTimeSeconds: 1 }));
    expect(Messages?.[0]?.Body).toBe("poison");
  });

  it("starts a redriven message's receive count again in its DLQ, so a DLQ's own consumer gets it (chained DLQs)", async () => {
    const create = async (name: string, attributes: Record<string, string> = {}) => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "0", ...attributes } }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
      return { url: QueueUrl!, arn: Attributes!.QueueArn! };
    };
    const last = await create("chain-last");
    const dlq = await create("chain-dlq", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: last.arn, maxReceiveCount: 2 }) });
    const source = await create("chain-source", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }) });
    await sqs.send(new SendMessageCommand({ QueueUrl: source.url, MessageBody: "chained" }));
    const receive = (url: string) => sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }));
    expect((await receive(source.url)).Messages?.[0]?.Body).toBe("chained");
    expect((await receive(source.url)).Messages ?? []).toEqual([]); // the second receive moved it to the DLQ
    // In the DLQ it is received as a fresh message (count 1), not passed on at once to the last queue.
    const inDlq = (await receive(dlq.url)).Messages?.[0];
    expect(inDlq?.Body).toBe("chained");
    expect(inDlq?.Attributes?.ApproximateReceiveCount).toBe("1");
    expect((await receive(last.url)).Messages ?? []).toEqual([]);
  });
});
