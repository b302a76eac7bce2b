/**
 * `npm run tx -- <type> [options]`: publishes one transaction to a stack's bus.
 *
 *   npm run tx -- payment --customer CUST-1 --amount 250.75
 *   npm run tx -- bank-account-setup --customer CUST-1 --holder "Jane Doe" --routing 021000021 --account 000123456789 --type checking
 *
 * Options: --stack <name> (local cloud outputs of that stack, default dev), --outputs <file> (a
 * deployed stack's `pulumi stack output --json --show-secrets`), --transaction-id <uuid>, --currency <ISO>.
 * Prints what was published with the bus's field names (`transaction_id`, `transaction_type`,
 * `customer_id`, plus SNS's `message_id` and `sequence_number`). Exit codes: 0 published, 1 the
 * bus cannot be reached (e.g. the local cloud is not running), 2 usage or an invalid transaction.
 *
 * Tracing: the publish is a span whose context travels with the message (`traceparent`), so the
 * consumer's spans join its trace. Spans are exported to `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) when set; otherwise, against a local cloud, to its OTLP
 * receiver (`otlpEndpoint` in the outputs file), so the publish span and the consumers' spans land
 * in one trace (`npm run traces -- <transaction_id>`). Flushed before the command exits.
 */
import * as net from "node:net";
import { parseArgs } from "node:util";
import { SNSClient } from "@aws-sdk/client-sns";
import { flushTelemetry } from "../functions/lib/telemetry/provider";
import { InvalidTransactionError, TransactionPublisher, newTransaction, toPublishRequest } from "../functions/transactions/publisher";
import { clientConfig, notRunningMessage as stackNotRunning, readStackOutputs } from "../local/outputs";
import type { StackOutputsFile } from "../local/outputs";
import { unknownStackMessage } from "../runner/stack-config";

/** The transaction types on the command line (→ the bus's `transaction_type`). */
export const TRANSACTION_TYPES = { payment: "payment", "bank-account-setup": "bank_account_setup" } as const;

export const USAGE = `usage:
  npm run tx -- payment --customer <id> --amount <n> [--currency USD]
  npm run tx -- bank-account-setup --customer <id> --holder <name> --routing <9 digits> --account <4-17 digits> --type checking|savings
options: --stack <name> (default dev) | --outputs <file>, --transaction-id <uuid>, -h/--help`;

const OPTIONS = {
  customer: { type: "string" },
  amount: { type: "string" },
  currency: { type: "string" },
  holder: { type: "string" },
  routing: { type: "string" },
  account: { type: "string" },
  type: { type: "string" },
  "transaction-id": { type: "string" },
  stack: { type: "string" },
  outputs: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export class UsageError extends Error {}

/** Thrown for `--help`: print the usage and exit 0. */
export class HelpRequested extends Error {}

/**
 * `--amount -5`: node's parseArgs refuses a value starting with "-" as ambiguous. A negative number
 * after an option that takes a value is that option's value (`--amount=-5`), so it reaches the
 * normal validation ("amount: must be positive").
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    if (name && (OPTIONS as Record<string, { type: string }>)[name]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Parses the command line; unknown options and missing values are usage errors, each one line. */
function parse(argv: string[]) {
  try {
    return parseArgs({ args: joinNegativeValues(argv), allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    const code = (error as { code?: string }).code;
    // The option as typed, quotes and trailing spaces included (`--customer ` is not `--customer`).
    const option = /^Unknown option '(.*?)'(?:\. To specify|$)/s.exec((error as Error).message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(option === undefined ? "unknown option" : `unknown option ${option}`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = /--([a-z-]+)/.exec((error as Error).message)?.[1];
      throw new UsageError(name && name in OPTIONS && OPTIONS[name as keyof typeof OPTIONS].type === "boolean" ? `--${name} takes no value` : `--${name ?? "option"} needs a value`);
    }
    throw new UsageError((error as Error).message);
  }
}

/** Builds the transaction from command-line arguments; throws a usage error naming what is missing. */
export function transactionFromArgs(argv: string[]): { transaction: Record<string, unknown>; stack: string; outputs?: string } {
  const { values, positionals } = parse(argv);
  if (values.help) throw new HelpRequested();
  const types = Object.keys(TRANSACTION_TYPES).join(", ");
  const kind = positionals[0];
  if (!kind) throw new UsageError(`a transaction type is required: ${types}`);
  // Own keys only: `in` also finds `__proto__`, `toString`, ... on every object.
  if (!Object.hasOwn(TRANSACTION_TYPES, kind)) throw new UsageError(`unknown transaction type "${kind}" (types: ${types})`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const require = (name: keyof typeof values) => {
    const value = values[name];
    if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required for ${kind}`);
    return value;
  };
  const common = { customer_id: require("customer"), transaction_id: values["transaction-id"] };
  let transaction: Record<string, unknown>;
  if (kind === "payment") {
    const amount = Number(require("amount"));
    if (!Number.isFinite(amount)) throw new UsageError(`--amount must be a number, got "${values.amount}"`);
    transaction = newTransaction({ ...common, transaction_type: "payment", amount, currency: values.currency ?? "USD" });
  } else {
    transaction = newTransaction({
      ...common,
      transaction_type: "bank_account_setup",
      bank_account: {
        account_holder: require("holder"),
        routing_number: require("routing"),
        account_number: require("account"),
        account_type: require("type") as "checking" | "savings",
      },
    });
  }
  return { transaction, stack: values.stack ?? "dev", outputs: values.outputs };
}

/** Raised when the bus's local endpoint refuses connections: the local cloud is not running. */
export class NotRunningError extends Error {}

/** Whether something accepts TCP connections at `url` (within `timeoutMs`). */
export function listening(url: string, timeoutMs = 2000): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port || (protocol === "https:" ? 443 : 80)) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The message for a local cloud that is not running, naming the stack (or the outputs file) and how to start it. */
export function notRunningMessage(url: string, stack: string, file?: string): string {
  return file
    ? `The local cloud of ${file} is not running (nothing listens on ${url}): start it with \`npm start -- --stack <stack>\` and use its .local/<stack>/outputs.json`
    : stackNotRunning(stack, `nothing listens on ${url}`);
}

/**
 * Points this process's span exporter at the local cloud's OTLP receiver when the outputs name one
 * and the environment names no endpoint of its own. Must run before the first span: telemetry
 * reads the environment when it initialises (lazily, on the first span). Also names the service
 * (`OTEL_SERVICE_NAME`, unless set) so the publish span reads as the CLI's in a trace.
 * @returns the endpoint spans will be exported to, if any.
 */
export function exportToOutputsReceiver(outputs: StackOutputsFile, env: NodeJS.ProcessEnv = process.env): string | undefined {
  env.OTEL_SERVICE_NAME ??= "tx-cli";
  const own = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (own) return own;
  if (!outputs.otlpEndpoint) return undefined;
  env.OTEL_EXPORTER_OTLP_ENDPOINT = outputs.otlpEndpoint;
  return outputs.otlpEndpoint;
}

/**
 * The command: parses `argv`, validates, publishes and prints; returns the exit code. Exported so
 * that tests can drive it in process (tests/fuzz/tx-cli.fuzz.test.ts).
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  try {
    const { transaction, stack, outputs: file } = transactionFromArgs(argv);
    toPublishRequest(transaction); // invalid input is refused before any outputs are read
    const noStack = file ? undefined : unknownStackMessage(stack);
    if (noStack) {
      console.error(noStack);
      return 2;
    }
    const outputs = readStackOutputs(file, stack);
    // Local outputs name an endpoint on this machine: check it listens before any span exists, so
    // a stopped cloud gives one line instead of a connection error and an exporter warning.
    const local = outputs.awsEndpoints?.sns;
    if (local && !(await listening(local))) throw new NotRunningError(notRunningMessage(local, stack, file));
    exportToOutputsReceiver(outputs);
    const publisher = new TransactionPublisher(outputs.transactionTopicArn, new SNSClient(clientConfig(outputs, "sns")));
    const published = await publisher.publish(transaction).catch((error: unknown) => {
      if (local && (error as { code?: string }).code === "ECONNREFUSED") throw new NotRunningError(notRunningMessage(local, stack, file));
      throw error;
    });
    console.log(
      JSON.stringify({
        transaction_id: published.transactionId,
        transaction_type: transaction.transaction_type,
        customer_id: transaction.customer_id,
        message_id: published.messageId,
        ...(published.sequenceNumber ? { sequence_number: published.sequenceNumber } : {}),
      }),
    );
    return 0;
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof InvalidTransactionError) {
      console.error(error.message);
      return 2;
    }
    console.error(error instanceof Error ? error.message : error);
    return 1;
  } finally {
    await flushTelemetry();
  }
}

if (require.main === module) void main().then((code) => (process.exitCode = code));
