/**
 * Moving a dead-letter queue back to its source: SQS's `StartMessageMoveTask` for a queue's DLQ
 * (group order kept), message by message for an SNS subscription's DLQ (which the move task refuses).
 */
import { CancelMessageMoveTaskCommand, DeleteMessageCommand, GetQueueAttributesCommand, ListMessageMoveTasksCommand, ReceiveMessageCommand, SendMessageCommand, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import type { MessageAttributeValue, SQSClient } from "@aws-sdk/client-sqs";
import type { RedriveTarget } from "./targets";
import { RedriveError, queueName } from "./targets";
import { messagesIn } from "./inspect";

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
