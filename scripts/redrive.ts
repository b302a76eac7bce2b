/**
 * `npm run redrive -- <queue or DLQ> [--stack s | --outputs f] [--max-per-second n] [--dry-run]`:
 * shows what a dead-letter queue holds and moves it back to its source queue.
 *
 *   npm run redrive -- payment                    # the payment queue's DLQ → the payment queue
 *   npm run redrive -- payment-subscription       # what SNS could not deliver to the payment queue
 *   npm run redrive -- utility-customer-system-dev-payment-processing-dlq.fifo --max-per-second 5
 *   npm run redrive -- fulfillment --outputs outputs.json --dry-run
 *
 * The queue is named by its label (a transaction type, `<type>-subscription`, `fulfillment`), by the
 * DLQ's name, or by the source queue's name (its DLQ). Outputs come from the local cloud's
 * `.local/<stack>/outputs.json` (`--stack`, default dev) or a deployed stack's
 * `pulumi stack output --json --show-secrets` (`--outputs <file>`).
 *
 * First it lists the DLQ: how many messages, the oldest, and what it could look at (a FIFO queue
 * shows each message group's first messages only: the others stay behind them until those are
 * gone), by failure kind and reason (the attributes `failure_kind`/`failure_reason` the SQS runtime
 * writes, `functions/lib/sqs-handler.ts`; a message SQS moved itself after a crash or timeout has
 * none; SNS records no reason for a delivery it could not make) and by customer or order. The look
 * is a receive: each message is made visible again at once, so nothing waits for it.
 *
 * Then it moves them back, keeping each message group's order:
 * - a DLQ of an SQS queue: with SQS's `StartMessageMoveTask` (FIFO supported since November 2023;
 *   "redrive messages in the order they are received, starting with the oldest"), destination the
 *   source queue, at `--max-per-second` (1..500; SQS's own velocity without it), then follows the task
 *   (`ListMessageMoveTasks`) to its end; Ctrl-C cancels it (`CancelMessageMoveTask`);
 * - an SNS subscription's DLQ, which `StartMessageMoveTask` does not accept ("Non-SQS queue sources
 *   of dead-letter queues, such as AWS Lambda or Amazon SNS topics, are currently not supported"):
 *   receive, send to the subscribed queue with the message's group, deduplication id and attributes,
 *   delete; a FIFO queue hands out a group's next message only after the previous one is deleted, so
 *   each customer's order holds.
 *
 * Exit codes: 0 done (or nothing to do), 1 the move failed or the stack cannot be reached, 2 usage.
 */
import { parseArgs } from "node:util";
import { SQSClient } from "@aws-sdk/client-sqs";
import { clientConfig, readStackOutputs } from "../local/outputs";
import { unknownStackMessage } from "../runner/stack-config";
import { listening, notRunningMessage } from "./tx";
import { formatReport, inspectDeadLetterQueue } from "./redrive/inspect";
import { redrive } from "./redrive/move";
import { HelpRequested, RedriveError, UsageError, queueName, resolveTarget } from "./redrive/targets";
import type { RedriveTarget } from "./redrive/targets";

export const USAGE = `usage:
  npm run redrive -- <queue or DLQ> [--stack <name> | --outputs <file>] [--max-per-second <1..500>] [--dry-run]
  <queue or DLQ>: a transaction type (payment, bank_account_setup), <type>-subscription (its SNS
    subscription's DLQ), fulfillment, or a queue's name (a DLQ, or a source queue for its DLQ)
options: --stack <name> (local cloud, default dev) | --outputs <file> (pulumi stack output --json --show-secrets),
  --max-per-second <n> (1..500; default: SQS's own velocity), --dry-run (list only), -h/--help`;

/** Thrown for `--help`: print the usage and exit 0. */
/** The local cloud is not running, or a move failed. */

const OPTIONS = {
  stack: { type: "string" },
  outputs: { type: "string" },
  "max-per-second": { type: "string" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export interface RedriveArgs {
  queue: string;
  stack: string;
  outputs?: string;
  maxPerSecond?: number;
  dryRun: boolean;
}

/** Parses the command line; each mistake is one line. */
export function parseRedriveArgs(argv: string[]): RedriveArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const option = /'(-[^']*)'/.exec((error as Error).message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${option ?? ""}`.trim());
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = /--([a-z-]+)/.exec((error as Error).message)?.[1];
      throw new UsageError(name && name in OPTIONS && OPTIONS[name as keyof typeof OPTIONS].type === "boolean" ? `--${name} takes no value` : `--${name ?? "option"} needs a value`);
    }
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new HelpRequested();
  const queue = positionals[0];
  if (!queue) throw new UsageError("a queue or dead-letter queue is required (e.g. payment, payment-subscription, fulfillment)");
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  if (values.stack !== undefined && values.outputs !== undefined) throw new UsageError("--stack and --outputs exclude each other: --stack reads the local cloud's outputs, --outputs a deployed stack's");
  let maxPerSecond: number | undefined;
  if (values["max-per-second"] !== undefined) {
    maxPerSecond = Number(values["max-per-second"]);
    if (!Number.isInteger(maxPerSecond) || maxPerSecond < 1 || maxPerSecond > 500) {
      throw new UsageError(`--max-per-second must be a whole number from 1 to 500 (SQS's limit), got "${values["max-per-second"]}"`);
    }
  }
  return { queue, stack: values.stack ?? "dev", outputs: values.outputs, maxPerSecond, dryRun: values["dry-run"] ?? false };
}

/** A dead-letter queue of the stack and where its messages go back to. */
export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  let args: RedriveArgs;
  try {
    args = parseRedriveArgs(argv);
  } catch (error) {
    if (error instanceof HelpRequested) {
      out(USAGE);
      return 0;
    }
    if (error instanceof UsageError) {
      err(`${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  const noStack = args.outputs ? undefined : unknownStackMessage(args.stack);
  if (noStack) {
    err(noStack);
    return 2;
  }
  let sqs: SQSClient | undefined;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  try {
    const outputs = readStackOutputs(args.outputs, args.stack);
    let target: RedriveTarget;
    try {
      target = resolveTarget(outputs, args.queue);
    } catch (error) {
      if (error instanceof UsageError) {
        err(`${error.message}\n${USAGE}`);
        return 2;
      }
      throw error;
    }
    const local = outputs.awsEndpoints?.sqs;
    if (local && !(await listening(local))) throw new RedriveError(notRunningMessage(local, args.stack, args.outputs));
    sqs = new SQSClient(clientConfig(outputs, "sqs"));
    const report = await inspectDeadLetterQueue(sqs, target);
    out(formatReport(report));
    if (report.count === 0) return 0;
    const how = target.via === "move-task" ? "SQS's StartMessageMoveTask" : "receive, send, delete (SQS's move task does not take an SNS subscription's DLQ)";
    const rate = args.maxPerSecond ? `at most ${args.maxPerSecond}/s` : "at SQS's own velocity";
    if (args.dryRun) {
      out(`dry run: would move ${report.count} message${report.count === 1 ? "" : "s"} to ${queueName(target.destinationUrl)} with ${how}, ${rate}`);
      return 0;
    }
    out(`moving ${report.count} message${report.count === 1 ? "" : "s"} to ${queueName(target.destinationUrl)} with ${how}, ${rate} (Ctrl-C cancels)`);
    const result = await redrive(sqs, target, { maxPerSecond: args.maxPerSecond, onProgress: out, signal: abort.signal });
    out(`${result.status}: moved ${result.moved} of ${result.toMove}${result.failureReason ? ` (${result.failureReason})` : ""}`);
    return result.status === "COMPLETED" ? 0 : 1;
  } catch (error) {
    err(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    sqs?.destroy();
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
