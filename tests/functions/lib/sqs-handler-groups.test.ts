/**
 * FIFO batches in the SQS runtime: the batch's message groups run side by side, each in its own
 * order; a failure fails the rest of its group only; and each record logs with its own keys even
 * while others run (one child logger per record). SQS is a local stub on the shared client.
 */
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { sqsClient } from "../../../functions/lib/aws/sqs";
import { defineFunction } from "../../../functions/lib/define";
import { byMessageGroup, sqsHandler } from "../../../functions/lib/sqs-handler";
import { setSqsFunctionEnvironment, sqsRecord, stubSqs } from "../../support/sqs-stub";

const sent: { command: string; input: Record<string, unknown> }[] = [];

const Message = z.object({ id: z.string(), customer_id: z.string(), fail: z.boolean().optional() });
const definition = defineFunction({
  name: "groups-test",
  description: "",
  entry: __filename,
  trigger: { kind: "sqs", fifo: true, message: Message },
  links: {},
  settings: z.object({}),
});

const record = (id: string, group: string, fail = false) => sqsRecord(id, { id, customer_id: group, ...(fail ? { fail } : {}) }, { group });

const lambdaContext = { awsRequestId: "req-1", functionName: "groups-test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** The JSON log lines the runtime wrote. */
const lines: Record<string, unknown>[] = [];

beforeAll(() => {
  setSqsFunctionEnvironment(1000);
  stubSqs(sqsClient(), sent);
  const capture = (chunk: unknown) => {
    for (const line of String(chunk).split("\n")) {
      if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});
beforeEach(() => {
  sent.length = 0;
  lines.length = 0;
});
afterAll(() => vi.restoreAllMocks());

describe("byMessageGroup", () => {
  it("splits a batch by message group, keeping each group's order", () => {
    const batch = [record("a1", "A"), record("b1", "B"), record("a2", "A"), record("c1", "C"), record("b2", "B")];
    expect(byMessageGroup(batch).map((group) => group.map((r) => r.messageId))).toEqual([["a1", "a2"], ["b1", "b2"], ["c1"]]);
  });

  it("makes a record without a group a group of its own", () => {
    const loose = (id: string) => {
      const r = record(id, "x");
      delete r.attributes.MessageGroupId;
      return r;
    };
    expect(byMessageGroup([loose("m1"), loose("m2")]).map((group) => group.map((r) => r.messageId))).toEqual([["m1"], ["m2"]]);
  });
});

describe("a FIFO batch", () => {
  it("runs its groups side by side, each in order", async () => {
    const events: string[] = [];
    let bStarted!: () => void;
    const bHasStarted = new Promise<void>((resolve) => (bStarted = resolve));
    const handler = sqsHandler(definition, async (message) => {
      events.push(`start ${message.id}`);
      if (message.id === "b1") bStarted();
      // a1 finishes only once b1 has started: one group after the other, b1 would never start.
      if (message.id === "a1") {
        const ranAlone = await Promise.race([bHasStarted.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5000))]);
        if (ranAlone) throw new Error("group B did not start while group A ran: the groups ran one after the other");
      }
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`end ${message.id}`);
    });
    const response = await handler({ Records: [record("a1", "A"), record("a2", "A"), record("b1", "B"), record("b2", "B")] }, lambdaContext);
    expect(response).toEqual({ batchItemFailures: [] });
    // b1 started before a1 ended; within each group, a message starts after the one before it ended.
    expect(events.indexOf("start b1")).toBeLessThan(events.indexOf("end a1"));
    expect(events.indexOf("end a1")).toBeLessThan(events.indexOf("start a2"));
    expect(events.indexOf("end b1")).toBeLessThan(events.indexOf("start b2"));
    expect(events.filter((e) => e.startsWith("end")).sort()).toEqual(["end a1", "end a2", "end b1", "end b2"]);
  });

  it("fails the rest of a failed message's group, and only of its group", async () => {
    const processed: string[] = [];
    const handler = sqsHandler(definition, async (message) => {
      if (message.fail) throw new Error(`cannot process ${message.id}`);
      processed.push(message.id);
    });
    const response = await handler(
      { Records: [record("a1", "A", true), record("b1", "B"), record("a2", "A"), record("b2", "B"), record("c1", "C")] },
      lambdaContext,
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["a1", "a2"]);
    expect(processed.sort()).toEqual(["b1", "b2", "c1"]);
  });

  it("logs each record with its own keys while the records run side by side", async () => {
    const handler = sqsHandler(definition, async (message, { logger }) => {
      logger.appendKeys({ handled_id: message.id });
      // Let the other groups' records append their keys before this one logs.
      await new Promise((resolve) => setTimeout(resolve, 20));
      logger.info("handled");
    });
    await handler({ Records: [record("a1", "A"), record("b1", "B"), record("c1", "C")] }, lambdaContext);
    const handled = lines.filter((line) => line.message === "handled");
    expect(handled.map((line) => [line.message_id, line.handled_id, line.customer_id, line.message_group_id]).sort()).toEqual([
      ["a1", "a1", "A", "A"],
      ["b1", "b1", "B", "B"],
      ["c1", "c1", "C", "C"],
    ]);
    expect(handled.every((line) => line.function_request_id === "req-1")).toBe(true);
  });
});
