// The fault spec: one line, parsed exactly, refused with the clause and the reason.
import { describe, expect, it } from "vitest";
import { FaultSpecError, formatFaultSpec, noFaults, parseFaultSpec } from "../../../local/faults/spec";

describe("parseFaultSpec", () => {
  it("reads every target and fault kind", () => {
    expect(parseFaultSpec(" functions=crash:0.05, throw:0.1 ; function:dofs-dev-orders-api=throttle:1 ; dynamodb=throttle:0.1,error:0.02,latency:20-80ms:0.5 ; sqs=error:0.05 ; sns=latency:5ms ; stepfunctions=error:0.25 ; seed=42")).toEqual({
      functions: { crash: 0.05, throw: 0.1 },
      function: { "dofs-dev-orders-api": { throttle: 1 } },
      services: {
        dynamodb: { faults: { throttle: 0.1, error: 0.02 }, latency: { minMs: 20, maxMs: 80, probability: 0.5 } },
        sqs: { faults: { error: 0.05 } },
        sns: { faults: {}, latency: { minMs: 5, maxMs: 5, probability: 1 } },
        stepfunctions: { faults: { error: 0.25 } },
      },
      seed: 42,
    });
  });

  it("reads the empty spec as no faults, and formats a spec back to what it parses from", () => {
    expect(parseFaultSpec("")).toEqual(noFaults());
    const spec = parseFaultSpec("functions=timeout:0.5;function:f=crash:0.2;dynamodb=throttle:0.1,latency:1-2ms:0.3;seed=9");
    expect(formatFaultSpec(spec)).toBe("functions=timeout:0.5;function:f=crash:0.2;dynamodb=throttle:0.1,latency:1-2ms:0.3;seed=9");
    expect(parseFaultSpec(formatFaultSpec(spec))).toEqual(spec);
  });

  it.each([
    ["functions", 'Invalid fault spec: "functions" must be <target>=<faults> or seed=<integer>'],
    ["functions=", "Invalid fault spec: functions: no faults given"],
    ["lambda=crash:0.1", 'Invalid fault spec: unknown target "lambda" (functions, function:<name>, dynamodb, sqs, sns, stepfunctions, seed)'],
    ["function:=crash:0.1", 'Invalid fault spec: unknown target "function:" (functions, function:<name>, dynamodb, sqs, sns, stepfunctions, seed)'],
    ["functions=explode:0.1", 'Invalid fault spec: functions: unknown function fault "explode" (one of crash, timeout, throw, throttle)'],
    ["functions=crash", 'Invalid fault spec: functions: "crash" must be <fault>:<probability>'],
    ["functions=crash:1.5", 'Invalid fault spec: functions crash: probability "1.5" is not a number from 0 to 1'],
    ["functions=crash:-0.1", 'Invalid fault spec: functions crash: probability "-0.1" is not a number from 0 to 1'],
    ["functions=crash:0.6,throw:0.6", "Invalid fault spec: functions: the probabilities add up to 1.2, more than 1"],
    ["sqs=throttle:0.1", "Invalid fault spec: sqs: throttle is a DynamoDB fault; sqs has error and latency"],
    ["sns=drop:0.1", 'Invalid fault spec: sns: unknown service fault "drop" (one of error, latency)'],
    ["dynamodb=latency:80-20ms", "Invalid fault spec: dynamodb: latency 80-20ms has its maximum below its minimum"],
    ["dynamodb=latency:fast", 'Invalid fault spec: dynamodb: latency "fast" must look like 50ms, 20-80ms or 20-80ms:0.5'],
    ["dynamodb=latency:90000ms", "Invalid fault spec: dynamodb: latency up to 90000ms is over the 60000ms limit"],
    ["seed=-3", 'Invalid fault spec: seed "-3" is not a non-negative integer'],
  ])("refuses %j", (text, message) => {
    expect(() => parseFaultSpec(text)).toThrow(new FaultSpecError(message.replace("Invalid fault spec: ", "")));
    expect(() => parseFaultSpec(text)).toThrow(message);
  });
});
