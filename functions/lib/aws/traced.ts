/**
 * What every AWS SDK client of a function shares: the tracing middleware (telemetry/middleware.ts),
 * so each command is a child span of the active one and SNS publishes / SQS sends carry the trace
 * context in a `traceparent` attribute.
 *
 * The clients themselves live one per module (`sqs.ts`, `sns.ts`, `sfn.ts`, `dynamodb.ts`, and the
 * SSM client in `../parameters.ts`), created on first use and reused across invocations: a bundle
 * holds only the clients its handler imports (an SDK client is 20-30 KiB of service model plus the
 * protocol it speaks; tests/functions/lib/bundles.test.ts pins each function's list).
 *
 * No endpoint is configured anywhere: the SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself, which is
 * how the local cloud points the unchanged handlers at its emulators. Credentials come from the
 * environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), which is where
 * Lambda puts the execution role's: the bundle replaces the SDK's default chain by the environment
 * provider (components/lib/bundle.ts).
 */
import { TRACING_MIDDLEWARE_NAME, tracingMiddleware } from "../telemetry/middleware";

/** Adds the tracing middleware to a client (once per client; the document client wraps a traced one). */
export function traced<C extends { middlewareStack: { add: (...args: never[]) => unknown } }>(client: C): C {
  const stack = client.middlewareStack as unknown as { add: (middleware: unknown, options: { step: string; name: string; override?: boolean }) => void };
  stack.add(tracingMiddleware(), { step: "initialize", name: TRACING_MIDDLEWARE_NAME, override: true });
  return client;
}
