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
