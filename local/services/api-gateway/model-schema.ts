/**
 * Request models: a model's JSON Schema compiled into the validation function the request
 * validator calls, with error messages worded like API Gateway's own validator, because clients
 * and gateway response templates (`$context.error.validationErrorString`) see them.
 */
import { z } from "zod";

/**
 * A JSON Schema (draft-04, as API Gateway models are written) as a validation function. Throws
 * when the schema uses something the converter does not support: better at start-up than silently
 * accepting every body.
 *
 * Missing properties and wrong types are worded like API Gateway's validator (json-schema-validator:
 * `object has missing required properties (["items"])`, `instance type (string) does not match any
 * allowed primitive type (allowed: ["integer"])`), quotes included, each followed by where
 * (`at /items/0`).
 */
export function compileModelSchema(schema: unknown): (value: unknown) => string[] {
  const parsed = typeof schema === "string" ? (JSON.parse(schema) as unknown) : schema;
  const type = z.fromJSONSchema(parsed as never, { defaultTarget: "draft-4" });
  return (value) => {
    const result = type.safeParse(value);
    if (result.success) return [];
    const missing = new Map<string, string[]>();
    const messages: string[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      const at = (parts: string[]) => `/${parts.join("/")}`;
      if (issue.code === "invalid_type" && valueAt(value, path) === undefined && path.length > 0) {
        const parent = at(path.slice(0, -1));
        missing.set(parent, [...(missing.get(parent) ?? []), path.at(-1)!]);
      } else if (issue.code === "invalid_type") {
        const expected = schemaAt(parsed, path)?.type ?? issue.expected;
        messages.push(`instance type (${jsonType(valueAt(value, path))}) does not match any allowed primitive type (allowed: ${JSON.stringify([expected].flat())}) at ${at(path)}`);
      } else {
        messages.push(`${issue.message} at ${at(path)}`);
      }
    }
    return [...[...missing].map(([parent, names]) => `object has missing required properties (${JSON.stringify(names)}) at ${parent}`), ...messages];
  };
}

function valueAt(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined), value);
}

/** The subschema at a value path (through `properties` and `items`). */
function schemaAt(schema: unknown, path: string[]): { type?: string | string[] } | undefined {
  let current = schema as { type?: string | string[]; properties?: Record<string, unknown>; items?: unknown } | undefined;
  for (const key of path) current = (/^\d+$/.test(key) ? current?.items : current?.properties?.[key]) as typeof current;
  return current;
}

/** The JSON Schema primitive type of a value, as the validator names it. */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}
