/**
 * The AWS JSON 1.0 protocol as the Step Functions API speaks it: request bodies and their
 * fields (untrusted JSON, refused with AWS's validation errors), payload limits, epoch-second
 * dates, `nextToken` paging, and the wire form of the descriptions the API returns.
 */
import { StepFunctionsApiError } from "./errors";
import type { ExecutionDescription, MachineRecord } from "./store";

/** Request fields are untrusted JSON; these read them with AWS's validation errors. */
export type Body = Record<string, unknown>;

/** AWS's cap on an execution's input and output. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** A JSON payload (definition, execution input), within AWS's size cap, or the given API error. */
export function parsePayload(text: string, errorType: string): unknown {
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new StepFunctionsApiError(errorType, `Payload larger than ${MAX_PAYLOAD_BYTES} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StepFunctionsApiError(errorType, `Invalid JSON: ${(error as Error).message}`);
  }
}

/** A request body's text as the JSON object the API reads (empty: `{}`); throws the API's SerializationException. */
export function parseJsonBody(text: string): Body {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StepFunctionsApiError("SerializationException", "Request body is not valid JSON");
  }
  if (!isObject(parsed)) throw new StepFunctionsApiError("SerializationException", "Request body must be a JSON object");
  return parsed;
}

/** A required, non-empty string field. */
export function requireString(body: Body, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") {
    throw new StepFunctionsApiError("ValidationException", `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** An optional string field (`null` counts as absent). */
export function optionalString(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new StepFunctionsApiError("ValidationException", `Value at '${key}' must be a string`);
  return value;
}

/** AWS names: 1–80 characters, no whitespace, brackets, wildcards, punctuation or control characters. */
export function requireName(body: Body, key: string): string {
  const name = requireString(body, key);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what AWS rejects
  if (name.length > 80 || /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new StepFunctionsApiError("InvalidName", `Invalid Name: '${name}'`);
  }
  return name;
}

/** `maxResults`/`nextToken` paging; the token is an opaque offset. */
export function paginate<T>(items: T[], body: Body, key: string): Body {
  const maxResults = typeof body.maxResults === "number" && body.maxResults > 0 ? Math.min(body.maxResults, 1000) : 100;
  const start = typeof body.nextToken === "string" ? Number.parseInt(Buffer.from(body.nextToken, "base64").toString(), 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw new StepFunctionsApiError("InvalidToken", "Invalid nextToken");
  const page = items.slice(start, start + maxResults);
  const next = start + maxResults < items.length ? Buffer.from(String(start + maxResults)).toString("base64") : undefined;
  return { [key]: page, ...(next ? { nextToken: next } : {}) };
}

/** The AWS JSON protocol sends timestamps as fractional epoch seconds. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** DescribeStateMachine's answer. */
export function describeMachine(m: MachineRecord): Body {
  return { stateMachineArn: m.arn, name: m.name, status: "ACTIVE", definition: m.definition, roleArn: m.roleArn, type: m.type, creationDate: epochSeconds(m.creationDate) };
}

/** DescribeExecution's wire form: epoch-second dates, and the `*Details` AWS always sends. */
export function toWire(d: ExecutionDescription): Body {
  return {
    executionArn: d.executionArn,
    stateMachineArn: d.stateMachineArn,
    name: d.name,
    status: d.status,
    startDate: epochSeconds(d.startDate),
    ...(d.stopDate ? { stopDate: epochSeconds(d.stopDate) } : {}),
    input: d.input,
    inputDetails: { included: true },
    ...(d.output !== undefined ? { output: d.output, outputDetails: { included: true } } : {}),
    ...(d.error !== undefined ? { error: d.error } : {}),
    ...(d.cause !== undefined ? { cause: d.cause } : {}),
    redriveCount: 0,
    redriveStatus: "NOT_REDRIVABLE",
  };
}

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
