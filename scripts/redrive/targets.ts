/** The dead-letter queues a stack's outputs name, and how `npm run redrive` finds one by label or queue name. */
import type { StackOutputsFile } from "../../local/outputs";

/** Wrong arguments: the usage and exit 2. */
export class UsageError extends Error {}

/** `--help`: the usage and exit 0. */
export class HelpRequested extends Error {}

/** The redrive could not be done (reported, exit 1). */
export class RedriveError extends Error {}

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
