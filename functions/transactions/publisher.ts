/**
 * The typed publisher of the transaction bus: what tests, tools and other services use to put a
 * transaction on the topic. It validates the transaction against the contract before publishing
 * (a bad transaction never reaches the bus) and sets the FIFO fields the routing relies on:
 * `MessageGroupId` = customer id (order per customer), `MessageDeduplicationId` = transaction id,
 * and the String attributes `transaction_type`, `customer_id`, `message_group_id`.
 *
 * Tracing: each publish runs in a `publish <topic>` span, and the message carries a `traceparent`
 * attribute whichever SNS client the publisher was given. The shared client (`aws/sns.ts`) injects the
 * context of its own `SNS.Publish` span; a client without the tracing middleware (the `tx` CLI's)
 * gets the publish span's context injected by `toPublishRequest`. Either way the consumer's spans
 * join the publisher's trace.
 */
import { randomUUID } from "node:crypto";
import { PublishBatchCommand, PublishCommand } from "@aws-sdk/client-sns";
import type { MessageAttributeValue, SNSClient } from "@aws-sdk/client-sns";
import { snsClient } from "../lib/aws/sns";
import { ATTR, businessAttributes } from "../lib/telemetry/attributes";
import { hasTracingMiddleware } from "../lib/telemetry/middleware";
import { injectIntoMessageAttributes } from "../lib/telemetry/propagation";
import { SpanKind, withSpan } from "../lib/telemetry/spans";
import type { Span } from "../lib/telemetry/spans";
import { Transaction } from "./schemas";
import type { TransactionInput } from "./schemas";

/** Raised when a transaction does not match the contract; `issues` names each field. */
export class InvalidTransactionError extends Error {
  override name = "InvalidTransactionError";
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`Invalid transaction: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
}

export interface PublishedTransaction {
  transactionId: string;
  messageId: string;
  sequenceNumber?: string;
}

/** Fills in `transaction_id` (a new UUID) and `timestamp` (now) when they are missing. */
export function newTransaction<T extends Omit<TransactionInput, "transaction_id" | "timestamp"> & { transaction_id?: string; timestamp?: string }>(
  fields: T,
): T & { transaction_id: string; timestamp: string } {
  return { ...fields, transaction_id: fields.transaction_id ?? randomUUID(), timestamp: fields.timestamp ?? new Date().toISOString() };
}

export interface PublishRequestOptions {
  /**
   * Add the active trace context as a `traceparent` message attribute (`injectIntoMessageAttributes`).
   * Leave it off when the client injects it itself (the shared clients' tracing middleware does).
   * @default false
   */
  injectTraceContext?: boolean;
}

/** Validates a transaction and returns the SNS publish request fields for it. */
export function toPublishRequest(
  transaction: unknown,
  options: PublishRequestOptions = {},
): {
  Message: string;
  MessageGroupId: string;
  MessageDeduplicationId: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
} {
  const parsed = Transaction.safeParse(transaction);
  if (!parsed.success) {
    throw new InvalidTransactionError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(transaction)", message: i.message })));
  }
  const tx = parsed.data;
  const attribute = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });
  const attributes: Record<string, MessageAttributeValue> = {
    transaction_type: attribute(tx.transaction_type),
    customer_id: attribute(tx.customer_id),
    message_group_id: attribute(tx.customer_id),
  };
  return {
    Message: JSON.stringify(tx),
    MessageGroupId: tx.customer_id,
    MessageDeduplicationId: tx.transaction_id,
    MessageAttributes: options.injectTraceContext ? injectIntoMessageAttributes(attributes) : attributes,
  };
}

export class TransactionPublisher {
  private readonly client: SNSClient;
  /** Whether this publisher injects the trace context (the client does not). */
  private readonly injectTraceContext: boolean;

  /**
   * @param topicArn - the bus's topic (stack output `transactionTopicArn`).
   * @param client - SNS client. @default the shared client (endpoint from `AWS_ENDPOINT_URL_SNS`)
   */
  constructor(
    private readonly topicArn: string,
    client?: SNSClient,
  ) {
    this.client = client ?? snsClient();
    this.injectTraceContext = !hasTracingMiddleware(this.client);
  }

  /**
   * Publishes one transaction.
   * @throws InvalidTransactionError before anything is sent (the publish span records it).
   */
  async publish(transaction: unknown): Promise<PublishedTransaction> {
    return this.inSpan(1, async (span) => {
      const request = toPublishRequest(transaction, { injectTraceContext: this.injectTraceContext });
      span.setAttributes(businessAttributes(JSON.parse(request.Message) as Record<string, unknown>));
      const result = await this.client.send(new PublishCommand({ TopicArn: this.topicArn, ...request }));
      if (result.MessageId) span.setAttribute(ATTR.messagingMessageId, result.MessageId);
      return { transactionId: request.MessageDeduplicationId, messageId: result.MessageId ?? "", sequenceNumber: result.SequenceNumber };
    });
  }

  /**
   * Runs a publish in a `publish <topic>` span: a PRODUCER span when this publisher injects its
   * context, else an INTERNAL one around the client's own PRODUCER span.
   */
  private inSpan<T>(count: number, work: (span: Span) => Promise<T>): Promise<T> {
    const topic = this.topicArn.split(":").pop() ?? this.topicArn;
    return withSpan(
      `publish ${topic}`,
      {
        kind: this.injectTraceContext ? SpanKind.PRODUCER : SpanKind.INTERNAL,
        attributes: {
          [ATTR.messagingSystem]: "aws_sns",
          [ATTR.messagingOperationType]: "send",
          [ATTR.messagingDestination]: topic,
          ...(count > 1 ? { [ATTR.messagingBatchCount]: count } : {}),
        },
      },
      work,
    );
  }

  /**
   * Publishes many transactions, ten per `PublishBatch` call, in the given order (order per
   * customer is kept because batches are sent one after another).
   * @throws InvalidTransactionError before anything is sent if any transaction is invalid.
   * @throws Error naming the failed entries if SNS rejects any.
   */
  async publishAll(transactions: unknown[]): Promise<PublishedTransaction[]> {
    return this.inSpan(transactions.length, async () => {
      // Every transaction is validated before anything is sent.
      const requests = transactions.map((t) => toPublishRequest(t, { injectTraceContext: this.injectTraceContext }));
      return this.publishBatches(requests);
    });
  }

  private async publishBatches(requests: ReturnType<typeof toPublishRequest>[]): Promise<PublishedTransaction[]> {
    const published: PublishedTransaction[] = [];
    for (let i = 0; i < requests.length; i += 10) {
      const chunk = requests.slice(i, i + 10);
      const result = await this.client.send(
        new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: chunk.map((r, j) => ({ Id: String(j), ...r })) }),
      );
      if (result.Failed?.length) {
        throw new Error(`SNS rejected ${result.Failed.length} transaction(s): ${result.Failed.map((f) => `${chunk[Number(f.Id)]?.MessageDeduplicationId}: ${f.Code} ${f.Message ?? ""}`).join("; ")}`);
      }
      for (const ok of result.Successful ?? []) {
        published.push({ transactionId: chunk[Number(ok.Id)]!.MessageDeduplicationId, messageId: ok.MessageId ?? "", sequenceNumber: ok.SequenceNumber });
      }
    }
    return published;
  }
}
