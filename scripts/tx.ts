/**
 * `npm run tx -- <type> [options]`: publishes one transaction to a stack's bus.
 *
 *   npm run tx -- payment --customer CUST-1 --amount 250.75
 *   npm run tx -- bank-account-setup --customer CUST-1 --holder "Jane Doe" --routing 021000021 --account 000123456789 --type checking
 *
 * Options: --stack <name> (local cloud outputs of that stack, default dev), --outputs <file> (a
 * deployed stack's `pulumi stack output --json --show-secrets`), --transaction-id <uuid>, --currency <ISO>.
 *
 * Tracing: the publish is a span whose context travels with the message (`traceparent`), so the
 * consumer's spans join its trace. Spans are exported to `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) when set; otherwise, against a local cloud, to its OTLP
 * receiver (`otlpEndpoint` in the outputs file), so the publish span and the consumers' spans land
 * in one trace (`npm run traces -- <transaction_id>`). Flushed before the command exits.
 */
import { parseArgs } from "node:util";
import { SNSClient } from "@aws-sdk/client-sns";
import { flushTelemetry } from "../functions/lib/telemetry";
import { InvalidTransactionError, TransactionPublisher, newTransaction } from "../functions/transactions/publisher";
import { clientConfig, readStackOutputs } from "../local/outputs";
import type { StackOutputsFile } from "../local/outputs";

const USAGE = `usage:
  npm run tx -- payment --customer <id> --amount <n> [--currency USD]
  npm run tx -- bank-account-setup --customer <id> --holder <name> --routing <9 digits> --account <4-17 digits> --type checking|savings
options: --stack <name> | --outputs <file>, --transaction-id <uuid>`;

/** Builds the transaction from command-line arguments; throws a usage error naming what is missing. */
export function transactionFromArgs(argv: string[]): { transaction: Record<string, unknown>; stack: string; outputs?: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      customer: { type: "string" },
      amount: { type: "string" },
      currency: { type: "string" },
      holder: { type: "string" },
      routing: { type: "string" },
      account: { type: "string" },
      type: { type: "string" },
      "transaction-id": { type: "string" },
      stack: { type: "string", default: "dev" },
      outputs: { type: "string" },
    },
  });
  const kind = positionals[0];
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
  } else if (kind === "bank-account-setup") {
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
  } else {
    throw new UsageError(kind ? `unknown transaction type "${kind}"` : "a transaction type is required");
  }
  return { transaction, stack: values.stack ?? "dev", outputs: values.outputs };
}

class UsageError extends Error {}

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

async function main(): Promise<number> {
  try {
    const { transaction, stack, outputs: file } = transactionFromArgs(process.argv.slice(2));
    const outputs = readStackOutputs(file, stack);
    exportToOutputsReceiver(outputs);
    const publisher = new TransactionPublisher(outputs.transactionTopicArn, new SNSClient(clientConfig(outputs, "sns")));
    const published = await publisher.publish(transaction);
    console.log(JSON.stringify({ ...published, transaction_type: transaction.transaction_type, customer_id: transaction.customer_id }));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) console.error(`${error.message}\n${USAGE}`);
    else if (error instanceof InvalidTransactionError) console.error(error.message);
    else console.error(error instanceof Error ? error.message : error);
    return 2;
  } finally {
    await flushTelemetry();
  }
}

if (require.main === module) void main().then((code) => (process.exitCode = code));
