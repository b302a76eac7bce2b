/**
 * Whether a queue's resource policy lets SNS deliver from a topic: the decision AWS makes before
 * SNS may send to a subscribed queue (and to a subscription's dead-letter queue). The local cloud
 * does not enforce IAM, but this one decision decides whether a message is delivered, dead-lettered
 * or lost, so the SNS emulator layer (`sns-delivery.ts`) asks it.
 *
 * AWS's evaluation, for the request SNS makes (principal `sns.amazonaws.com`, action
 * `sqs:SendMessage`, resource the queue, context `aws:SourceArn` = the topic, `aws:SourceAccount` =
 * the topic's account, `aws:SecureTransport` = true): an explicit Deny that applies wins; otherwise
 * an Allow that applies grants; otherwise the request is denied. Conditions are evaluated for the
 * operators policies here use (String*, Arn*, Bool, with `...IfExists`, `ForAnyValue:`/`ForAllValues:`
 * are not modelled); a statement with an operator or key it does not know never applies (so an
 * unknown condition never grants, and never denies).
 */

export interface SnsDeliveryRequest {
  queueArn: string;
  topicArn: string;
}

export interface PolicyDecision {
  allowed: boolean;
  /** Why, in a few words, for logs. */
  reason: string;
}

type Statement = {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const list = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

/** IAM's wildcard match (`*`, `?`), case-sensitive unless told otherwise. */
function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, caseInsensitive ? "i" : "").test(value);
}

function principalMatches(principal: unknown): boolean {
  if (principal === "*") return true;
  if (!principal || typeof principal !== "object") return false;
  const p = principal as Record<string, unknown>;
  return list(p.Service).includes("sns.amazonaws.com") || list(p.AWS).includes("*");
}

function actionMatches(s: Statement): boolean {
  if (s.NotAction !== undefined) return !list(s.NotAction).some((a) => glob(a, "sqs:SendMessage", true));
  return list(s.Action).some((a) => glob(a, "sqs:SendMessage", true));
}

function resourceMatches(s: Statement, queueArn: string): boolean {
  if (s.NotResource !== undefined) return !list(s.NotResource).some((r) => glob(r, queueArn));
  return list(s.Resource).some((r) => glob(r, queueArn));
}

/** Does one condition block hold for the request? `undefined` for an operator or key it cannot judge. */
function conditionHolds(operator: string, block: Record<string, unknown>, context: Record<string, string>): boolean | undefined {
  const ifExists = operator.endsWith("IfExists");
  const op = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  for (const [rawKey, expected] of Object.entries(block)) {
    const key = rawKey.toLowerCase();
    const actual = context[key];
    if (actual === undefined) {
      if (ifExists) continue;
      if (!(key in KNOWN_KEYS)) return undefined;
      return false;
    }
    const values = list(expected);
    let holds: boolean;
    switch (op) {
      case "StringEquals":
      case "ArnEquals":
        holds = values.includes(actual);
        break;
      case "StringNotEquals":
      case "ArnNotEquals":
        holds = !values.includes(actual);
        break;
      case "StringEqualsIgnoreCase":
        holds = values.some((v) => v.toLowerCase() === actual.toLowerCase());
        break;
      case "StringLike":
      case "ArnLike":
        holds = values.some((v) => glob(v, actual));
        break;
      case "StringNotLike":
      case "ArnNotLike":
        holds = !values.some((v) => glob(v, actual));
        break;
      case "Bool":
        holds = values.some((v) => v.toLowerCase() === actual);
        break;
      default:
        return undefined;
    }
    if (!holds) return false;
  }
  return true;
}

const KNOWN_KEYS: Record<string, true> = { "aws:sourcearn": true, "aws:sourceaccount": true, "aws:securetransport": true };

function applies(s: Statement, request: SnsDeliveryRequest, context: Record<string, string>): boolean | undefined {
  const principal = s.NotPrincipal !== undefined ? !principalMatches(s.NotPrincipal) : principalMatches(s.Principal);
  if (!principal || !actionMatches(s) || !resourceMatches(s, request.queueArn)) return false;
  for (const [operator, block] of Object.entries(s.Condition ?? {})) {
    const holds = conditionHolds(operator, block ?? {}, context);
    if (holds !== true) return holds;
  }
  return true;
}

/**
 * AWS's decision on SNS sending from `request.topicArn` to `request.queueArn` under `policy` (the
 * queue's `Policy` attribute; none means no grant).
 */
export function snsMaySend(policy: string | undefined, request: SnsDeliveryRequest): PolicyDecision {
  if (!policy) return { allowed: false, reason: "the queue has no policy that lets SNS send to it" };
  let statements: Statement[];
  try {
    const document = JSON.parse(policy) as { Statement?: Statement | Statement[] };
    statements = Array.isArray(document.Statement) ? document.Statement : document.Statement ? [document.Statement] : [];
  } catch {
    return { allowed: false, reason: "the queue policy is not JSON" };
  }
  const context = { "aws:sourcearn": request.topicArn, "aws:sourceaccount": request.topicArn.split(":")[4] ?? "", "aws:securetransport": "true" };
  const deny = statements.find((s) => s.Effect === "Deny" && applies(s, request, context) === true);
  if (deny) return { allowed: false, reason: `the queue policy denies it (statement ${deny.Sid ?? "without Sid"})` };
  const allow = statements.find((s) => s.Effect === "Allow" && applies(s, request, context) === true);
  if (allow) return { allowed: true, reason: `allowed by statement ${allow.Sid ?? "without Sid"}` };
  return { allowed: false, reason: "no statement of the queue policy lets sns.amazonaws.com send from this topic" };
}
