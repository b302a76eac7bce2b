/**
 * The local event source mapping (local/runtime/sqs-poller.ts) on its own, against fauxqs on
 * 127.0.0.1: what it asks SQS for (batch size, attributes, long poll), how many batches it keeps in
 * flight, which messages it deletes after a partial batch response, that failed messages come back
 * when their visibility expires, and how it reports invocation, receive and delete errors. Every
 * SQS command the poller sends is recorded by a middleware on its client, so the checks are on the
 * calls themselves, not on timing.
 */
import { randomUUID } from "node:crypto";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import { startSnsSqs } from "../../../local/emulators/sns-sqs";
import type { SnsSqsEmulator } from "../../../local/emulators/sns-sqs";
import { AccountConcurrency } from "../../../local/runtime/account-concurrency";
import { failuresOf, startSqsPoller, toRecord } from "../../../local/runtime/sqs-poller";
import type { BatchOutcome, SqsPoller, SqsPollerOptions } from "../../../local/runtime/sqs-poller";

const region = "us-east-2";
let emulator: SnsSqsEmulator;
/** Client for the test's own sends and checks (not recorded). */
let admin: SQSClient;

beforeAll(async () => {
  emulator = await startSnsSqs({ region });
  admin = new SQSClient(awsClientConfig(emulator.endpoint, region));
});
afterAll(async () => {
  admin?.destroy();
  await emulator?.stop();
});

/** A poller's own client, recording every command it sends (name and input) before it goes out. */
function recordingClient(): { client: SQSClient; sent: { command: string; input: Record<string, unknown> }[] } {
  const client = new SQSClient(awsClientConfig(emulator.endpoint, region));
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  (client.middlewareStack as unknown as { add: (m: unknown, o: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: { input: Record<string, unknown> }) => {
      sent.push({ command: context.commandName, input: structuredClone(args.input) });
      return next(args);
    },
    { step: "initialize", name: "recordCommands" },
  );
  return { client, sent };
}

async function queue(attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: `poller-${randomUUID()}${attributes.FifoQueue ? ".fifo" : ""}`, Attributes: attributes }));
  const { Attributes } = await admin.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function sendAll(url: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    await admin.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((body, j) => ({ Id: String(j), MessageBody: body })) }));
  }
}

async function counts(url: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes: a = {} } = await admin.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Run {
  poller: SqsPoller;
  sent: { command: string; input: Record<string, unknown> }[];
  events: SQSEvent[];
  outcomes: BatchOutcome[];
  errors: unknown[];
}

/** Starts a poller on `url` with `respond` as the function; everything it does is recorded. */
function poll(target: { url: string; arn: string }, respond: (event: SQSEvent) => Promise<unknown>, options: Partial<SqsPollerOptions> = {}): Run {
  const { client, sent } = recordingClient();
  const events: SQSEvent[] = [];
  const outcomes: BatchOutcome[] = [];
  const errors: unknown[] = [];
  const poller = startSqsPoller({
    queueUrl: target.url,
    eventSourceArn: target.arn,
    sqsClient: client,
    host: {
      invoke: (event) => {
        events.push(event as SQSEvent);
        return respond(event as SQSEvent);
      },
    },
    onBatch: (outcome) => outcomes.push(outcome),
    onError: (error) => errors.push(error),
    ...options,
  });
  return {
    poller: { stop: async () => { await poller.stop(); client.destroy(); } },
    sent,
    events,
    outcomes,
    errors,
  };
}

const ok = async (): Promise<SQSBatchResponse> => ({ batchItemFailures: [] });
const bodiesOf = (events: SQSEvent[]) => events.flatMap((e) => e.Records.map((r) => r.body));
const sumOf = (outcomes: BatchOutcome[], field: "received" | "deleted" | "failed") => outcomes.reduce((n, o) => n + o[field], 0);

describe("what the poller asks SQS for", () => {
  it("receives at most batchSize messages, with every attribute, long-polling 1 s by default", async () => {
    const q = await queue();
    const bodies = Array.from({ length: 7 }, (_, i) => `m${i}`);
    await sendAll(q.url, bodies);
    const run = poll(q, ok, { batchSize: 3, maximumConcurrency: 1 });
    await waitUntil("7 messages handled", () => sumOf(run.outcomes, "deleted") === 7);
    await run.poller.stop();
    const receives = run.sent.filter((c) => c.command === "ReceiveMessageCommand").map((c) => c.input);
    expect(receives[0]).toEqual({
      QueueUrl: q.url,
      MaxNumberOfMessages: 3,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    });
    for (const event of run.events) expect(event.Records.length).toBeLessThanOrEqual(3);
    expect(bodiesOf(run.events).sort()).toEqual(bodies);
    expect(await counts(q.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("asks for 10 messages when no batch size is given, and deletes a full batch in one call", async () => {
    const q = await queue();
    await sendAll(q.url, Array.from({ length: 10 }, (_, i) => `d${i}`));
    const run = poll(q, ok, { maximumConcurrency: 1, waitTimeSeconds: 0 });
    await waitUntil("10 messages handled", () => sumOf(run.outcomes, "deleted") === 10);
    await run.poller.stop();
    const receive = run.sent.find((c) => c.command === "ReceiveMessageCommand")!.input;
    expect(receive).toMatchObject({ MaxNumberOfMessages: 10, WaitTimeSeconds: 0 });
    const deletes = run.sent.filter((c) => c.command === "DeleteMessageBatchCommand").map((c) => c.input);
    const entries = deletes.flatMap((d) => d.Entries as { Id: string; ReceiptHandle: string }[]);
    expect(entries).toHaveLength(10);
    // Ids are the entry's index in its DeleteMessageBatch call.
    for (const d of deletes) expect((d.Entries as { Id: string }[]).map((e) => e.Id)).toEqual((d.Entries as unknown[]).map((_, i) => String(i)));
    expect(deletes.every((d) => d.QueueUrl === q.url)).toBe(true);
    expect(new Set(entries.map((e) => e.ReceiptHandle)).size).toBe(10);
  });
});

describe("concurrency", () => {
  /**
   * Runs 6 one-message batches through a function that holds each batch until `expected` batches
   * are in flight (at most 3 s, for a poller that allows fewer), then 150 ms more, so that one
   * batch too many, if the poller allowed it, would start meanwhile. Returns the most in flight.
   */
  async function maxInFlight(maximumConcurrency: number | undefined, expected: number): Promise<number> {
    const q = await queue();
    await sendAll(q.url, Array.from({ length: 6 }, (_, i) => `c${i}`));
    let inFlight = 0;
    let max = 0;
    const run = poll(
      q,
      async () => {
        inFlight++;
        max = Math.max(max, inFlight);
        await waitUntil(`${expected} batches in flight`, () => max >= expected, 3_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
        return { batchItemFailures: [] };
      },
      { batchSize: 1, ...(maximumConcurrency === undefined ? {} : { maximumConcurrency }), waitTimeSeconds: 0 },
    );
    await waitUntil("6 messages handled", () => sumOf(run.outcomes, "deleted") === 6);
    await run.poller.stop();
    return max;
  }

  it("keeps maximumConcurrency batches in flight, never more", async () => {
    expect(await maxInFlight(3, 3)).toBe(3);
  });
  it("keeps 2 in flight by default, and at least 1 when given 0", async () => {
    expect(await maxInFlight(undefined, 2)).toBe(2);
    expect(await maxInFlight(0, 1)).toBe(1);
  });
});

describe("the account's concurrency", () => {
  it("receives nothing while the account has no slot for an event source, so no receive counts towards maxReceiveCount; receives once a slot frees", async () => {
    const account = new AccountConcurrency({ limit: 1 });
    account.begin("request"); // a request holds the only slot
    const q = await queue();
    await sendAll(q.url, ["a"]);
    const run = poll(q, async () => undefined, { maximumConcurrency: 1, hasRoom: () => account.roomFor("event-source", 100) });
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect(run.sent.filter((c) => c.command === "ReceiveMessageCommand")).toEqual([]);
      expect(await counts(q.url)).toEqual({ visible: 1, inFlight: 0 });
      account.end("request");
      await waitUntil("the batch", () => run.outcomes.length === 1);
      expect(run.outcomes).toEqual([{ received: 1, deleted: 1, failed: 0 }]);
      expect(run.events[0]!.Records[0]!.attributes.ApproximateReceiveCount).toBe("1");
    } finally {
      await run.poller.stop();
    }
  });
});

describe("partial batch responses and visibility", () => {
  it("deletes only the messages not reported as failed; a failed one comes back after its visibility, received again", async () => {
    const q = await queue({ VisibilityTimeout: "1" });
    await sendAll(q.url, ["keep-1", "fail-once", "keep-2"]);
    const seen: SQSRecord[] = [];
    let failedOnce = false;
    const run = poll(
      q,
      async (event) => {
        seen.push(...event.Records);
        const failing = event.Records.filter((r) => r.body === "fail-once" && !failedOnce);
        if (failing.length) failedOnce = true;
        return { batchItemFailures: failing.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      { batchSize: 10, maximumConcurrency: 1, waitTimeSeconds: 0 },
    );
    await waitUntil("every message deleted", () => sumOf(run.outcomes, "deleted") === 3);
    await run.poller.stop();
    expect(sumOf(run.outcomes, "failed")).toBe(1);
    expect(sumOf(run.outcomes, "received")).toBe(4);
    const deletedHandles = run.sent.filter((c) => c.command === "DeleteMessageBatchCommand").flatMap((c) => (c.input.Entries as { ReceiptHandle: string }[]).map((e) => e.ReceiptHandle));
    const firstFailing = seen.find((r) => r.body === "fail-once")!;
    expect(deletedHandles).not.toContain(firstFailing.receiptHandle);
    // Received twice: the second time after its 1 s visibility, as its 2nd receive.
    expect(seen.filter((r) => r.body === "fail-once").map((r) => r.attributes.ApproximateReceiveCount)).toEqual(["1", "2"]);
    expect(await counts(q.url)).toEqual({ visible: 0, inFlight: 0 });
    expect(run.errors).toEqual([]);
  });

  it("a thrown invocation fails the whole batch: nothing is deleted, the error is reported", async () => {
    const q = await queue({ VisibilityTimeout: "30" });
    await sendAll(q.url, ["x", "y"]);
    const run = poll(q, async () => Promise.reject(new TypeError("boom")), { batchSize: 10, maximumConcurrency: 1, waitTimeSeconds: 0 });
    await waitUntil("the two messages received", () => sumOf(run.outcomes, "received") === 2);
    await run.poller.stop();
    expect(run.outcomes.map(({ deleted, failed, error }) => ({ deleted, failed, error }))).toEqual(
      run.outcomes.map((o) => ({ deleted: 0, failed: o.received, error: "TypeError: boom" })),
    );
    expect(run.errors.map(String)).toEqual(run.outcomes.map(() => "TypeError: boom"));
    expect(run.sent.filter((c) => c.command === "DeleteMessageBatchCommand")).toEqual([]);
    expect(await counts(q.url)).toEqual({ visible: 0, inFlight: 2 });
  });

  it("a thrown non-Error is reported as its text", async () => {
    const q = await queue({ VisibilityTimeout: "30" });
    await sendAll(q.url, ["z"]);
    const run = poll(q, async () => Promise.reject("plain text"), { maximumConcurrency: 1, waitTimeSeconds: 0 });
    await waitUntil("the message received", () => run.outcomes.length === 1);
    await run.poller.stop();
    expect(run.outcomes).toEqual([{ received: 1, deleted: 0, failed: 1, error: "plain text" }]);
  });

  it("a void answer (a function without ReportBatchItemFailures) deletes the whole batch", async () => {
    const q = await queue();
    await sendAll(q.url, ["v1", "v2"]);
    const run = poll(q, async () => undefined, { maximumConcurrency: 1, waitTimeSeconds: 0 });
    await waitUntil("both deleted", () => sumOf(run.outcomes, "deleted") === 2);
    await run.poller.stop();
    expect(run.outcomes.every((o) => o.failed === 0 && o.error === undefined)).toBe(true);
  });
});

describe("errors of SQS itself", () => {
  it("without onError, an error is written to stderr naming the queue", async () => {
    const printed = vi.spyOn(console, "error").mockImplementation(() => undefined);
    let failed = false;
    const scripted = {
      send: async () => {
        if (!failed) {
          failed = true;
          throw new Error("throttled");
        }
        return new Promise((r) => setTimeout(() => r({ Messages: [] }), 20));
      },
    } as unknown as SQSClient;
    const poller = startSqsPoller({ queueUrl: "http://127.0.0.1:1/q", eventSourceArn: "arn:aws:sqs:us-east-2:1:q", sqsClient: scripted, host: { invoke: ok }, maximumConcurrency: 1 });
    try {
      await waitUntil("the error printed", () => printed.mock.calls.length > 0);
      expect(printed.mock.calls).toEqual([["[poller http://127.0.0.1:1/q]", "throttled"]]);
    } finally {
      await poller.stop();
      printed.mockRestore();
    }
  });

  it("a failed receive is reported and polling goes on after a pause", async () => {
    const q = await queue();
    await sendAll(q.url, ["after-error"]);
    const { client, sent } = recordingClient();
    let failures = 1;
    const real = client.send.bind(client);
    const flaky = {
      send: (command: { constructor: { name: string } }, options?: unknown) => {
        if (command.constructor.name === "ReceiveMessageCommand" && failures-- > 0) return Promise.reject(new Error("throttled"));
        return (real as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
      },
    } as unknown as SQSClient;
    const errors: unknown[] = [];
    const outcomes: BatchOutcome[] = [];
    const started = Date.now();
    let invokedAt = 0;
    const poller = startSqsPoller({
      queueUrl: q.url,
      eventSourceArn: q.arn,
      sqsClient: flaky,
      host: { invoke: async () => void (invokedAt = Date.now()) },
      maximumConcurrency: 1,
      waitTimeSeconds: 0,
      onBatch: (o) => outcomes.push(o),
      onError: (e) => errors.push(e),
    });
    await waitUntil("the message handled", () => outcomes.length === 1);
    await poller.stop();
    client.destroy();
    expect(errors.map(String)).toEqual(["Error: throttled"]);
    expect(outcomes).toEqual([{ received: 1, deleted: 1, failed: 0, error: undefined }]);
    // The retry waits its 500 ms pause rather than spinning (a lower bound: a slow machine only adds).
    expect(invokedAt - started).toBeGreaterThanOrEqual(500);
    expect(sent.filter((c) => c.command === "DeleteMessageBatchCommand")).toHaveLength(1);
  });

  it("a delete that fails is reported, with SQS's reason for each entry", async () => {
    const q = await queue();
    await sendAll(q.url, ["d"]);
    const errors: unknown[] = [];
    const outcomes: BatchOutcome[] = [];
    const answers = [
      {
        Messages: [
          { MessageId: "m-1", ReceiptHandle: "rh-1", Body: "d", Attributes: {}, MessageAttributes: {} },
          { MessageId: "m-2", ReceiptHandle: "rh-2", Body: "e", Attributes: {}, MessageAttributes: {} },
        ],
      },
      {
        Successful: [],
        Failed: [
          { Id: "0", SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: "handle rh-1 is invalid" },
          { Id: "1", SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: "handle rh-2 is invalid" },
        ],
      },
    ];
    const scripted = {
      send: async (command: { constructor: { name: string } }) => {
        if (command.constructor.name === "ReceiveMessageCommand") return answers.length > 1 ? answers.shift() : new Promise((r) => setTimeout(() => r({ Messages: [] }), 20));
        return answers.shift();
      },
    } as unknown as SQSClient;
    const poller = startSqsPoller({ queueUrl: q.url, eventSourceArn: q.arn, sqsClient: scripted, host: { invoke: ok }, maximumConcurrency: 1, onBatch: (o) => outcomes.push(o), onError: (e) => errors.push(e) });
    await waitUntil("the batch", () => outcomes.length === 1);
    await poller.stop();
    expect(errors.map(String)).toEqual(["Error: could not delete 2 processed message(s): handle rh-1 is invalid; handle rh-2 is invalid"]);
    expect(outcomes).toEqual([{ received: 2, deleted: 2, failed: 0, error: undefined }]);
  });

  it("a delete call that throws is reported and the batch still counts", async () => {
    const errors: unknown[] = [];
    const outcomes: BatchOutcome[] = [];
    let received = false;
    const scripted = {
      send: async (command: { constructor: { name: string } }) => {
        if (command.constructor.name === "ReceiveMessageCommand") {
          if (received) return new Promise((r) => setTimeout(() => r({ Messages: [] }), 20));
          received = true;
          return { Messages: [{ MessageId: "m-1", ReceiptHandle: "rh-1", Body: "d" }] };
        }
        throw new Error("connection reset");
      },
    } as unknown as SQSClient;
    const poller = startSqsPoller({ queueUrl: "http://q", eventSourceArn: "arn:q", sqsClient: scripted, host: { invoke: ok }, maximumConcurrency: 1, onBatch: (o) => outcomes.push(o), onError: (e) => errors.push(e) });
    await waitUntil("the batch", () => outcomes.length === 1);
    await poller.stop();
    expect(errors.map(String)).toEqual(["Error: connection reset"]);
    expect(outcomes).toEqual([{ received: 1, deleted: 1, failed: 0, error: undefined }]);
  });
});

describe("stop()", () => {
  it("waits for the batch in flight to finish and delete, and then receives nothing more", async () => {
    const q = await queue();
    await sendAll(q.url, ["slow"]);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let invoked = false;
    const run = poll(
      q,
      async () => {
        invoked = true;
        await held;
        return { batchItemFailures: [] };
      },
      { maximumConcurrency: 1, waitTimeSeconds: 0 },
    );
    await waitUntil("the batch to start", () => invoked);
    let stopped = false;
    const stopping = run.poller.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(run.outcomes).toEqual([{ received: 1, deleted: 1, failed: 0, error: undefined }]);
    const receivesAtStop = run.sent.filter((c) => c.command === "ReceiveMessageCommand").length;
    await sendAll(q.url, ["after-stop"]);
    await new Promise((r) => setTimeout(r, 200));
    expect(run.sent.filter((c) => c.command === "ReceiveMessageCommand")).toHaveLength(receivesAtStop);
    expect(await counts(q.url)).toEqual({ visible: 1, inFlight: 0 });
  });

  it("aborts the long polls in flight when stopped, and does not report them as errors", async () => {
    const q = await queue();
    const run = poll(q, ok, { maximumConcurrency: 2, waitTimeSeconds: 20 });
    await waitUntil("both loops long-polling", () => run.sent.filter((c) => c.command === "ReceiveMessageCommand").length === 2);
    const stopping = Date.now();
    await run.poller.stop();
    // Not aborted, the stop would wait out the 20 s polls: 10 s is room for a loaded machine.
    expect(Date.now() - stopping).toBeLessThan(10_000);
    expect(run.errors).toEqual([]);
  });
});

describe("failuresOf", () => {
  const records = ["a", "b", "c"].map((id) => ({ messageId: id }) as SQSRecord);
  it("is the reported identifiers", () => {
    expect([...failuresOf({ batchItemFailures: [{ itemIdentifier: "b" }] }, records)]).toEqual(["b"]);
    expect([...failuresOf({ batchItemFailures: [] }, records)]).toEqual([]);
    expect([...failuresOf(undefined, records)]).toEqual([]);
    expect([...failuresOf(null, records)]).toEqual([]);
    expect([...failuresOf({} as SQSBatchResponse, records)]).toEqual([]);
  });
  it("is the whole batch when an identifier is empty or names a message not in the batch", () => {
    expect([...failuresOf({ batchItemFailures: [{ itemIdentifier: "b" }, { itemIdentifier: "zz" }] }, records)]).toEqual(["a", "b", "c"]);
    expect([...failuresOf({ batchItemFailures: [{ itemIdentifier: "" }] }, records)]).toEqual(["a", "b", "c"]);
  });
});

describe("toRecord", () => {
  it("maps a message with every attribute to Lambda's SQS record", () => {
    const message: Message = {
      MessageId: "id-1",
      ReceiptHandle: "rh-1",
      Body: '{"a":1}',
      MD5OfBody: "md5",
      Attributes: {
        ApproximateReceiveCount: "3",
        SentTimestamp: "1000",
        SenderId: "AIDA",
        ApproximateFirstReceiveTimestamp: "2000",
        MessageGroupId: "g",
        MessageDeduplicationId: "dd",
        SequenceNumber: "42",
        AWSTraceHeader: "Root=1-abc",
      },
      MessageAttributes: {
        transaction_type: { DataType: "String", StringValue: "payment" },
        blob: { DataType: "Binary", BinaryValue: Uint8Array.from([1, 2, 3]) },
      },
    };
    expect(toRecord(message, { eventSourceArn: "arn:aws:sqs:us-east-2:1:q", region: "us-east-2" })).toStrictEqual({
      messageId: "id-1",
      receiptHandle: "rh-1",
      body: '{"a":1}',
      attributes: {
        ApproximateReceiveCount: "3",
        SentTimestamp: "1000",
        SenderId: "AIDA",
        ApproximateFirstReceiveTimestamp: "2000",
        MessageGroupId: "g",
        MessageDeduplicationId: "dd",
        SequenceNumber: "42",
        AWSTraceHeader: "Root=1-abc",
      },
      messageAttributes: {
        transaction_type: { dataType: "String", stringValue: "payment", stringListValues: [], binaryListValues: [] },
        blob: { dataType: "Binary", binaryValue: "AQID", stringListValues: [], binaryListValues: [] },
      },
      md5OfBody: "md5",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-2:1:q",
      awsRegion: "us-east-2",
    });
  });
  it("fills what a bare message lacks: first receive, now, LOCAL sender, us-east-1, empty body, String attributes", () => {
    const before = Date.now();
    const record = toRecord({ MessageId: "id", ReceiptHandle: "rh", MessageAttributes: { t: { StringValue: "x" } as MessageAttributeValue } }, { eventSourceArn: "arn" });
    const after = Date.now();
    expect(record).toMatchObject({ body: "", md5OfBody: "", awsRegion: "us-east-1", messageAttributes: { t: { dataType: "String", stringValue: "x", stringListValues: [], binaryListValues: [] } } });
    expect(Object.keys(record.attributes).sort()).toEqual(["ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp"]);
    expect(record.attributes.ApproximateReceiveCount).toBe("1");
    expect(record.attributes.SenderId).toBe("LOCAL");
    for (const stamp of [record.attributes.SentTimestamp, record.attributes.ApproximateFirstReceiveTimestamp]) {
      expect(Number(stamp)).toBeGreaterThanOrEqual(before);
      expect(Number(stamp)).toBeLessThanOrEqual(after);
    }
  });
});

describe("FIFO", () => {
  it("hands a group's messages to the function in order, one batch at a time per group", async () => {
    const q = await queue({ FifoQueue: "true", ContentBasedDeduplication: "true" });
    for (let i = 0; i < 6; i++) await admin.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: `g-${i}`, MessageGroupId: "g" }));
    const run = poll(q, ok, { batchSize: 2, maximumConcurrency: 2, waitTimeSeconds: 0 });
    await waitUntil("6 messages handled", () => sumOf(run.outcomes, "deleted") === 6);
    await run.poller.stop();
    expect(bodiesOf(run.events)).toEqual(["g-0", "g-1", "g-2", "g-3", "g-4", "g-5"]);
    for (const event of run.events) for (const r of event.Records) expect(r.attributes.MessageGroupId).toBe("g");
  });
});
