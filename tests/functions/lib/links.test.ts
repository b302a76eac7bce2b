import { describe, expect, it } from "vitest";
import { link, linkEnvName, resolveLinks } from "../../../functions/lib/links";
import { defineFunction, readSettings } from "../../../functions/lib/define";
import { z } from "zod";

describe("links at run time", () => {
  const links = { payments: link.table("readWrite"), fulfillmentQueue: link.queue("send") };
  const env = {
    LINK_PAYMENTS: JSON.stringify({ name: "payments", arn: "arn:aws:dynamodb:us-east-2:1:table/payments" }),
    LINK_FULFILLMENT_QUEUE: JSON.stringify({ url: "https://sqs/1/q", arn: "arn:aws:sqs:us-east-2:1:q" }),
  };

  it("names environment variables after the link", () => {
    expect(linkEnvName("payments")).toBe("LINK_PAYMENTS");
    expect(linkEnvName("fulfillmentQueue")).toBe("LINK_FULFILLMENT_QUEUE");
  });

  it("gives typed values of declared links", () => {
    const resolved = resolveLinks("fn", links, env);
    expect(resolved.payments.name).toBe("payments");
    expect(resolved.fulfillmentQueue.url).toBe("https://sqs/1/q");
    expect(Object.keys(resolved)).toEqual(["payments", "fulfillmentQueue"]);
  });

  it("refuses a link the function did not declare", () => {
    const resolved = resolveLinks("payment-processing", links, env) as Record<string, unknown>;
    expect(() => resolved.orders).toThrow('Function "payment-processing" is not linked to "orders". Linked: payments, fulfillmentQueue.');
  });

  it("fails clearly when a declared link was not deployed", () => {
    const resolved = resolveLinks("fn", links, {});
    expect(() => resolved.payments).toThrow('declares link "payments" but LINK_PAYMENTS is not set');
    const partial = resolveLinks("fn", links, { LINK_PAYMENTS: JSON.stringify({ name: "t" }) });
    expect(() => partial.payments).toThrow('link "payments" (table) has no "arn"');
  });
});

describe("parameter links", () => {
  it("carry the parameter's name and ARN, never its value, and need both", () => {
    const links = { fingerprintKey: link.parameter() };
    expect(links.fingerprintKey).toEqual({ kind: "parameter", access: "read" });
    const value = { name: "/app-dev/key", arn: "arn:aws:ssm:us-east-2:1:parameter/app-dev/key" };
    expect(resolveLinks("fn", links, { LINK_FINGERPRINT_KEY: JSON.stringify(value) }).fingerprintKey).toEqual(value);
    expect(() => resolveLinks("fn", links, { LINK_FINGERPRINT_KEY: JSON.stringify({ arn: value.arn }) }).fingerprintKey).toThrow('link "fingerprintKey" (parameter) has no "name"');
  });
});

describe("definitions", () => {
  it("adds the SQS trigger's own links and reserves their names", () => {
    const def = defineFunction({ name: "x-consumer", description: "", entry: "/x.ts", trigger: { kind: "sqs", fifo: true, message: z.object({}) }, links: {}, settings: z.object({}) });
    expect(def.links).toEqual({ source: { kind: "queue", access: "consume" }, deadLetter: { kind: "queue", access: "send" } });
    expect(() =>
      defineFunction({ name: "y-consumer", description: "", entry: "/y.ts", trigger: { kind: "sqs", fifo: true, message: z.object({}) }, links: { source: link.topic() }, settings: z.object({}) }),
    ).toThrow(new Error('Function "y-consumer": link name "source" is reserved for its SQS trigger'));
    expect(() =>
      defineFunction({ name: "z-consumer", description: "", entry: "/z.ts", trigger: { kind: "sqs", fifo: true, message: z.object({}) }, links: { deadLetter: link.topic() }, settings: z.object({}) }),
    ).toThrow(new Error('Function "z-consumer": link name "deadLetter" is reserved for its SQS trigger'));
  });

  it("validates settings at cold start with the setting's name", () => {
    const def = { name: "payment-processing", settings: z.object({ paymentLimit: z.number().positive() }) };
    expect(readSettings(def, { FUNCTION_SETTINGS: '{"paymentLimit": 100}' })).toEqual({ paymentLimit: 100 });
    expect(() => readSettings(def, { FUNCTION_SETTINGS: '{"paymentLimit": -1}' })).toThrow('Function "payment-processing" has invalid settings in FUNCTION_SETTINGS: paymentLimit:');
  });
});

describe("links, exactly", () => {
  const all = { jobs: link.queue("send"), events: link.topic(), workflow: link.stateMachine(), orders: link.table("read") };
  const env = {
    LINK_JOBS: JSON.stringify({ url: "https://sqs/1/jobs", arn: "arn:aws:sqs:us-east-2:1:jobs" }),
    LINK_EVENTS: JSON.stringify({ arn: "arn:aws:sns:us-east-2:1:events" }),
    LINK_WORKFLOW: JSON.stringify({ arn: "arn:aws:states:us-east-2:1:stateMachine:w" }),
    LINK_ORDERS: "{not json",
  };

  it("declares a topic link for publishing", () => {
    expect(link.topic()).toEqual({ kind: "topic", access: "publish" });
  });

  it("needs each kind's fields as non-empty strings", () => {
    const missing = (name: string, value: unknown) => () => (resolveLinks("fn", all, { ...env, [linkEnvName(name)]: JSON.stringify(value) }) as Record<string, unknown>)[name];
    expect(missing("jobs", { arn: "a" })).toThrow('Function "fn": link "jobs" (queue) has no "url" in LINK_JOBS');
    expect(missing("jobs", { url: "u", arn: "" })).toThrow('link "jobs" (queue) has no "arn"');
    expect(missing("events", { arn: 5 })).toThrow('link "events" (topic) has no "arn" in LINK_EVENTS');
    expect(missing("workflow", {})).toThrow('link "workflow" (stateMachine) has no "arn" in LINK_WORKFLOW');
    const resolved = resolveLinks("fn", all, env);
    expect([resolved.jobs, resolved.events, resolved.workflow]).toEqual([JSON.parse(env.LINK_JOBS), JSON.parse(env.LINK_EVENTS), JSON.parse(env.LINK_WORKFLOW)]);
  });

  it("names a value that is not JSON, with its start", () => {
    expect(() => resolveLinks("fn", all, env).orders).toThrow('Function "fn": LINK_ORDERS is not JSON: {not json');
    expect(() => resolveLinks("fn", all, { LINK_ORDERS: `x${"y".repeat(100)}` }).orders).toThrow(new Error(`Function "fn": LINK_ORDERS is not JSON: x${"y".repeat(79)}`));
  });

  it("is no thenable and serializes as its links, read once each", () => {
    const counting = { ...env };
    const resolved = resolveLinks("fn", { jobs: all.jobs }, counting) as Record<string, unknown>;
    expect(resolved.then).toBeUndefined();
    expect(resolved.toJSON).toBeUndefined();
    expect(JSON.parse(JSON.stringify(resolved))).toEqual({ jobs: JSON.parse(env.LINK_JOBS) });
    const first = resolved.jobs;
    counting.LINK_JOBS = JSON.stringify({ url: "https://sqs/1/other", arn: "arn:aws:sqs:us-east-2:1:other" });
    expect(resolved.jobs).toBe(first);
    expect(Object.getOwnPropertyDescriptor(resolved, "jobs")).toEqual({ enumerable: true, configurable: true, value: undefined, writable: false });
    expect(Object.getOwnPropertyDescriptor(resolved, "nope")).toBeUndefined();
    expect(() => (resolveLinks("bare", {}, {}) as Record<string, unknown>).nothing).toThrow('Function "bare" is not linked to "nothing". Linked: (none). Add it to the links of its definition so it is granted access.');
  });
});

describe("definitions, exactly", () => {
  const define = (name: string, kind: "task" | "sqs" = "task") =>
    defineFunction({ name, description: "", entry: "/x.ts", trigger: kind === "sqs" ? { kind, fifo: false, message: z.object({}) } : { kind, input: z.object({}) }, links: { source: link.topic() }, settings: z.object({}) });

  it("takes 2-41 lowercase letters, digits or dashes, starting with a letter", () => {
    expect(define("ab").name).toBe("ab");
    expect(define(`a${"b".repeat(40)}`).name).toHaveLength(41);
    for (const bad of ["a", `a${"b".repeat(41)}`, "9ab", "Ab", "ab!", "-ab"]) {
      expect(() => define(bad), bad).toThrow(`Function name "${bad}" must be 2-41 lowercase letters, digits or dashes, starting with a letter`);
    }
  });

  it("adds no links to a function that is not SQS-triggered, and may name one source", () => {
    expect(define("a-task").links).toEqual({ source: { kind: "topic", access: "publish" } });
  });

  it("names settings that are not JSON, and the root of a wrong value", () => {
    const def = { name: "fn", settings: z.object({ limit: z.number() }) };
    expect(() => readSettings(def, { FUNCTION_SETTINGS: "{" })).toThrow(new Error('Function "fn": FUNCTION_SETTINGS is not JSON'));
    expect(() => readSettings(def, { FUNCTION_SETTINGS: "5" })).toThrow(new Error('Function "fn" has invalid settings in FUNCTION_SETTINGS: (root): Invalid input: expected object, received number'));
    expect(() => readSettings(def, { FUNCTION_SETTINGS: '{"limit": "x", "other": 1}' })).toThrow(new Error('Function "fn" has invalid settings in FUNCTION_SETTINGS: limit: Invalid input: expected number, received string'));
    expect(readSettings({ name: "fn", settings: z.object({}) }, {})).toEqual({});
  });

  it("names every invalid setting, a nested one by its dotted path", () => {
    const def = { name: "fn", settings: z.object({ bank: z.object({ limit: z.number() }), region: z.string() }) };
    expect(() => readSettings(def, { FUNCTION_SETTINGS: '{"bank": {"limit": "x"}}' })).toThrow(
      new Error('Function "fn" has invalid settings in FUNCTION_SETTINGS: bank.limit: Invalid input: expected number, received string; region: Invalid input: expected string, received undefined'),
    );
  });
});
