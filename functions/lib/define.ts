/**
 * The typed-function definition: the one seam between what runs in Lambda (`functions/`) and the
 * infrastructure that deploys it (`components/`).
 *
 * A definition is plain data plus zod schemas, so the Pulumi program can import it without pulling
 * in a handler's runtime code. It declares:
 * - the trigger (an SQS queue, an API Gateway REST proxy, a Step Functions task) and its payload schema;
 * - the links: the resources the handler uses and how, which become its IAM actions and environment;
 * - the settings: stack values the handler needs, validated again at cold start.
 *
 * The handler (`handler.ts` beside the definition) implements it with `sqsHandler`, `apiHandler` or
 * `taskHandler` and receives parsed payloads and typed links.
 */
import * as z from "./zod-mini";
import type { LinkMap, QueueLink } from "./links";

/** Messages from an SQS queue (FIFO or standard), delivered through an event source mapping. */
export interface SqsTrigger<M extends z.$ZodType = z.$ZodType> {
  kind: "sqs";
  /** FIFO queue: batches are processed in message-group order and a failure skips the rest of its group. */
  fifo: boolean;
  /** Schema of each message body (JSON). A body that does not parse goes to the dead-letter queue at once. */
  message: M;
}
/** API Gateway REST proxy integration events. */
export interface ApiTrigger {
  kind: "api";
}
/** A Step Functions `lambda:invoke` task; the payload is the task's input. */
export interface TaskTrigger<I extends z.$ZodType = z.$ZodType> {
  kind: "task";
  /** Schema of the task input. Invalid input fails the task with error `ValidationError`. */
  input: I;
}
export type Trigger = SqsTrigger | ApiTrigger | TaskTrigger;

/** Links every SQS-triggered function gets: its source queue and the dead-letter queue it reports to. */
export interface SqsTriggerLinks extends LinkMap {
  source: QueueLink & { access: "consume" };
  deadLetter: QueueLink & { access: "send" };
}

export interface FunctionDefinition<T extends Trigger = Trigger, L extends LinkMap = LinkMap, S extends z.$ZodType = z.$ZodType> {
  /** Short name, lowercase with dashes; deployed as `<stack prefix>-<name>` (at most 64 characters in all). */
  name: string;
  /** One line on what the function does (becomes the Lambda description). */
  description: string;
  /** Absolute path of the handler module (bundled by esbuild; it exports `handler`). */
  entry: string;
  /** What invokes the function. */
  trigger: T;
  /** Resources the function uses, by name; SQS triggers add `source` and `deadLetter` themselves. */
  links: T extends SqsTrigger ? L & SqsTriggerLinks : L;
  /** Schema of the stack settings the function reads (from `FUNCTION_SETTINGS`). */
  settings: S;
}

const NAME = /^[a-z][a-z0-9-]{1,40}$/;

/**
 * Declares a typed function.
 *
 * @param definition.name - lowercase letters, digits and dashes, 2–41 characters.
 * @param definition.links - declared links; for an `sqs` trigger, `source` and `deadLetter` are added.
 * @example
 * export const payment = defineFunction({
 *   name: "payment-processing",
 *   description: "Applies payments to customer balances",
 *   entry: path.join(__dirname, "handler.ts"),
 *   trigger: { kind: "sqs", fifo: true, message: PaymentMessage },
 *   links: { payments: link.table("readWrite"), bankAccounts: link.table("read") },
 *   settings: z.object({ paymentLimit: z.number() }),
 * });
 */
export function defineFunction<T extends Trigger, L extends LinkMap, S extends z.$ZodType>(definition: {
  name: string;
  description: string;
  entry: string;
  trigger: T;
  links: L;
  settings: S;
}): FunctionDefinition<T, L, S> {
  if (!NAME.test(definition.name)) {
    throw new Error(`Function name "${definition.name}" must be 2-41 lowercase letters, digits or dashes, starting with a letter`);
  }
  const links: LinkMap = { ...definition.links };
  if (definition.trigger.kind === "sqs") {
    for (const reserved of ["source", "deadLetter"]) {
      if (reserved in links) throw new Error(`Function "${definition.name}": link name "${reserved}" is reserved for its SQS trigger`);
    }
    links.source = { kind: "queue", access: "consume" };
    links.deadLetter = { kind: "queue", access: "send" };
  }
  return { ...definition, links } as FunctionDefinition<T, L, S>;
}

/** Environment variable holding a function's settings as JSON. */
export const SETTINGS_ENV = "FUNCTION_SETTINGS";
/** Environment variable holding the trigger's own settings (JSON), e.g. `{ "maxReceiveCount": 5 }`. */
export const TRIGGER_ENV = "FUNCTION_TRIGGER";

/**
 * Reads and validates a function's settings at cold start. A deploy that forgot one fails the first
 * invocation with the setting's name instead of misbehaving later.
 */
export function readSettings<S extends z.$ZodType>(definition: { name: string; settings: S }, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const raw = env[SETTINGS_ENV];
  let value: unknown = {};
  if (raw) {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error(`Function "${definition.name}": ${SETTINGS_ENV} is not JSON`);
    }
  }
  const parsed = z.safeParse(definition.settings, value);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`Function "${definition.name}" has invalid settings in ${SETTINGS_ENV}: ${detail}`);
  }
  return parsed.data;
}
