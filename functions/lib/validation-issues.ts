/**
 * How a schema mismatch reads in a log line, a span and a dead-letter reason: every zod issue as
 * `<path>: <message>`, joined by `; `. Shared by the SQS runtime (`sqs-handler.ts`, the reason a
 * message goes to the dead-letter queue) and the Step Functions task runtime (`task-handler.ts`,
 * the message of the `ValidationError`), so neither imports the other.
 */
import type * as z from "./zod-mini";

/** `bank_account.routing_number: fails the ABA checksum; amount: must be positive` */
export function describeIssues(error: z.$ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "(body)"}: ${i.message}`).join("; ");
}
