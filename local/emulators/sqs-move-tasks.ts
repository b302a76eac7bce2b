/**
 * SQS's dead-letter queue redrive API (`StartMessageMoveTask`, `ListMessageMoveTasks`,
 * `CancelMessageMoveTask`) for the local cloud. fauxqs 2.4.1 does not have it (its README lists the
 * three actions as unsupported, and its router answers `InvalidAction`), so this thin layer answers
 * them in front of its router, on its own store, as AWS documents them:
 *
 * - the source must be a queue some queue's redrive policy names as its dead-letter queue
 *   ("Source queue must be configured as a Dead Letter Queue."); SQS does not accept DLQs of other
 *   sources (an SNS subscription's, a Lambda function's) either;
 * - the destination, when given, exists, differs from the source and is of the same type (FIFO or
 *   standard); without one, messages go back to the source queue (the one queue whose redrive policy
 *   names the DLQ; fauxqs keeps no per-message source, so with several the task fails with
 *   `CouldNotDetermineMessageSource`);
 * - one active task per source queue; `MaxNumberOfMessagesPerSecond` 1..500 (without it, AWS's
 *   "system optimized" velocity: 500 here);
 * - messages move oldest first, a FIFO queue's message group by message group in order, each as a
 *   new message (new id, new receive count) that keeps its body, message attributes, group id and
 *   deduplication id; a message in flight (received and not yet deleted) waits until it is visible;
 * - the task counts `ApproximateNumberOfMessagesToMove` when it starts, and is `RUNNING`, then
 *   `COMPLETED` (all moved, or the source is empty), `CANCELLED`, or `FAILED` with a reason (the
 *   destination was deleted); `ListMessageMoveTasks` lists a source's tasks newest first, the handle
 *   only for a running one.
 */
import { randomUUID } from "node:crypto";
import type { SqsQueue, SqsStore } from "fauxqs/dist/sqs/sqsStore";
import type { SqsMessage } from "fauxqs/dist/sqs/sqsTypes";

/** The AWS JSON protocol error SQS answers with. */
export class SqsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

type TaskStatus = "RUNNING" | "COMPLETED" | "CANCELLING" | "CANCELLED" | "FAILED";

interface MoveTask {
  handle: string;
  sourceArn: string;
  destinationArn?: string;
  rate?: number;
  status: TaskStatus;
  moved: number;
  toMove: number;
  startedTimestamp: number;
  failureReason?: string;
  timer?: NodeJS.Timeout;
}

/** Velocity without `MaxNumberOfMessagesPerSecond` ("system optimized" on AWS; at most 500 there). */
export const DEFAULT_MOVE_RATE = 500;
const TICK_MS = 50;

/** Builds a new SQS message as fauxqs does (`SqsStore.createMessage`). */
export type MessageFactory = (body: string, attributes: SqsMessage["messageAttributes"], groupId?: string, deduplicationId?: string) => SqsMessage;

/** The message move tasks of one SQS store. */
export class MessageMoveTasks {
  private readonly tasks: MoveTask[] = [];

  constructor(
    private readonly store: SqsStore,
    private readonly createMessage: MessageFactory,
  ) {}

  /** Answers an `AmazonSQS.<action>` request, or returns undefined when the action is not one of these. */
  handle(action: string, body: Record<string, unknown>): Record<string, unknown> | undefined {
    switch (action) {
      case "StartMessageMoveTask":
        return this.start(body);
      case "ListMessageMoveTasks":
        return this.list(body);
      case "CancelMessageMoveTask":
        return this.cancel(body);
      default:
        return undefined;
    }
  }

  /** Stops every running task (the emulator is stopping). */
  stopAll(): void {
    for (const task of this.tasks) if (task.timer) clearInterval(task.timer);
  }

  private start(body: Record<string, unknown>): Record<string, unknown> {
    const sourceArn = body.SourceArn;
    if (typeof sourceArn !== "string" || sourceArn === "") throw new SqsApiError("MissingParameter", "The request must contain the parameter SourceArn.");
    const source = this.store.getQueueByArn(sourceArn);
    if (!source) throw new SqsApiError("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.", 404);
    const rate = body.MaxNumberOfMessagesPerSecond;
    if (rate !== undefined && rate !== null && (typeof rate !== "number" || !Number.isInteger(rate) || rate < 1 || rate > 500)) {
      throw new SqsApiError("InvalidParameterValue", `Value ${String(rate)} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500, if provided.`);
    }
    const sources = this.sourcesOf(sourceArn);
    if (sources.length === 0) throw new SqsApiError("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.");
    const destinationArn = typeof body.DestinationArn === "string" && body.DestinationArn !== "" ? body.DestinationArn : undefined;
    if (destinationArn !== undefined) {
      if (destinationArn === sourceArn) throw new SqsApiError("InvalidParameterValue", "Source queue arn and destination queue arn cannot be the same.");
      const destination = this.store.getQueueByArn(destinationArn);
      if (!destination) throw new SqsApiError("ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.", 404);
      if (destination.isFifo() !== source.isFifo()) throw new SqsApiError("InvalidParameterValue", "The source queue and destination queue must be of the same queue type.");
    }
    if (this.tasks.some((t) => t.sourceArn === sourceArn && (t.status === "RUNNING" || t.status === "CANCELLING"))) {
      throw new SqsApiError("InvalidParameterValue", "There is already a task running. Only one active task is allowed for a source queue at a time.");
    }
    const task: MoveTask = {
      handle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString("base64"),
      sourceArn,
      ...(destinationArn ? { destinationArn } : {}),
      ...(typeof rate === "number" ? { rate } : {}),
      status: "RUNNING",
      moved: 0,
      toMove: messagesIn(source),
      startedTimestamp: Date.now(),
    };
    this.tasks.push(task);
    this.run(task);
    return { TaskHandle: task.handle };
  }

  private list(body: Record<string, unknown>): Record<string, unknown> {
    const sourceArn = body.SourceArn;
    if (typeof sourceArn !== "string" || sourceArn === "") throw new SqsApiError("MissingParameter", "The request must contain the parameter SourceArn.");
    if (!this.store.getQueueByArn(sourceArn)) throw new SqsApiError("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.", 404);
    const max = body.MaxResults ?? 1;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > 10) {
      throw new SqsApiError("InvalidParameterValue", `Value ${String(max)} for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10.`);
    }
    const results = this.tasks
      .filter((t) => t.sourceArn === sourceArn)
      .slice()
      .reverse()
      .slice(0, max)
      .map((t) => ({
        ...(t.status === "RUNNING" ? { TaskHandle: t.handle } : {}),
        Status: t.status,
        SourceArn: t.sourceArn,
        ...(t.destinationArn ? { DestinationArn: t.destinationArn } : {}),
        ...(t.rate !== undefined ? { MaxNumberOfMessagesPerSecond: t.rate } : {}),
        ApproximateNumberOfMessagesMoved: t.moved,
        ApproximateNumberOfMessagesToMove: t.toMove,
        ...(t.failureReason ? { FailureReason: t.failureReason } : {}),
        StartedTimestamp: t.startedTimestamp,
      }));
    return { Results: results };
  }

  private cancel(body: Record<string, unknown>): Record<string, unknown> {
    const handle = body.TaskHandle;
    if (typeof handle !== "string" || handle === "") throw new SqsApiError("MissingParameter", "The request must contain the parameter TaskHandle.");
    const task = this.tasks.find((t) => t.handle === handle);
    if (!task) throw new SqsApiError("ResourceNotFoundException", "Task does not exist.", 404);
    if (task.status !== "RUNNING") throw new SqsApiError("InvalidParameterValue", "Only active tasks can be cancelled.");
    this.finish(task, "CANCELLED");
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  /** Queues whose redrive policy names `dlqArn` as their dead-letter queue. */
  private sourcesOf(dlqArn: string): SqsQueue[] {
    return [...this.store.allQueues()].filter((q) => {
      try {
        return (JSON.parse(q.attributes.RedrivePolicy ?? "{}") as { deadLetterTargetArn?: string }).deadLetterTargetArn === dlqArn;
      } catch {
        return false;
      }
    });
  }

  /** Moves messages at the task's velocity until it is done. */
  private run(task: MoveTask): void {
    const rate = task.rate ?? DEFAULT_MOVE_RATE;
    let allowance = 0;
    let last = Date.now();
    const tick = () => {
      if (task.status !== "RUNNING") return;
      const now = Date.now();
      // Token bucket: at most `rate` per second, never a burst of more than one second's worth.
      allowance = Math.min(rate, allowance + ((now - last) / 1000) * rate);
      last = now;
      while (allowance >= 1 && task.status === "RUNNING") {
        const outcome = this.moveOne(task);
        if (outcome === "none") break;
        allowance -= 1;
      }
    };
    task.timer = setInterval(tick, TICK_MS);
    task.timer.unref?.();
    // The first message goes at once (a rate of 1/s would otherwise wait a second).
    allowance = 1;
    tick();
  }

  /** Moves the next available message; "none" when nothing is available right now. */
  private moveOne(task: MoveTask): "moved" | "none" {
    const source = this.store.getQueueByArn(task.sourceArn);
    if (!source) {
      this.finish(task, "FAILED", "AWS.SimpleQueueService.NonExistentQueue");
      return "none";
    }
    if (task.moved >= task.toMove || messagesIn(source) === 0) {
      this.finish(task, "COMPLETED");
      return "none";
    }
    let destination: SqsQueue | undefined;
    if (task.destinationArn) {
      destination = this.store.getQueueByArn(task.destinationArn);
      if (!destination) {
        this.finish(task, "FAILED", "AWS.SimpleQueueService.NonExistentQueue");
        return "none";
      }
    } else {
      const sources = this.sourcesOf(task.sourceArn);
      if (sources.length !== 1) {
        this.finish(task, "FAILED", "CouldNotDetermineMessageSource");
        return "none";
      }
      destination = sources[0]!;
    }
    // Receive the next message as a consumer would (FIFO: the next of a group not in flight), so
    // messages someone else holds wait, and each group keeps its order.
    const [received] = source.dequeue(1, 30);
    if (!received) return "none";
    const message = source.inflightMessages.get(received.ReceiptHandle)?.message;
    if (!message) return "none";
    const copy = this.createMessage(message.body, { ...message.messageAttributes }, message.messageGroupId, message.messageDeduplicationId);
    if (destination.isFifo() && copy.messageDeduplicationId) {
      // A duplicate within the destination's 5-minute window is accepted and dropped, as SendMessage does.
      if (!destination.checkDeduplication(copy.messageDeduplicationId).isDuplicate) {
        copy.sequenceNumber = destination.nextSequenceNumber();
        destination.recordDeduplication(copy.messageDeduplicationId, copy.messageId, copy.sequenceNumber);
        destination.enqueue(copy);
      }
    } else {
      destination.enqueue(copy);
    }
    source.deleteMessage(received.ReceiptHandle);
    task.moved += 1;
    if (task.moved >= task.toMove) this.finish(task, "COMPLETED");
    return "moved";
  }

  private finish(task: MoveTask, status: TaskStatus, failureReason?: string): void {
    task.status = status;
    if (failureReason) task.failureReason = failureReason;
    if (task.timer) clearInterval(task.timer);
    task.timer = undefined;
  }
}

/** Messages in a queue: visible, delayed and in flight. */
function messagesIn(queue: SqsQueue): number {
  const { ready, delayed, inflight } = queue.inspectMessages();
  return ready.length + delayed.length + inflight.length;
}
