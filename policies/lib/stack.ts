/**
 * Helpers over resources: where each type keeps its policy documents, and an index of a stack's
 * resources for the relational (stack) policies: queue by ARN, key by any reference, a role's
 * statements, the function behind an event source mapping, ...
 */
import type { PolicyResource } from "@pulumi/policy";
import { UnknownValueError } from "@pulumi/policy";
import type { DocumentRef, Statement } from "./documents";
import { asArray, statementsOf } from "./documents";
import { T } from "./types";

type Props = Record<string, unknown>;

/** Every policy document a resource carries, with its kind. */
export function documentsOf(type: string, props: Props): DocumentRef[] {
  const docs: DocumentRef[] = [];
  const add = (kind: DocumentRef["kind"], property: string) => {
    if (props[property] !== undefined && props[property] !== null && props[property] !== "") docs.push({ kind, property, raw: props[property] });
  };
  switch (type) {
    case T.rolePolicy:
    case T.policy:
    case T.userPolicy:
    case T.groupPolicy:
      add("identity", "policy");
      break;
    case T.role:
      add("trust", "assumeRolePolicy");
      asArray(props.inlinePolicies as { policy?: unknown }[] | undefined).forEach((p, i) => {
        if (p?.policy) docs.push({ kind: "identity", property: `inlinePolicies[${i}].policy`, raw: p.policy });
      });
      break;
    case T.queue:
    case T.queuePolicy:
    case T.topic:
    case T.topicPolicy:
      add("resource", "policy");
      break;
    case T.key:
    case T.keyPolicy:
      add("key", "policy");
      break;
    case T.logResourcePolicy:
      add("resource", "policyDocument");
      break;
  }
  return docs;
}

/** The resource a policy reports on: its type and name, for messages. */
export const label = (r: { type: string; name: string }) => `${r.name} (${r.type})`;

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** An index of one stack's resources (outputs), built once per stack policy call. */
export class StackIndex {
  readonly byType = new Map<string, PolicyResource[]>();

  constructor(readonly resources: PolicyResource[]) {
    for (const r of resources) {
      const list = this.byType.get(r.type) ?? [];
      list.push(r);
      this.byType.set(r.type, list);
    }
  }

  of(type: string): PolicyResource[] {
    return this.byType.get(type) ?? [];
  }

  private find(type: string, ref: unknown, keys: string[]): PolicyResource | undefined {
    const value = str(ref);
    if (!value) return undefined;
    return this.of(type).find((r) => keys.some((k) => str(r.props[k]) === value));
  }

  queueByArn(arn: unknown) {
    return this.find(T.queue, arn, ["arn"]);
  }
  queueByUrl(url: unknown) {
    return this.find(T.queue, url, ["url", "id"]);
  }
  topicByArn(arn: unknown) {
    return this.find(T.topic, arn, ["arn", "id"]);
  }
  roleByRef(ref: unknown) {
    return this.find(T.role, ref, ["arn", "name", "id"]);
  }

  /** A function by name, ARN, or qualified ARN (`...:function:name:alias`). */
  functionByRef(ref: unknown) {
    const value = str(ref);
    if (!value) return undefined;
    const name = value.includes(":function:") ? value.split(":function:")[1]!.split(":")[0] : value;
    return this.of(T.function).find((f) => str(f.props.arn) === value || str(f.props.name) === name);
  }

  /**
   * The customer managed key behind a `kmsMasterKeyId`/`kmsKeyArn`: key id, key ARN, alias name or
   * alias ARN. `undefined` when the reference is not a key of this stack (e.g. `alias/aws/sqs`).
   */
  keyByRef(ref: unknown) {
    const value = str(ref);
    if (!value) return undefined;
    const aliasName = value.startsWith("alias/") ? value : value.includes(":alias/") ? `alias/${value.split(":alias/")[1]}` : undefined;
    let target = value;
    if (aliasName) {
      const alias = this.of(T.alias).find((a) => str(a.props.name) === aliasName);
      if (!alias) return undefined;
      target = String(alias.props.targetKeyId ?? "");
    }
    return this.of(T.key).find((k) => str(k.props.arn) === target || str(k.props.keyId) === target || str(k.props.id) === target);
  }

  /** The key policy of a key: its `policy`, or a separate `aws.kms.KeyPolicy` for it. */
  keyPolicy(key: PolicyResource): Statement[] {
    const separate = this.of(T.keyPolicy).filter((p) => [key.props.keyId, key.props.arn].includes(p.props.keyId));
    return [...statementsOf(key.props.policy), ...separate.flatMap((p) => statementsOf(p.props.policy))];
  }

  /** Every identity statement that applies to a role: its inline policies, RolePolicies and attached customer managed policies. */
  roleStatements(role: PolicyResource): Statement[] {
    const refs = [role.props.name, role.props.arn, role.props.id].filter((v) => v !== undefined);
    const out: Statement[] = [];
    for (const p of asArray(role.props.inlinePolicies as { policy?: unknown }[] | undefined)) out.push(...statementsOf(p?.policy));
    for (const rp of this.of(T.rolePolicy)) if (refs.includes(rp.props.role)) out.push(...statementsOf(rp.props.policy));
    const attached = new Set<string>([
      ...asArray(role.props.managedPolicyArns as string[] | undefined),
      ...this.of(T.rolePolicyAttachment).filter((a) => refs.includes(a.props.role)).map((a) => String(a.props.policyArn)),
      ...this.of(T.policyAttachment).filter((a) => asArray(a.props.roles as string[] | undefined).some((r) => refs.includes(r))).map((a) => String(a.props.policyArn)),
    ]);
    for (const policy of this.of(T.policy)) if (attached.has(String(policy.props.arn))) out.push(...statementsOf(policy.props.policy));
    return out;
  }

  /** All resource policies that apply to a queue (inline `policy` and QueuePolicy resources). */
  queuePolicies(queue: PolicyResource): Statement[] {
    return [
      ...statementsOf(queue.props.policy),
      ...this.of(T.queuePolicy).filter((p) => p.props.queueUrl !== undefined && [queue.props.url, queue.props.id].includes(p.props.queueUrl)).flatMap((p) => statementsOf(p.props.policy)),
    ];
  }

  /** All resource policies that apply to a topic. */
  topicPolicies(topic: PolicyResource): Statement[] {
    return [
      ...statementsOf(topic.props.policy),
      ...this.of(T.topicPolicy).filter((p) => p.props.arn !== undefined && p.props.arn === topic.props.arn).flatMap((p) => statementsOf(p.props.policy)),
    ];
  }

  /** Does a queue have any resource policy at all (inline or separate)? */
  hasQueuePolicy(queue: PolicyResource): boolean {
    return !!queue.props.policy || this.of(T.queuePolicy).some((p) => p.props.queueUrl !== undefined && [queue.props.url, queue.props.id].includes(p.props.queueUrl));
  }

  hasTopicPolicy(topic: PolicyResource): boolean {
    return !!topic.props.policy || this.of(T.topicPolicy).some((p) => p.props.arn !== undefined && p.props.arn === topic.props.arn);
  }

  /** The DLQ ARN of a queue's redrive policy, if any. */
  static redrive(queue: PolicyResource | { props: Props }): { deadLetterTargetArn?: string; maxReceiveCount?: number } | undefined {
    const raw = queue.props.redrivePolicy;
    if (!raw) return undefined;
    try {
      return (typeof raw === "string" ? JSON.parse(raw) : raw) as { deadLetterTargetArn?: string; maxReceiveCount?: number };
    } catch {
      return undefined;
    }
  }

  /** Queues that are some other queue's dead-letter queue, or an SNS subscription's. */
  deadLetterArns(): Set<string> {
    return new Set(
      [...this.of(T.queue), ...this.of(T.subscription)].map((r) => StackIndex.redrive(r)?.deadLetterTargetArn).filter((a): a is string => !!a),
    );
  }

  /** CloudWatch metric alarms on an SQS metric of the queue named `queueName` (any metric when `metric` is not given). */
  queueAlarms(queueName: unknown, metric?: string): PolicyResource[] {
    return this.of(T.metricAlarm).filter((a) => {
      const dimensions = (a.props.dimensions ?? {}) as Record<string, unknown>;
      return a.props.namespace === "AWS/SQS" && dimensions.QueueName === queueName && (metric === undefined || a.props.metricName === metric);
    });
  }

  /** SQS event source mappings with their queue and function. */
  sqsMappings(): { mapping: PolicyResource; queue: PolicyResource; fn?: PolicyResource }[] {
    return this.of(T.eventSourceMapping).flatMap((mapping) => {
      const queue = this.queueByArn(mapping.props.eventSourceArn);
      return queue ? [{ mapping, queue, fn: this.functionByRef(mapping.props.functionName) }] : [];
    });
  }
}

/**
 * A property that may be unknown during a real `pulumi preview` (an ARN of a resource not yet
 * created): `undefined` then, instead of the engine's UnknownValueError, so the rest of a policy runs.
 */
export function known<V>(read: () => V): V | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}

/** The parts of an ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export function parseArn(arn: unknown): { partition: string; service: string; region: string; account: string; resource: string } | undefined {
  if (typeof arn !== "string") return undefined;
  const m = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(arn);
  return m ? { partition: m[1]!, service: m[2]!, region: m[3]!, account: m[4]!, resource: m[5]! } : undefined;
}

/** AWS defaults that apply when a property is not set. */
export const DEFAULTS = {
  /** SQS `VisibilityTimeout`, seconds. */
  queueVisibilityTimeout: 30,
  /** SQS `MessageRetentionPeriod`, seconds (4 days). */
  queueRetention: 345_600,
  /** Lambda `Timeout`, seconds. */
  functionTimeout: 3,
};

export const num = (v: unknown, fallback: number): number => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : fallback);
