/**
 * The bus's public message contract (DESIGN.md, "Transaction messages"): every publisher and every
 * consumer validates against these schemas. Fields may be added; these may not be renamed.
 */
import * as z from "../lib/zod-mini";

/** ABA routing number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function isValidAbaRoutingNumber(routing: string): boolean {
  if (!/^\d{9}$/.test(routing)) return false;
  const d = [...routing].map(Number) as number[];
  const sum = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!);
  return sum % 10 === 0;
}

/**
 * True when `amount` has at most two decimal places, checked in cents: `amount × 100` must be a whole
 * number of cents up to binary floating point's rounding error (a few units in its last place, so
 * 0.1 + 0.2 is 0.30), and no more. (An absolute tolerance of 1e-6 cents let 0.000000001 through, a
 * payment applied as 0 cents, and 5.000000001.)
 */
export function hasAtMostTwoDecimals(amount: number): boolean {
  const cents = amount * 100;
  return Math.abs(cents - Math.round(cents)) <= 4 * Number.EPSILON * Math.max(1, Math.abs(cents));
}

/** Customer ids are FIFO message group ids too, so they follow SQS's group id rules (≤128 chars). */
export const CustomerId = z
  .string()
  .check(z.minLength(1, "must not be empty"), z.maxLength(128, "must be at most 128 characters"), z.regex(/^[A-Za-z0-9_.:-]+$/, "may hold only letters, digits and _ . : -"));

const Envelope = {
  transaction_id: z.uuid("must be a UUID"),
  customer_id: CustomerId,
  // Normalised to milliseconds precision: handlers compare timestamps as strings.
  timestamp: z.pipe(
    z.iso.datetime({ message: "must be an ISO-8601 UTC timestamp" }),
    z.transform((t: string) => new Date(t).toISOString()),
  ),
};

export const BankAccount = z.object({
  account_holder: z.string().check(z.trim(), z.minLength(1, "must not be empty"), z.maxLength(100, "must be at most 100 characters")),
  routing_number: z.string().check(z.regex(/^\d{9}$/, "must be 9 digits"), z.refine(isValidAbaRoutingNumber, "fails the ABA routing number checksum")),
  account_number: z.string().check(z.regex(/^\d{4,17}$/, "must be 4 to 17 digits")),
  account_type: z.enum(["checking", "savings"], "must be checking or savings"),
});

export const BankAccountSetupTransaction = z.object({
  ...Envelope,
  transaction_type: z.literal("bank_account_setup"),
  bank_account: BankAccount,
});
export type BankAccountSetupTransaction = z.infer<typeof BankAccountSetupTransaction>;

export const PaymentTransaction = z.object({
  ...Envelope,
  transaction_type: z.literal("payment"),
  amount: z.number().check(z.positive("must be positive"), z.refine(hasAtMostTwoDecimals, "must have at most 2 decimal places")),
  currency: z._default(z.string().check(z.regex(/^[A-Z]{3}$/, "must be an ISO-4217 code such as USD")), "USD"),
});
export type PaymentTransaction = z.infer<typeof PaymentTransaction>;

/** Any transaction the bus carries, by `transaction_type`. */
export const Transaction = z.discriminatedUnion("transaction_type", [BankAccountSetupTransaction, PaymentTransaction]);
export type Transaction = z.infer<typeof Transaction>;
export type TransactionInput = z.input<typeof Transaction>;
