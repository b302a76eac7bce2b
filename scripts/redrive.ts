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
import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import { clientConfig, readStackOutputs } from "../local/outputs";
import type { StackOutputsFile } from "../local/outputs";
import { unknownStackMessage } from "../runner/stack-config";
import { listening, notRunningMessage } from "./tx";

export const USAGE = `usage:
  npm run redrive -- <queue or DLQ> [--stack <name> | --outputs <file>] [--max-per-second <1..500>] [--dry-run]
  <queue or DLQ>: a transaction type (payment, bank_account_setup), <type>-subscription (its SNS
    subscription's DLQ), fulfillment, or a queue's name (a DLQ, or a source queue for its DLQ)
options: --stack <name> (local cloud, default dev) | --outputs <file> (pulumi stack output --json --show-secrets),
  --max-per-second <n> (1..500; default: SQS's own velocity), --dry-run (list only), -h/--help`;

export class UsageError extends Error {}
/** Thrown for `--help`: print the usage and exit 0. */
export class HelpRequested extends Error {}
/** The local cloud is not running, or a move failed. */
export class RedriveError extends Error {}

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
export interface RedriveTarget {
  /** Its label: a transaction type, `<type>-subscription`, `fulfillment`. */
  label: string;
  dlqUrl: string;
  /** The queue its messages go back to. */
  destinationUrl: string;
  /**
   * `move-task`: a DLQ of an SQS queue, moved by SQS (`StartMessageMoveTask`). `client-move`: an SNS
   * subscription's DLQ, which SQS's move task does not accept, moved message by message.
   */
  via: "move-task" | "client-move";
}

/** The last path segment of a queue URL: its name. */
export const queueName = (url: string) => url.slice(url.lastIndexOf("/") + 1);

/** Every dead-letter queue the stack outputs name, with its destination. */
export function redriveTargets(outputs: StackOutputsFile): RedriveTarget[] {
  const targets: RedriveTarget[] = [];
  for (const [type, dlqUrl] of Object.entries(outputs.transactionDlqUrls)) {
    const destinationUrl = outputs.transactionQueueUrls[type];
    if (destinationUrl) targets.push({ label: type, dlqUrl, destinationUrl, via: "move-task" });
  }
  for (const [type, dlqUrl] of Object.entries(outputs.transactionSubscriptionDlqUrls)) {
    const destinationUrl = outputs.transactionQueueUrls[type];
    if (destinationUrl) targets.push({ label: `${type}-subscription`, dlqUrl, destinationUrl, via: "client-move" });
  }
  targets.push({ label: "fulfillment", dlqUrl: outputs.fulfillmentDlqUrl, destinationUrl: outputs.fulfillmentQueueUrl, via: "move-task" });
  return targets;
}

/**
 * The target a name means: a label (`bank-account-setup` works for `bank_account_setup`), a DLQ's
 * name, or a source queue's name (its SQS DLQ).
 * @throws UsageError naming every known one.
 */
export function resolveTarget(outputs: StackOutputsFile, name: string): RedriveTarget {
  const targets = redriveTargets(outputs);
  const wanted = name.trim();
  const found =
    targets.find((t) => t.label === wanted || t.label === wanted.replace(/-/g, "_") || t.label.replace(/_/g, "-") === wanted) ??
    targets.find((t) => queueName(t.dlqUrl) === wanted) ??
    targets.find((t) => t.via === "move-task" && queueName(t.destinationUrl) === wanted);
  if (!found) {
    const labels = targets.map((t) => t.label).join(", ");
    throw new UsageError(`no dead-letter queue "${wanted}" in the stack's outputs (known: ${labels}, or a queue's name such as ${queueName(targets[0]!.dlqUrl)})`);
  }
  return found;
}

/** One count of the report. */
export interface Tally {
  value: string;
  count: number;
}

/** What a DLQ holds, as far as it can be seen. */
export interface DeadLetterReport {
  target: RedriveTarget;
  /** Messages in the queue (visible, in flight and delayed), as SQS counts them. */
  count: number;
  /** Messages it could look at (a FIFO queue shows the first messages of each group). */
  inspected: number;
  /** The oldest message seen (for a FIFO queue the oldest of all: it is the first of its group). */
  oldest?: { sentAt: Date; messageId: string; key?: string };
  /** By `failure_kind — failure_reason`, most frequent first. */
  byFailure: Tally[];
  /** By customer (`customer_id`) or order (`order_id`), most frequent first. */
  byKey: Tally[];
  /** The messages looked at (bodies parsed where JSON). */
  messages: { messageId: string; group?: string; body: unknown; attributes: Record<string, string> }[];
}

/** Why a message is in the DLQ, from its attributes. */
export function failureOf(target: RedriveTarget, attributes: Record<string, string>): string {
  const kind = attributes.failure_kind;
  if (kind) return `${kind} — ${attributes.failure_reason ?? "(no reason recorded)"}`;
  return target.via === "client-move"
    ? "delivery — SNS could not deliver it to the queue (a queue or key policy that stopped it, a deleted queue); SNS records no reason"
    : "moved by SQS after maxReceiveCount receives — the function crashed or timed out (no reason recorded)";
}

function stringAttributes(message: Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) if (value.StringValue !== undefined) out[name] = value.StringValue;
  return out;
}

function parse(body: string | undefined): unknown {
  try {
    return JSON.parse(body ?? "");
  } catch {
    return body;
  }
}

function keyOf(body: unknown, attributes: Record<string, string>): string | undefined {
  const b = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  if (typeof b.order_id === "string") return `order ${b.order_id}`;
  const customer = typeof b.customer_id === "string" ? b.customer_id : attributes.customer_id;
  return customer ? `customer ${customer}` : undefined;
}

const tally = (values: string[]): Tally[] => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
};

async function messagesIn(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
}

/**
 * Looks at what a DLQ holds: receives what it can (at most `limit` messages), then makes every one
 * visible again at once.
 */
export async function inspectDeadLetterQueue(sqs: SQSClient, target: RedriveTarget, limit = 1000): Promise<DeadLetterReport> {
  const count = await messagesIn(sqs, target.dlqUrl);
  const seen = new Map<string, Message>();
  const receipts: string[] = [];
  let empty = 0;
  try {
    while (seen.size < limit && count > 0 && empty < 2) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: target.dlqUrl,
          MaxNumberOfMessages: 10,
          // Long enough to page through the queue without seeing a message twice; reset below.
          VisibilityTimeout: 60,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
        }),
      );
      if (!Messages?.length) {
        empty++;
        continue;
      }
      empty = 0;
      for (const m of Messages) {
        receipts.push(m.ReceiptHandle!);
        if (!seen.has(m.MessageId!)) seen.set(m.MessageId!, m);
      }
    }
  } finally {
    await makeVisible(sqs, target.dlqUrl, receipts);
  }
  const messages = [...seen.values()].map((m) => {
    const attributes = stringAttributes(m);
    return { messageId: m.MessageId!, group: m.Attributes?.MessageGroupId, body: parse(m.Body), attributes, sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? Date.now())) };
  });
  const oldest = messages.reduce<(typeof messages)[number] | undefined>((o, m) => (!o || m.sentAt < o.sentAt ? m : o), undefined);
  return {
    target,
    count,
    inspected: messages.length,
    ...(oldest ? { oldest: { sentAt: oldest.sentAt, messageId: oldest.messageId, key: keyOf(oldest.body, oldest.attributes) } } : {}),
    byFailure: tally(messages.map((m) => failureOf(target, m.attributes))),
    byKey: tally(messages.map((m) => keyOf(m.body, m.attributes) ?? "(no customer or order)")),
    messages: messages.map(({ messageId, group, body, attributes }) => ({ messageId, group, body, attributes })),
  };
}

async function makeVisible(sqs: SQSClient, url: string, receipts: string[]): Promise<void> {
  for (let i = 0; i < receipts.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: receipts.slice(i, i + 10).map((ReceiptHandle, j) => ({ Id: String(j), ReceiptHandle, VisibilityTimeout: 0 })) }),
    );
  }
}

/** The report as the CLI prints it. */
export function formatReport(report: DeadLetterReport, now = new Date()): string {
  const name = queueName(report.target.dlqUrl);
  const lines = [`${name}: ${report.count} message${report.count === 1 ? "" : "s"} (dead-letter queue of ${queueName(report.target.destinationUrl)}${report.target.via === "client-move" ? "'s SNS subscription" : ""})`];
  if (report.count === 0) return lines.join("\n");
  const fifo = name.endsWith(".fifo");
  lines.push(`  looked at ${report.inspected}${fifo && report.inspected < report.count ? " (a FIFO queue shows the first messages of each group: the rest wait behind them)" : ""}`);
  if (report.oldest) {
    const minutes = Math.max(0, Math.round((now.getTime() - report.oldest.sentAt.getTime()) / 60_000));
    const age = minutes >= 120 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
    lines.push(`  oldest: ${report.oldest.sentAt.toISOString()} (${age} ago)${report.oldest.key ? `, ${report.oldest.key}` : ""}`);
  }
  lines.push("  by failure:");
  for (const t of report.byFailure) lines.push(`    ${String(t.count).padStart(4)}  ${t.value}`);
  lines.push("  by customer or order:");
  for (const t of report.byKey.slice(0, 20)) lines.push(`    ${String(t.count).padStart(4)}  ${t.value}`);
  if (report.byKey.length > 20) lines.push(`    ... and ${report.byKey.length - 20} more`);
  return lines.join("\n");
}

export interface RedriveResult {
  via: RedriveTarget["via"];
  status: "COMPLETED" | "FAILED" | "CANCELLED";
  moved: number;
  toMove: number;
  failureReason?: string;
  taskHandle?: string;
}

export interface RedriveOptions {
  maxPerSecond?: number;
  /** Progress lines. @default nothing */
  onProgress?: (line: string) => void;
  /** Aborts the move (Ctrl-C): a move task is cancelled, a client move stops after the current message. */
  signal?: AbortSignal;
  /** Poll interval of a move task, ms. @default 1000 */
  pollMs?: number;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  if (!Attributes?.QueueArn) throw new RedriveError(`${url} has no QueueArn`);
  return Attributes.QueueArn;
}

/** Moves a DLQ's messages back to its destination, keeping each message group's order. */
export async function redrive(sqs: SQSClient, target: RedriveTarget, options: RedriveOptions = {}): Promise<RedriveResult> {
  return target.via === "move-task" ? moveWithTask(sqs, target, options) : moveByClient(sqs, target, options);
}

async function moveWithTask(sqs: SQSClient, target: RedriveTarget, options: RedriveOptions): Promise<RedriveResult> {
  const [sourceArn, destinationArn] = await Promise.all([queueArn(sqs, target.dlqUrl), queueArn(sqs, target.destinationUrl)]);
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn, ...(options.maxPerSecond ? { MaxNumberOfMessagesPerSecond: options.maxPerSecond } : {}) }),
  );
  // Ctrl-C cancels the task; the loop then follows it to CANCELLED.
  const cancel = () => void sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })).catch(() => undefined);
  options.signal?.addEventListener("abort", cancel, { once: true });
  try {
    let lastMoved = -1;
    for (;;) {
      const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
      // The latest task of the source is ours (one active task per source queue).
      const task = Results?.[0];
      if (!task) throw new RedriveError(`the move task of ${queueName(target.dlqUrl)} is not listed`);
      const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
      const toMove = task.ApproximateNumberOfMessagesToMove ?? 0;
      if (moved !== lastMoved) options.onProgress?.(`  moved ${moved} of ${toMove} (${task.Status})`);
      lastMoved = moved;
      if (task.Status === "COMPLETED" || task.Status === "FAILED" || task.Status === "CANCELLED") {
        return { via: "move-task", status: task.Status, moved, toMove, ...(task.FailureReason ? { failureReason: task.FailureReason } : {}), taskHandle: TaskHandle };
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
    }
  } finally {
    options.signal?.removeEventListener("abort", cancel);
  }
}

/** Copies a received message's attributes for SendMessage. */
function sendable(attributes: Record<string, MessageAttributeValue> | undefined): Record<string, MessageAttributeValue> | undefined {
  if (!attributes || Object.keys(attributes).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(attributes).map(([name, v]) => [name, { DataType: v.DataType, ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}), ...(v.BinaryValue !== undefined ? { BinaryValue: v.BinaryValue } : {}) }]),
  );
}

async function moveByClient(sqs: SQSClient, target: RedriveTarget, options: RedriveOptions): Promise<RedriveResult> {
  const toMove = await messagesIn(sqs, target.dlqUrl);
  const fifo = target.destinationUrl.endsWith(".fifo");
  const interval = options.maxPerSecond ? 1000 / options.maxPerSecond : 0;
  let moved = 0;
  let empty = 0;
  let next = Date.now();
  while (moved < toMove && empty < 3) {
    if (options.signal?.aborted) return { via: "client-move", status: "CANCELLED", moved, toMove };
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: target.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }),
    );
    if (!Messages?.length) {
      empty++;
      continue;
    }
    empty = 0;
    // In the order received: a FIFO queue gives each group's messages in order.
    for (const m of Messages) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next = Math.max(next, Date.now()) + interval;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: target.destinationUrl,
          MessageBody: m.Body ?? "",
          MessageAttributes: sendable(m.MessageAttributes),
          ...(fifo ? { MessageGroupId: m.Attributes?.MessageGroupId ?? "unknown", MessageDeduplicationId: m.Attributes?.MessageDeduplicationId ?? m.MessageId } : {}),
        }),
      );
      await sqs.send(new DeleteMessageCommand({ QueueUrl: target.dlqUrl, ReceiptHandle: m.ReceiptHandle }));
      moved++;
      if (moved % 10 === 0 || moved === toMove) options.onProgress?.(`  moved ${moved} of ${toMove}`);
    }
  }
  return { via: "client-move", status: "COMPLETED", moved, toMove };
}

/** The CLI. */
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
