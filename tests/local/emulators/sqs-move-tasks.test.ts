// SQS's dead-letter queue redrive API on the local cloud's SQS (fauxqs 2.4.1 has none): the
// validation AWS does, FIFO order per message group, the velocity limit, task status, cancel.
import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import { startSnsSqs } from "../../../local/emulators/sns-sqs";
import type { SnsSqsEmulator } from "../../../local/emulators/sns-sqs";

const region = "us-east-2";
let emulator: SnsSqsEmulator;
let sqs: SQSClient;

beforeAll(async () => {
  emulator = await startSnsSqs({ region });
  sqs = new SQSClient(awsClientConfig(emulator.endpoint, region));
});
afterAll(async () => {
  sqs?.destroy();
  await emulator?.stop();
});

async function queue(name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const fifo = name.endsWith(".fifo");
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...(fifo ? { FifoQueue: "true" } : {}), ...attributes } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

/** A source queue with its DLQ (the DLQ holds `messages`: group → bodies, sent in order). */
async function pair(name: string, messages: Record<string, string[]> = {}) {
  const fifo = name.endsWith(".fifo");
  const base = name.replace(/\.fifo$/, "");
  const dlq = await queue(`${base}-dlq${fifo ? ".fifo" : ""}`);
  const source = await queue(name, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 }) });
  for (const [group, bodies] of Object.entries(messages)) {
    for (const body of bodies) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq.url,
          MessageBody: body,
          MessageAttributes: { failure_kind: { DataType: "String", StringValue: "exhausted" } },
          ...(fifo ? { MessageGroupId: group, MessageDeduplicationId: `${group}-${body}` } : {}),
        }),
      );
    }
  }
  return { source, dlq };
}

async function drain(url: string): Promise<{ body: string; group?: string; attributes?: unknown }[]> {
  const out: { body: string; group?: string; attributes?: unknown }[] = [];
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
    if (!Messages?.length) return out;
    for (const m of Messages) {
      out.push({ body: m.Body!, group: m.Attributes?.MessageGroupId, attributes: m.MessageAttributes });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

async function until<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const latestTask = async (sourceArn: string) => (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn }))).Results?.[0];

describe("StartMessageMoveTask", () => {
  it("moves a FIFO DLQ back to a destination, each message group in order, keeping bodies, attributes and groups", async () => {
    const { source, dlq } = await pair("payments.fifo", { "CUST-A": ["a1", "a2", "a3"], "CUST-B": ["b1", "b2"] });
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: source.arn }));
    expect(TaskHandle).toBeTruthy();
    const done = await until(async () => {
      const task = await latestTask(dlq.arn);
      return task?.Status === "COMPLETED" ? task : undefined;
    });
    expect(done).toMatchObject({ SourceArn: dlq.arn, DestinationArn: source.arn, ApproximateNumberOfMessagesMoved: 5, ApproximateNumberOfMessagesToMove: 5 });
    expect(done.TaskHandle).toBeUndefined(); // only a running task has one
    const moved = await drain(source.url);
    expect(moved.filter((m) => m.group === "CUST-A").map((m) => m.body)).toEqual(["a1", "a2", "a3"]);
    expect(moved.filter((m) => m.group === "CUST-B").map((m) => m.body)).toEqual(["b1", "b2"]);
    expect(moved[0]!.attributes).toEqual({ failure_kind: { DataType: "String", StringValue: "exhausted" } });
    expect(await drain(dlq.url)).toEqual([]);
  });

  it("goes back to the one source queue when no destination is given", async () => {
    const { source, dlq } = await pair("standard-source", { "": ["s1", "s2"] });
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    await until(async () => ((await latestTask(dlq.arn))?.Status === "COMPLETED" ? true : undefined));
    expect((await drain(source.url)).map((m) => m.body).sort()).toEqual(["s1", "s2"]);
  });

  it("holds MaxNumberOfMessagesPerSecond, refuses a second task on the same source while one runs, and cancels", async () => {
    const { source, dlq } = await pair("slow.fifo", { G: ["1", "2", "3", "4", "5", "6"] });
    const started = Date.now();
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: source.arn, MaxNumberOfMessagesPerSecond: 2 }));
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: source.arn }))).rejects.toThrow(
      "There is already a task running. Only one active task is allowed for a source queue at a time.",
    );
    const running = await latestTask(dlq.arn);
    expect(running).toMatchObject({ Status: "RUNNING", TaskHandle, MaxNumberOfMessagesPerSecond: 2, ApproximateNumberOfMessagesToMove: 6 });
    await until(async () => ((await latestTask(dlq.arn))!.ApproximateNumberOfMessagesMoved! >= 3 ? true : undefined));
    // 2 per second: the first at once, the third after about a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const { ApproximateNumberOfMessagesMoved } = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(ApproximateNumberOfMessagesMoved).toBeGreaterThanOrEqual(3);
    expect(ApproximateNumberOfMessagesMoved).toBeLessThan(6);
    expect(await latestTask(dlq.arn)).toMatchObject({ Status: "CANCELLED" });
    const moved = (await drain(source.url)).map((m) => m.body);
    expect(moved).toEqual(["1", "2", "3", "4", "5", "6"].slice(0, moved.length));
    expect((await drain(dlq.url)).map((m) => m.body)).toEqual(["1", "2", "3", "4", "5", "6"].slice(moved.length));
  });

  it("refuses what AWS refuses, with AWS's messages", async () => {
    const { source, dlq } = await pair("checks.fifo");
    const standard = await queue("checks-standard");
    const start = (input: ConstructorParameters<typeof StartMessageMoveTaskCommand>[0]) => sqs.send(new StartMessageMoveTaskCommand(input));
    await expect(start({ SourceArn: `${dlq.arn}-missing` })).rejects.toThrow("The resource that you specified for the SourceArn parameter doesn't exist.");
    await expect(start({ SourceArn: source.arn })).rejects.toThrow("Source queue must be configured as a Dead Letter Queue.");
    await expect(start({ SourceArn: dlq.arn, DestinationArn: dlq.arn })).rejects.toThrow("Source queue arn and destination queue arn cannot be the same.");
    await expect(start({ SourceArn: dlq.arn, DestinationArn: `${source.arn}-missing` })).rejects.toThrow("The resource that you specified for the DestinationArn parameter doesn't exist.");
    await expect(start({ SourceArn: dlq.arn, DestinationArn: standard.arn })).rejects.toThrow("The source queue and destination queue must be of the same queue type.");
    await expect(start({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 501 })).rejects.toThrow("Value 501 for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500, if provided.");
    const error = (await start({ SourceArn: source.arn }).then(() => undefined, (e: unknown) => e)) as { name?: string } | undefined;
    expect(error?.name).toBe("InvalidParameterValue");
  });

  it("fails the task when its destination is deleted", async () => {
    const { dlq } = await pair("gone.fifo", { G: ["1", "2", "3"] });
    const destination = await queue("gone-destination.fifo");
    await sqs.send(new DeleteQueueCommand({ QueueUrl: destination.url }));
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: destination.arn }))).rejects.toThrow(/DestinationArn parameter doesn't exist/);
    const other = await queue("gone-destination-2.fifo");
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: other.arn, MaxNumberOfMessagesPerSecond: 1 }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: other.url }));
    const failed = await until(async () => {
      const task = await latestTask(dlq.arn);
      return task?.Status === "FAILED" ? task : undefined;
    }, 5000);
    expect(failed.FailureReason).toBe("AWS.SimpleQueueService.NonExistentQueue");
  });
});
