import { describe, expect, it } from "vitest";
import { Transaction, hasAtMostTwoDecimals, isValidAbaRoutingNumber } from "../../../functions/transactions/schemas";
import { InvalidTransactionError, toPublishRequest } from "../../../functions/transactions/publisher";

const setup = {
  transaction_id: "759a0edb-461d-4a3c-a2d5-384b570d4121",
  customer_id: "CUST-WORKFLOW-001",
  transaction_type: "bank_account_setup",
  timestamp: "2025-08-29T17:30:00.000Z",
  bank_account: { account_holder: "Jane Doe", routing_number: "021000021", account_number: "000123456789", account_type: "checking" },
};
const payment = {
  transaction_id: "c05e6e0c-6feb-4891-8940-46f2f85e0df1",
  customer_id: "CUST-WORKFLOW-001",
  transaction_type: "payment",
  timestamp: "2025-08-29T17:30:01.000Z",
  amount: 250.75,
  currency: "USD",
};

describe("transaction contract", () => {
  it("accepts the DESIGN.md examples", () => {
    expect(Transaction.parse(setup).transaction_type).toBe("bank_account_setup");
    expect(Transaction.parse(payment).transaction_type).toBe("payment");
  });

  it("normalises timestamps so that they compare as strings", () => {
    expect(Transaction.parse({ ...payment, timestamp: "2025-08-29T17:30:00.5Z" }).timestamp).toBe("2025-08-29T17:30:00.500Z");
    expect(Transaction.parse({ ...payment, timestamp: "2025-08-29T17:30:00Z" }).timestamp).toBe("2025-08-29T17:30:00.000Z");
  });

  it("checks the ABA routing checksum", () => {
    expect(isValidAbaRoutingNumber("021000021")).toBe(true);
    expect(isValidAbaRoutingNumber("011000015")).toBe(true);
    expect(isValidAbaRoutingNumber("021000022")).toBe(false);
    expect(isValidAbaRoutingNumber("02100002")).toBe(false);
  });

  it("checks amounts in cents", () => {
    expect(hasAtMostTwoDecimals(250.75)).toBe(true);
    expect(hasAtMostTwoDecimals(0.1 + 0.2)).toBe(true); // 0.30000000000000004 is 0.30 in cents
    expect(hasAtMostTwoDecimals(0.301)).toBe(false);
    expect(hasAtMostTwoDecimals(19.999)).toBe(false);
    // Found by tests/fuzz/tx-cli.fuzz.test.ts: an absolute tolerance of 1e-6 cents accepted these,
    // and the payment consumer applied 0.000000001 as a 0-cent payment with a ledger row.
    expect(hasAtMostTwoDecimals(0.000000001)).toBe(false);
    expect(hasAtMostTwoDecimals(5.000000001)).toBe(false);
    expect(hasAtMostTwoDecimals(1e-12)).toBe(false);
    expect(hasAtMostTwoDecimals(999999999.99)).toBe(true);
    expect(hasAtMostTwoDecimals(1e9 + 0.1 + 0.2)).toBe(true); // rounding error of a large sum
    // The absolute tolerance also refused about 1 in 10 two-decimal amounts above 1e10 (found by
    // tests/fuzz/bus.fuzz.test.ts: "validation" where an over-the-limit payment is "permanent").
    expect(hasAtMostTwoDecimals(341969216623.4)).toBe(true);
    expect(hasAtMostTwoDecimals(551824018110.8)).toBe(true);
    for (let cents = 0; cents <= 100_000; cents += 7) expect(hasAtMostTwoDecimals(cents / 100)).toBe(true);
  });

  it("names every offending field", () => {
    const bad = { ...setup, bank_account: { ...setup.bank_account, routing_number: "021000022", account_number: "12", account_type: "brokerage" } };
    expect(() => toPublishRequest(bad)).toThrow(InvalidTransactionError);
    try {
      toPublishRequest(bad);
    } catch (error) {
      const fields = (error as InvalidTransactionError).issues.map((i) => i.path);
      expect(fields).toEqual(["bank_account.routing_number", "bank_account.account_number", "bank_account.account_type"]);
      expect((error as Error).message).toContain("bank_account.routing_number: fails the ABA routing number checksum");
    }
    expect(() => toPublishRequest({ ...payment, amount: -1 })).toThrow("amount: must be positive");
    expect(() => toPublishRequest({ ...payment, amount: 1.005 })).toThrow("amount: must have at most 2 decimal places");
    expect(() => toPublishRequest({ ...payment, amount: 0.000000001 })).toThrow("amount: must have at most 2 decimal places");
    expect(() => toPublishRequest({ ...payment, transaction_id: "nope" })).toThrow("transaction_id: must be a UUID");
  });

  it("sets the FIFO fields and routing attributes", () => {
    const request = toPublishRequest(payment);
    expect(request.MessageGroupId).toBe("CUST-WORKFLOW-001");
    expect(request.MessageDeduplicationId).toBe(payment.transaction_id);
    expect(request.MessageAttributes.transaction_type).toEqual({ DataType: "String", StringValue: "payment" });
    expect(request.MessageAttributes.customer_id?.StringValue).toBe("CUST-WORKFLOW-001");
    expect(request.MessageAttributes.message_group_id?.StringValue).toBe("CUST-WORKFLOW-001");
    expect(JSON.parse(request.Message)).toEqual(payment);
  });
});
