/**
 * The retry backoff of the SQS runtime: `retryBackoffSeconds` (1, 2, 4, ... capped at 60 s), and
 * what the handler does with it after a batch (`shortenVisibility`, through the public handler):
 * every retryable failure gets its visibility set to that backoff, a FIFO group's failed messages
 * all get the group's longest one, successes and dead-lettered messages are not touched, and
 * entries go out in batches of at most 10. SQS is a local stub on the shared client (no network).
 */
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import { defineFunction } from "../../../functions/lib/define";
import { PermanentFailure, retryBackoffSeconds, sqsHandler } from "../../../functions/lib/sqs-handler";
import { DEAD_LETTER_QUEUE, SOURCE_QUEUE, setSqsFunctionEnvironment, sqsRecord, stubSqs } from "../../support/sqs-stub";

const QUEUE_URL = SOURCE_QUEUE.url;
const DLQ_URL = DEAD_LETTER_QUEUE.url;

/** Every command sent through the shared SQS client, answered locally. */
const sent: { command: string; input: Record<string, unknown> }[] = [];

const Message = z.object({ id: z.string(), outcome: z.enum(["ok", "retry", "permanent"]) });
const definition = (fifo: boolean) =>
  defineFunction({ name: "backoff-test", description: "", entry: __filename, trigger: { kind: "sqs", fifo, message: Message }, links: {}, settings: z.object({}) });
const processMessage = async (message: z.output<typeof Message>) => {
  if (message.outcome === "retry") throw new Error(`retry ${message.id}`);
  if (message.outcome === "permanent") throw new PermanentFailure(`permanent ${message.id}`);
};

const record = (id: string, outcome: "ok" | "retry" | "permanent", receiveCount: number, group?: string) => sqsRecord(id, { id, outcome }, { receiveCount, ...(group ? { group } : {}) });

const lambdaContext = { awsRequestId: "req-1", functionName: "backoff-test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** The visibility changes the handler sent: receipt handle → seconds, one map per batch call. */
const visibilityBatches = () =>
  sent
    .filter((c) => c.command === "ChangeMessageVisibilityBatchCommand")
    .map((c) => {
      expect(c.input.QueueUrl).toBe(QUEUE_URL);
      return Object.fromEntries((c.input.Entries as { ReceiptHandle: string; VisibilityTimeout: number }[]).map((e) => [e.ReceiptHandle, e.VisibilityTimeout]));
    });

beforeAll(() => {
  // High enough that no receive count used here exhausts a message.
  setSqsFunctionEnvironment(1000);
  stubSqs(sqsClient(), sent);
  // The runtime's JSON log lines are not under test.
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
beforeEach(() => {
  sent.length = 0;
});
afterAll(() => vi.restoreAllMocks());

describe("retryBackoffSeconds", () => {
  it("doubles from 1 s with each receive: 1, 2, 4, 8, 16, 32", () => {
    expect([1, 2, 3, 4, 5, 6].map(retryBackoffSeconds)).toEqual([1, 2, 4, 8, 16, 32]);
  });
  it("is capped at 60 s from the 7th receive on", () => {
    expect([7, 8, 10, 50, 1000].map(retryBackoffSeconds)).toEqual([60, 60, 60, 60, 60]);
  });
  it("treats a missing or nonsensical count as the first receive", () => {
    expect([0, -3].map(retryBackoffSeconds)).toEqual([1, 1]);
  });
});

describe("visibility of failed messages after a batch", () => {
  it("standard queue: each retryable failure gets its own backoff; successes and dead-lettered messages are left alone", async () => {
    const handler = sqsHandler(definition(false), processMessage);
    const response = await handler(
      {
        Records: [
          record("a", "retry", 1),
          record("b", "ok", 1),
          record("c", "retry", 3),
          record("d", "permanent", 2),
          record("e", "retry", 7),
          record("f", "retry", 12),
        ],
      },
      lambdaContext,
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["a", "c", "e", "f"]);
    expect(visibilityBatches()).toEqual([{ "rh-a": 1, "rh-c": 4, "rh-e": 60, "rh-f": 60 }]);
    // The permanent failure went to the DLQ, not back to the queue.
    expect(sent.filter((c) => c.command === "SendMessageCommand").map((c) => c.input.QueueUrl)).toEqual([DLQ_URL]);
  });

  it("FIFO: every failed message of a group gets the group's longest backoff; other groups keep their own", async () => {
    const handler = sqsHandler(definition(true), processMessage);
    // g1: "g1-a" fails on its 2nd receive (2 s); "g1-b" and "g1-c" are skipped after it, received
    // 5 and 3 times (16 s, 4 s): the whole group waits 16 s — the longest, neither the first nor the
    // last. g2 fails on its 1st receive (1 s).
    const response = await handler(
      { Records: [record("g1-a", "retry", 2, "g1"), record("g1-b", "ok", 5, "g1"), record("g1-c", "ok", 3, "g1"), record("g2-a", "retry", 1, "g2"), record("g3-a", "ok", 9, "g3")] },
      lambdaContext,
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["g1-a", "g1-b", "g1-c", "g2-a"]);
    expect(visibilityBatches()).toEqual([{ "rh-g1-a": 16, "rh-g1-b": 16, "rh-g1-c": 16, "rh-g2-a": 1 }]);
  });

  it("sends at most 10 entries per ChangeMessageVisibilityBatch call", async () => {
    const handler = sqsHandler(definition(false), processMessage);
    const records = Array.from({ length: 12 }, (_, i) => record(`m${i}`, "retry", i + 1));
    await handler({ Records: records }, lambdaContext);
    expect(visibilityBatches()).toEqual([
      { "rh-m0": 1, "rh-m1": 2, "rh-m2": 4, "rh-m3": 8, "rh-m4": 16, "rh-m5": 32, "rh-m6": 60, "rh-m7": 60, "rh-m8": 60, "rh-m9": 60 },
      { "rh-m10": 60, "rh-m11": 60 },
    ]);
  });

  it("changes no visibility when nothing failed", async () => {
    const handler = sqsHandler(definition(false), processMessage);
    const response = await handler({ Records: [record("a", "ok", 3), record("b", "permanent", 1)] }, lambdaContext);
    expect(response.batchItemFailures).toEqual([]);
    expect(visibilityBatches()).toEqual([]);
  });
});
