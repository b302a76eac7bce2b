/**
 * The AWS SDK v3 tracing middleware: one CLIENT (or PRODUCER) span per command. AWS SDK calls
 * become child spans through `tracingMiddleware`, added to the shared clients in `../aws.ts`; it
 * also injects the context into SNS/SQS publishes that do not carry one yet.
 */
import { SpanKind } from "@opentelemetry/api";
import type { Attributes } from "@opentelemetry/api";
import { ATTR, businessAttributes, dropUndefined } from "./attributes";
import { injectIntoMessageAttributes } from "./propagation";
import type { SdkMessageAttribute } from "./propagation";
import { withSpan } from "./spans";

/** The name under which `aws.ts` (`traced`) adds `tracingMiddleware` to a client. */
export const TRACING_MIDDLEWARE_NAME = "otelTracing";

/**
 * Whether `client` carries `tracingMiddleware` (the shared clients of `aws.ts` do): its sends are
 * spans of their own and inject their context into SNS/SQS messages. A caller holding a client of
 * its own (a CLI) injects with `injectIntoMessageAttributes` when this is false.
 */
export function hasTracingMiddleware(client: { middlewareStack: { identify(): string[] } }): boolean {
  return client.middlewareStack.identify().some((entry) => entry.split(" ")[0] === TRACING_MIDDLEWARE_NAME);
}

/** Commands that send messages: PRODUCER spans that inject their context into the messages. */
const PRODUCER_COMMANDS = new Set(["PublishCommand", "PublishBatchCommand", "SendMessageCommand", "SendMessageBatchCommand"]);

interface MiddlewareContext {
  clientName?: string;
  commandName?: string;
}
type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: { $metadata?: { requestId?: string; httpStatusCode?: number } } }>;

/**
 * An AWS SDK v3 `initialize` middleware: a span per command (`SQS.SendMessage`, `DynamoDB.PutItem`)
 * covering its retries, with `rpc.*` attributes and the request id; errors are recorded. For SNS
 * `Publish`/`PublishBatch` and SQS `SendMessage`/`SendMessageBatch` the span is a PRODUCER span and
 * its context is injected into each message's attributes (unless one is there, or the 10-attribute
 * limit is reached).
 *
 * @example
 * client.middlewareStack.add(tracingMiddleware(), { step: "initialize", name: TRACING_MIDDLEWARE_NAME });
 */
export function tracingMiddleware() {
  return (next: Handler, ctx: MiddlewareContext): Handler =>
    async (args) => {
      if (process.env.OTEL_SDK_DISABLED === "true") return next(args);
      const service = (ctx.clientName ?? "AWS").replace(/Client$/, "").replace(/^DynamoDBDocument$/, "DynamoDB");
      const operation = (ctx.commandName ?? "Command").replace(/Command$/, "");
      const producer = PRODUCER_COMMANDS.has(ctx.commandName ?? "");
      const attributes: Attributes = {
        [ATTR.rpcSystem]: "aws-api",
        [ATTR.rpcService]: service,
        [ATTR.rpcMethod]: operation,
        [ATTR.cloudRegion]: process.env.AWS_REGION,
      };
      if (producer) {
        attributes[ATTR.messagingSystem] = service === "SNS" ? "aws_sns" : "aws_sqs";
        attributes[ATTR.messagingOperationType] = "send";
        const destination = (args.input.TopicArn as string | undefined)?.split(":").pop() ?? (args.input.QueueUrl as string | undefined)?.split("/").pop();
        if (destination) attributes[ATTR.messagingDestination] = destination;
        Object.assign(attributes, idsOfMessages(args.input));
      }
      const table = args.input.TableName;
      if (typeof table === "string") attributes["aws.dynamodb.table_names"] = [table];
      return withSpan(`${service}.${operation}`, { kind: producer ? SpanKind.PRODUCER : SpanKind.CLIENT, attributes: dropUndefined(attributes) }, async (span) => {
        const input = producer ? injectIntoCommand(args.input) : args.input;
        try {
          const result = await next({ ...args, input });
          const meta = result.output.$metadata;
          if (meta?.requestId) span.setAttribute(ATTR.awsRequestId, meta.requestId);
          if (meta?.httpStatusCode) span.setAttribute(ATTR.httpStatus, meta.httpStatusCode);
          return result;
        } catch (error) {
          const meta = (error as { $metadata?: { requestId?: string; httpStatusCode?: number } }).$metadata;
          if (meta?.requestId) span.setAttribute(ATTR.awsRequestId, meta.requestId);
          if (meta?.httpStatusCode) span.setAttribute(ATTR.httpStatus, meta.httpStatusCode);
          throw error;
        }
      });
    };
}

/** Business ids of the message(s) being sent, when the body is JSON carrying them (single sends only). */
function idsOfMessages(input: Record<string, unknown>): Attributes {
  const body = input.Message ?? input.MessageBody;
  if (typeof body !== "string" || body.length > 262_144 || !body.startsWith("{")) return {};
  try {
    return businessAttributes(JSON.parse(body) as Record<string, unknown>);
  } catch {
    return {};
  }
}

/** Copies a send/publish input with trace context in each message's attributes. */
function injectIntoCommand(input: Record<string, unknown>): Record<string, unknown> {
  const inject = (message: Record<string, unknown>) => ({
    ...message,
    MessageAttributes: injectIntoMessageAttributes((message.MessageAttributes ?? {}) as Record<string, SdkMessageAttribute>),
  });
  for (const batchField of ["PublishBatchRequestEntries", "Entries"]) {
    if (Array.isArray(input[batchField])) {
      return { ...input, [batchField]: (input[batchField] as Record<string, unknown>[]).map(inject) };
    }
  }
  return inject(input);
}
