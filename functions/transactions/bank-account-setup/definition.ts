import * as path from "node:path";
import * as z from "../../lib/zod-mini";
import { defineFunction } from "../../lib/define";
import { link } from "../../lib/links";
import { BankAccountSetupTransaction } from "../schemas";

/** Stores a customer's active bank account (last four digits and a keyed fingerprint only). */
export const bankAccountSetup = defineFunction({
  name: "bank-account-setup",
  description: "Validates bank account setups and stores the customer's active account and its history",
  entry: path.join(__dirname, "handler.ts"),
  trigger: { kind: "sqs", fifo: true, message: BankAccountSetupTransaction },
  links: {
    bankAccounts: link.table("readWrite"),
    /**
     * The HMAC-SHA256 key of the account fingerprint: an SSM SecureString with its own KMS key,
     * read at cold start (never in the function's configuration).
     */
    fingerprintKey: link.parameter(),
  },
  settings: z.object({}),
});
