import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { link } from "../../lib/links";
import { PaymentTransaction } from "../schemas";

/** Applies a payment to the customer's balance once, and writes its ledger row. */
export const payment = defineFunction({
  name: "payment-processing",
  description: "Applies payments to customer balances with a ledger row each, once per transaction",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "sqs", fifo: true, message: PaymentTransaction },
  links: { payments: link.table("readWrite"), bankAccounts: link.table("read") },
  settings: z.object({
    /** The largest single payment accepted. */
    paymentLimit: z.number().check(z.positive()),
  }),
});
