/**
 * The whole program as a function of the stack's settings: both units and the stack outputs
 * (DESIGN.md, "Stack outputs"). `index.ts` runs it for `pulumi up`; the tests, the policy runner and
 * the local cloud run it under the mock runtime.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./config";
import { FifoTransactionBus } from "./fifo-transaction-bus";

/** The stack outputs. Names and shapes are a contract: add, never rename. */
export interface StackOutputs {
  region: string;
  transactionTopicArn: pulumi.Output<string>;
  transactionQueueUrls: pulumi.Output<Record<string, string>>;
  transactionDlqUrls: pulumi.Output<Record<string, string>>;
  bankAccountsTable: pulumi.Output<string>;
  paymentsTable: pulumi.Output<string>;
}

export function program(settings: StackSettings): StackOutputs {
  const bus = new FifoTransactionBus("transactions", { settings });
  return {
    region: settings.region,
    transactionTopicArn: bus.topic.arn,
    transactionQueueUrls: bus.queueUrls,
    transactionDlqUrls: bus.deadLetterQueueUrls,
    bankAccountsTable: bus.bankAccountsTable.name,
    paymentsTable: bus.paymentsTable.name,
  };
}
