/**
 * Links: the resources a function uses, and how.
 *
 * A function's definition declares its links (`links: { payments: link.table("readWrite") }`). The
 * infrastructure side turns each one into exactly the IAM actions that use needs and into one
 * environment variable carrying the resource's address; this module is the runtime side, which
 * reads those variables back as typed values and refuses any link the function did not declare.
 * Shared by both sides, so it imports nothing from Pulumi and nothing heavy.
 */

/** A DynamoDB table, read, written, or both. */
export interface TableLink {
  kind: "table";
  access: "read" | "write" | "readWrite";
}
/** An SQS queue, sent to or consumed from. */
export interface QueueLink {
  kind: "queue";
  access: "send" | "consume";
}
/** An SNS topic, published to. */
export interface TopicLink {
  kind: "topic";
  access: "publish";
}
/** A Step Functions state machine, started (and its executions described). */
export interface StateMachineLink {
  kind: "stateMachine";
  access: "start";
}
/**
 * An SSM Parameter Store parameter, read (a SecureString decrypted with its KMS key). The value is
 * never in the function's configuration: the function reads it at run time (`functions/lib/parameters.ts`).
 */
export interface ParameterLink {
  kind: "parameter";
  access: "read";
}
export type LinkSpec = TableLink | QueueLink | TopicLink | StateMachineLink | ParameterLink;

/** Declares a link; the access level decides the IAM actions granted. */
export const link = {
  /** @param access - `read` (get, query), `write` (put, update, delete) or `readWrite`. */
  table: (access: TableLink["access"]): TableLink => ({ kind: "table", access }),
  /** @param access - `send` (send messages) or `consume` (receive, delete, change visibility). */
  queue: (access: QueueLink["access"]): QueueLink => ({ kind: "queue", access }),
  /** Publish to a topic. */
  topic: (): TopicLink => ({ kind: "topic", access: "publish" }),
  /** Start executions of a state machine and describe them. */
  stateMachine: (): StateMachineLink => ({ kind: "stateMachine", access: "start" }),
  /** Read an SSM parameter (`ssm:GetParameter` on it, `kms:Decrypt` on its key). */
  parameter: (): ParameterLink => ({ kind: "parameter", access: "read" }),
};

/** What a function sees of a linked resource at run time. */
export interface LinkValues {
  table: { name: string; arn: string };
  queue: { url: string; arn: string };
  topic: { arn: string };
  stateMachine: { arn: string };
  /** The parameter's name (`/prefix/name`, what GetParameter takes) and ARN; never its value. */
  parameter: { name: string; arn: string };
}
export type LinkValue<S extends LinkSpec> = LinkValues[S["kind"]];
export type LinkMap = Record<string, LinkSpec>;
export type ResolvedLinks<L extends LinkMap> = { readonly [K in keyof L]: LinkValue<L[K]> };

/** The environment variable that carries link `name` (`payments` → `LINK_PAYMENTS`). */
export function linkEnvName(name: string): string {
  return `LINK_${name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
}

const REQUIRED_FIELDS: { [K in LinkSpec["kind"]]: (keyof LinkValues[K])[] } = {
  table: ["name", "arn"],
  queue: ["url", "arn"],
  topic: ["arn"],
  stateMachine: ["arn"],
  parameter: ["name", "arn"],
};

/**
 * Typed access to a function's links, read from its environment.
 *
 * Touching a name that is not declared throws at once, naming the function and the links it has:
 * an undeclared link would have no IAM permission either, so failing early gives the clear error
 * instead of an AccessDenied deep inside an SDK call.
 *
 * @param functionName - for error messages.
 * @param links - the declared links.
 * @param env - where to read the values; defaults to `process.env`.
 */
export function resolveLinks<L extends LinkMap>(functionName: string, links: L, env: NodeJS.ProcessEnv = process.env): ResolvedLinks<L> {
  const cache = new Map<string, unknown>();
  return new Proxy({} as ResolvedLinks<L>, {
    get(_target, prop) {
      if (typeof prop !== "string") return undefined;
      if (prop === "then" || prop === "toJSON") return undefined; // not a thenable, and JSON-safe
      const spec = links[prop];
      if (!spec) {
        throw new Error(
          `Function "${functionName}" is not linked to "${prop}". Linked: ${Object.keys(links).join(", ") || "(none)"}. ` +
            `Add it to the links of its definition so it is granted access.`,
        );
      }
      if (!cache.has(prop)) cache.set(prop, readLink(functionName, prop, spec, env));
      return cache.get(prop);
    },
    ownKeys: () => Object.keys(links),
    getOwnPropertyDescriptor: (_t, prop) =>
      typeof prop === "string" && prop in links ? { enumerable: true, configurable: true } : undefined,
  });
}

function readLink(functionName: string, name: string, spec: LinkSpec, env: NodeJS.ProcessEnv): unknown {
  const variable = linkEnvName(name);
  const raw = env[variable];
  if (!raw) throw new Error(`Function "${functionName}" declares link "${name}" but ${variable} is not set: it was deployed without its link.`);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error(`Function "${functionName}": ${variable} is not JSON: ${raw.slice(0, 80)}`);
  }
  for (const field of REQUIRED_FIELDS[spec.kind] as string[]) {
    if (typeof value[field] !== "string" || !value[field]) {
      throw new Error(`Function "${functionName}": link "${name}" (${spec.kind}) has no "${field}" in ${variable}`);
    }
  }
  return Object.freeze(value);
}
