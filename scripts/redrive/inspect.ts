/** What a dead-letter queue holds: count, oldest, failure kinds and reasons, per customer or order (read without consuming). */
import { ChangeMessageVisibilityBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Message , SQSClient } from "@aws-sdk/client-sqs";
import type { RedriveTarget } from "./targets";
import { queueName } from "./targets";

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

export async function messagesIn(sqs: SQSClient, url: string): Promise<number> {
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
