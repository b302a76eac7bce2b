/**
 * The bus's routes: transaction type → its queue's name and its consumer. Adding a transaction type
 * is one line here (plus its schema and handler in `functions/transactions/`).
 */
import type { FunctionDefinition } from "../../functions/lib/define";
import { bankAccountSetup } from "../../functions/transactions/bank-account-setup/definition";
import { payment } from "../../functions/transactions/payment/definition";

export interface TransactionRoute {
  /** Queue name between the stack prefix and `.fifo` (the DLQ adds `-dlq`). */
  queue: string;
  /** The consumer function. */
  consumer: FunctionDefinition;
}

export const TRANSACTION_ROUTES = {
  bank_account_setup: { queue: "bank-account-setup", consumer: bankAccountSetup },
  payment: { queue: "payment-processing", consumer: payment },
} satisfies Record<string, TransactionRoute>;

export type TransactionType = keyof typeof TRANSACTION_ROUTES;
export const TRANSACTION_TYPES = Object.keys(TRANSACTION_ROUTES) as [TransactionType, ...TransactionType[]];
