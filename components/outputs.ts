/**
 * The stack outputs contract (DESIGN.md, "Stack outputs"), defined once: the values
 * `pulumi stack output --json --show-secrets` prints for a deployed stack, and the local cloud writes
 * to `.local/<stack>/outputs.json`.
 *
 * `program()` (`program.ts`) returns exactly these keys, as Pulumi inputs of these types; the
 * outputs file the tools and the integration suite read (`local/outputs.ts`) extends this schema
 * with the local cloud's own keys. Names and shapes are a contract: add, never rename.
 */
import { z } from "zod";

/** The resolved value of every stack output. Every key is always output, on every stack. */
export const StackOutputsSchema = z.object({
  /** AWS region the stack is deployed to, e.g. `us-east-1`. */
  region: z.string(),
  /** ARN of the FIFO SNS topic every transaction is published to. */
  transactionTopicArn: z.string(),
  /** Transaction type (`bank_account_setup`, `payment`, ...) → the URL of its FIFO queue. */
  transactionQueueUrls: z.record(z.string(), z.string()),
  /** Transaction type → the URL of its queue's dead-letter queue. */
  transactionDlqUrls: z.record(z.string(), z.string()),
  /**
   * Transaction type → the URL of its SNS subscription's dead-letter queue: the messages SNS could
   * not deliver to the type's queue (a queue or key policy that stops it, a deleted queue).
   */
  transactionSubscriptionDlqUrls: z.record(z.string(), z.string()),
  /** Name of the DynamoDB table the bank account setups are written to. */
  bankAccountsTable: z.string(),
  /** Name of the DynamoDB table the payments are written to. */
  paymentsTable: z.string(),
  /** DOFS API base URL, e.g. `https://<id>.execute-api.<region>.amazonaws.com/<stack>`. */
  apiUrl: z.string(),
  /** DOFS API key value (secret): send it as `x-api-key`. */
  apiKey: z.string(),
  /** Name of the DynamoDB table of the orders (`order_id`; index `customer_id-created_at`). */
  ordersTable: z.string(),
  /** Name of the DynamoDB table of the orders whose fulfillment failed (`order_id`). */
  failedOrdersTable: z.string(),
  /** ARN of the order workflow's Step Functions state machine. */
  stateMachineArn: z.string(),
  /** URL of the queue stored orders wait in for fulfillment. */
  fulfillmentQueueUrl: z.string(),
  /** URL of the fulfillment queue's dead-letter queue (its orders are marked FAILED). */
  fulfillmentDlqUrl: z.string(),
  /** URL of the CloudWatch dashboard of both flows. */
  dashboardUrl: z.string(),
  /** ARN of the (encrypted) SNS topic every alarm notifies. */
  alarmTopicArn: z.string(),
});

/** The stack outputs' resolved values (secrets in plain text, as `--show-secrets` prints them). */
export type StackOutputValues = z.infer<typeof StackOutputsSchema>;
