/**
 * Fuzzing `npm run tx`'s command line (issue 16, part 4), in process: `main(argv)` of scripts/tx.ts
 * with generated argument arrays. The stack outputs are a stub and `TransactionPublisher.publish`
 * is a spy, so a case publishes nothing and needs no cloud; everything before them (parsing, the
 * contract's validation, the stack check, the exit code, what is printed) runs as it does for a user.
 *
 * Properties:
 * - any argv: the command ends with exit 0 (the usage, or exactly one publish of a transaction of a
 *   type named on the command line) or exit 2 with a one-line message of a known kind (plus the
 *   usage for a usage error) and no publish; never exit 1 (an unexpected error) or a throw;
 * - a valid command line with exactly one defect (a required option missing, one value wrong, an
 *   unknown option, an extra argument, an unknown or missing type, ...): exit 2, no publish, and the
 *   message names the defective option or field;
 * - a valid command line: exit 0, one publish, with exactly the values given.
 */
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { TransactionPublisher } from "../../functions/transactions/publisher";
import { Transaction } from "../../functions/transactions/schemas";
import type * as OutputsModule from "../../local/outputs";
import { TRANSACTION_TYPES, USAGE, main } from "../../scripts/tx";
import { fuzzParameters, oddText, routingNumber, subCentAmount, uuid } from "./support";

vi.mock("../../local/outputs", async (importOriginal) => {
  const actual = await importOriginal<typeof OutputsModule>();
  // A deployed stack's outputs (no local endpoints): main goes straight to the publisher.
  const outputs = {
    region: "us-east-1",
    transactionTopicArn: "arn:aws:sns:us-east-1:000000000000:fuzz.fifo",
  } as unknown as ReturnType<typeof actual.readStackOutputs>;
  return { ...actual, readStackOutputs: () => outputs };
});

type Kind = keyof typeof TRANSACTION_TYPES;
type Option = "customer" | "amount" | "currency" | "holder" | "routing" | "account" | "type" | "transaction-id" | "stack" | "outputs";

/** A command line as options (in order) and the transaction type's position among them. */
interface CommandLine {
  kind: string | undefined;
  options: [Option, string][];
  /** Where the type goes among the options (0 = first). */
  kindAt: number;
  /** Per option: `--name=value` rather than `--name value`. */
  joined: boolean[];
  /** Tokens appended after everything else. */
  tail: string[];
}

function render(line: CommandLine): string[] {
  const groups = line.options.map(([name, value], i) =>
    // A value starting with "-" must be joined (`--customer=-x`): node's parser refuses it as the next argument.
    line.joined[i] || value.startsWith("-") ? [`--${name}=${value}`] : [`--${name}`, value],
  );
  if (line.kind !== undefined) groups.splice(Math.min(line.kindAt, groups.length), 0, [line.kind]);
  return [...groups.flat(), ...line.tail];
}

const REQUIRED: Record<Kind, Option[]> = { payment: ["customer", "amount"], "bank-account-setup": ["customer", "holder", "routing", "account", "type"] };

/** Valid values per option. */
const validValue: Record<Option, fc.Arbitrary<string>> = {
  customer: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/),
  amount: fc.integer({ min: 1, max: 100_000_000 }).chain((cents) => fc.constantFrom((cents / 100).toFixed(2), String(cents / 100))),
  currency: fc.stringMatching(/^[A-Z]{3}$/),
  holder: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) => s.trim().length >= 1 && s.trim().length <= 100),
  routing: routingNumber(),
  account: fc.stringMatching(/^\d{4,17}$/),
  type: fc.constantFrom("checking", "savings"),
  "transaction-id": uuid(),
  stack: fc.constantFrom("dev", "staging"),
  outputs: oddText(20).filter((s) => s !== ""),
};

/** Names that are properties of every object: a lookup with `in` finds them. */
const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "toLocaleString", "__defineGetter__"];

/** Wrong values per option, each with what the message must name. */
const invalidValue: Partial<Record<Option, fc.Arbitrary<string>>> = {
  customer: fc.oneof(
    fc.constant(""),
    oddText().filter((s) => !/^[A-Za-z0-9_.:-]+$/.test(s)),
    fc.stringMatching(/^[A-Za-z0-9_.:-]{129,300}$/),
  ),
  amount: fc.oneof(
    oddText().filter((s) => !Number.isFinite(Number(s))),
    fc.constantFrom("NaN", "Infinity", "-Infinity", "1e400", "-", "1,5", "1_000", "five"),
    fc.integer({ min: -100_000_000, max: 0 }).map((c) => String(c / 100)),
    fc.double({ max: 0, noNaN: true, noDefaultInfinity: true }).map(String),
    subCentAmount(),
  ),
  currency: fc.oneof(fc.constant("usd"), oddText().filter((s) => !/^[A-Z]{3}$/.test(s))),
  holder: fc.oneof(fc.constant(""), fc.stringMatching(/^\s{1,5}$/), fc.string({ minLength: 101, maxLength: 200 }).filter((s) => s.trim().length > 100)),
  routing: fc.oneof(
    routingNumber().map((r) => r.slice(0, 8) + String((Number(r[8]) + 1) % 10)), // checksum off by one
    fc.stringMatching(/^\d{1,8}$/),
    fc.stringMatching(/^\d{10,20}$/),
    oddText().filter((s) => !/^\d{9}$/.test(s)),
  ),
  account: fc.oneof(fc.stringMatching(/^\d{0,3}$/), fc.stringMatching(/^\d{18,30}$/), oddText().filter((s) => !/^\d{4,17}$/.test(s))),
  type: oddText().filter((s) => s !== "checking" && s !== "savings"),
  "transaction-id": fc.oneof(oddText(), uuid().map((u) => u.slice(1)), uuid().map((u) => `${u}0`)),
  stack: oddText(20).filter((s) => s !== "dev" && s !== "staging"),
};

/** What a message about an option must mention: the option or the contract's field. */
const NAMED: Record<Option, RegExp> = {
  customer: /--customer|customer_id/,
  amount: /--amount|\bamount\b/,
  currency: /--currency|\bcurrency\b/,
  holder: /--holder|account_holder/,
  routing: /--routing|routing_number/,
  account: /--account\b|account_number/,
  type: /--type|account_type/,
  "transaction-id": /--transaction-id|transaction_id/,
  stack: /--stack|No stack "/,
  outputs: /--outputs/,
};

function validCommandLine(): fc.Arbitrary<CommandLine & { kind: Kind }> {
  return fc.constantFrom<Kind>("payment", "bank-account-setup").chain((kind) => {
    const optional: Option[] = kind === "payment" ? ["currency", "transaction-id", "stack", "outputs"] : ["transaction-id", "stack", "outputs"];
    return fc
      .tuple(
        fc.tuple(...REQUIRED[kind].map((name) => validValue[name].map((v): [Option, string] => [name, v]))),
        fc.subarray(optional).chain((names) => fc.tuple(...names.map((name) => validValue[name].map((v): [Option, string] => [name, v])))),
      )
      .chain(([required, extra]) => fc.shuffledSubarray([...required, ...extra], { minLength: required.length + extra.length }))
      .chain((options) =>
        fc.record({
          kind: fc.constant(kind),
          options: fc.constant(options),
          kindAt: fc.nat({ max: options.length }),
          joined: fc.array(fc.boolean(), { minLength: options.length, maxLength: options.length }),
          tail: fc.constant([] as string[]),
        }),
      );
  });
}

interface Defective {
  argv: string[];
  defect: string;
  expected: RegExp;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A valid command line with exactly one defect, and what the message must say. */
function defectiveCommandLine(): fc.Arbitrary<Defective> {
  return validCommandLine().chain((line) => {
    const kind = line.kind;
    const without = (name: Option) => ({ ...line, options: line.options.filter(([n]) => n !== name) });
    const withValue = (name: Option, value: string) => {
      const options = line.options.filter(([n]) => n !== name && !(name === "stack" && n === "outputs"));
      return { ...line, options: [...options, [name, value] as [Option, string]], joined: [...line.joined, false] };
    };
    const defects: fc.Arbitrary<Defective>[] = [
      fc.constantFrom(...REQUIRED[kind]).map((name) => ({ argv: render(without(name)), defect: `no --${name}`, expected: new RegExp(`^--${name} is required for ${kind}\\n`) })),
      fc
        .constantFrom(...(Object.keys(invalidValue) as Option[]).filter((name) => kind === "payment" ? !["holder", "routing", "account", "type"].includes(name) : !["amount", "currency"].includes(name)))
        .chain((name) => invalidValue[name]!.map((value) => ({ argv: render(withValue(name, value)), defect: `--${name} ${JSON.stringify(value)}`, expected: NAMED[name] }))),
      fc
        .tuple(
          fc.oneof(oddText(20), fc.constantFrom(...PROTOTYPE_NAMES)).filter((n) => n !== "" && !n.includes("=") && !Object.hasOwn(OPTIONS_BY_NAME, n)),
          fc.option(oddText(10), { nil: undefined }),
        )
        .map(([name, value]) => ({
          argv: [...render(line), value === undefined ? `--${name}` : `--${name}=${value}`],
          defect: `unknown option --${name}`,
          expected: new RegExp(`^unknown option ${escape(`--${name}`)}\\n`),
        })),
      oddText(20)
        .filter((x) => !x.startsWith("-"))
        .map((x) => ({ argv: [...render(line), x], defect: `extra argument ${JSON.stringify(x)}`, expected: new RegExp(`^unexpected argument ${escape(`"${x}"`)}\\n`) })),
      fc
        .oneof(oddText(20), fc.constantFrom(...PROTOTYPE_NAMES, "bank_account_setup", "Payment"))
        .filter((x) => x !== "" && !x.startsWith("-") && !Object.keys(TRANSACTION_TYPES).includes(x))
        .map((x) => ({ argv: render({ ...line, kind: x }), defect: `type ${JSON.stringify(x)}`, expected: new RegExp(`^unknown transaction type ${escape(`"${x}"`)} \\(types: `) })),
      fc.constant({ argv: render({ ...line, kind: undefined }), defect: "no type", expected: /^a transaction type is required: payment, bank-account-setup\n/ }),
      oddText(10).map((x) => ({ argv: [...render(line), `--help=${x}`], defect: "--help with a value", expected: /^--help takes no value\n/ })),
      fc.constantFrom(...(Object.keys(validValue) as Option[])).map((name) => ({ argv: [...render(line), `--${name}`], defect: `--${name} without a value`, expected: new RegExp(`^--${name} needs a value\\n`) })),
    ];
    return fc.oneof(...defects);
  });
}

const OPTIONS_BY_NAME: Record<string, true> = Object.fromEntries(["customer", "amount", "currency", "holder", "routing", "account", "type", "transaction-id", "stack", "outputs", "help"].map((n) => [n, true]));

/** Words of the command line, and anything else. */
const token = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("payment", "bank-account-setup", "--customer", "--amount", "--currency", "--holder", "--routing", "--account", "--type", "--transaction-id", "--stack", "--outputs", "-h", "--help", "--", "-", "--=", "-5", "0", "250.75", "checking", "021000021", "C-1") },
  { weight: 2, arbitrary: oddText(30) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
  { weight: 1, arbitrary: oddText(10).map((s) => `--${s}`) },
  { weight: 1, arbitrary: oddText(4).map((s) => `-${s}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("customer", "amount", "holder", "routing", "account", "type", "transaction-id", "help", "stack"), oddText(20)).map(([n, v]) => `--${n}=${v}`) },
);

/** The exit-2 messages a user can get, each naming what is wrong. */
const KNOWN_REFUSAL =
  /^(unknown option -|a transaction type is required: |unknown transaction type "|unexpected argument "|--[a-z-]+ (is required for |needs a value\n|takes no value\n|must be a number, got )|Invalid transaction: [A-Za-z_.()]+: |No stack ")/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  published: unknown[];
}

describe("npm run tx: fuzzed command lines", () => {
  let stdout: string[] = [];
  let stderr: string[] = [];
  let published: unknown[] = [];
  const env = { ...process.env };

  beforeAll(() => {
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void stdout.push(args.join(" ")));
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void stderr.push(args.join(" ")));
    vi.spyOn(TransactionPublisher.prototype, "publish").mockImplementation(async (transaction: unknown) => {
      published.push(transaction);
      return { transactionId: (transaction as { transaction_id: string }).transaction_id, messageId: "fuzz-message" };
    });
  });
  beforeEach(() => {
    stdout = [];
    stderr = [];
    published = [];
  });
  afterEach(() => {
    process.env = { ...env };
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  async function run(argv: string[]): Promise<Run> {
    stdout = [];
    stderr = [];
    published = [];
    const code = await main(argv);
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n"), published: [...published] };
  }

  /** What every run must be: the usage, one publish, or a known refusal without a publish. */
  function expectWellFormed(argv: string[], result: Run): void {
    const where = `argv ${JSON.stringify(argv)} → exit ${result.code}, stdout ${JSON.stringify(result.stdout)}, stderr ${JSON.stringify(result.stderr)}`;
    if (result.code === 0 && result.published.length === 0) {
      expect(result.stdout, where).toBe(USAGE);
      return;
    }
    if (result.code === 0) {
      expect(result.published, where).toHaveLength(1);
      const transaction = Transaction.parse(result.published[0]);
      const cliKind = Object.entries(TRANSACTION_TYPES).find(([, type]) => type === transaction.transaction_type)![0];
      expect(argv, where).toContain(cliKind);
      expect(JSON.parse(result.stdout), where).toMatchObject({ transaction_id: transaction.transaction_id, transaction_type: transaction.transaction_type, customer_id: transaction.customer_id });
      return;
    }
    expect(result.code, where).toBe(2);
    expect(result.published, where).toEqual([]);
    expect(result.stdout, where).toBe("");
    expect(result.stderr, where).toMatch(KNOWN_REFUSAL);
    // A usage error is followed by the usage; an invalid transaction or an unknown stack is one message.
    expect(result.stderr.endsWith(`\n${USAGE}`), where).toBe(!/^(Invalid transaction|No stack)/.test(result.stderr));
  }

  it("any argv: the usage, one valid publish, or exit 2 with a known message and no publish (1,000 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 12 }), async (argv) => {
        expectWellFormed(argv, await run(argv));
      }),
      fuzzParameters(1000),
    );
  });

  it("a valid command line with one defect: exit 2, no publish, a message naming the defect (1,000 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(defectiveCommandLine(), async ({ argv, defect, expected }) => {
        const result = await run(argv);
        expectWellFormed(argv, result);
        expect(result.code, `${defect}: argv ${JSON.stringify(argv)} → ${JSON.stringify(result)}`).toBe(2);
        expect(result.stderr, `${defect}: argv ${JSON.stringify(argv)}`).toMatch(expected);
      }),
      fuzzParameters(1000),
    );
  });

  it("a valid command line: exit 0 and exactly one publish of the values given (300 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(validCommandLine(), async (line) => {
        const argv = render(line);
        const result = await run(argv);
        const where = `argv ${JSON.stringify(argv)} → ${JSON.stringify(result)}`;
        expect(result.code, where).toBe(0);
        expect(result.published, where).toHaveLength(1);
        const given = Object.fromEntries(line.options);
        const transaction = result.published[0] as Record<string, unknown>;
        expect(transaction, where).toMatchObject({ customer_id: given.customer, transaction_type: TRANSACTION_TYPES[line.kind] });
        if (given["transaction-id"]) expect(transaction.transaction_id, where).toBe(given["transaction-id"]);
        if (line.kind === "payment") expect(transaction, where).toMatchObject({ amount: Number(given.amount), currency: given.currency ?? "USD" });
        else expect(transaction.bank_account, where).toEqual({ account_holder: given.holder, routing_number: given.routing, account_number: given.account, account_type: given.type });
      }),
      fuzzParameters(300),
    );
  });
});
