/**
 * The IAM decision for one request, as AWS's policy evaluation logic makes it within one account
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 *
 * 1. an explicit Deny that applies, in an identity policy or in the resource policy, refuses;
 * 2. otherwise an Allow in an identity policy of the principal, or an Allow in the resource policy
 *    that names the principal itself, grants (within an account, either one is enough);
 * 3. KMS is the exception: the key policy must allow, either the principal itself or the account
 *    (`arn:aws:iam::<account>:root`, which delegates the key to IAM: then an identity policy must
 *    allow too);
 * 4. otherwise the request is refused (implicit deny).
 *
 * A resource policy's grant to the account root is not a grant to a role (it only lets IAM decide),
 * and a Deny to the account root or to `*` applies to every principal of the account.
 * Conditions: the String, Arn (ArnEquals matches like ArnLike, as AWS documents), Bool and Null operators, with `...IfExists` and the
 * `ForAnyValue:`/`ForAllValues:` set prefixes (every context value here is single). A condition
 * operator the evaluator does not know makes an Allow never apply and a Deny always apply, so an
 * unknown condition can only refuse, never grant.
 */
import type { PolicyDocument, PolicyStatement, PrincipalBlock } from "./policy";
import { arnMatch, wildcardMatch } from "./policy";

/** Who calls: a role session (a function, the state machine) or an AWS service. */
export type CallerPrincipal =
  | { kind: "role"; roleArn: string; /** `arn:aws:sts::<account>:assumed-role/<role>/<session>` */ sessionArn: string; account: string }
  | { kind: "service"; service: string };

export interface AuthorizationRequest {
  principal: CallerPrincipal;
  /** `service:Action`, e.g. `dynamodb:PutItem`. */
  action: string;
  /** The resource ARN (`*` for actions without resources). */
  resource: string;
  /** Request context: `aws:SourceArn`, `aws:SecureTransport`, ... (keys case-insensitive). */
  context?: Record<string, string>;
}

export interface ApplicablePolicies {
  /** The principal's identity policies (none for a service principal). */
  identity: PolicyDocument[];
  /** The resource's own policy, if the service has one. */
  resource?: PolicyDocument;
  /** The resource policy must allow (KMS key policies). @default false */
  resourcePolicyRequired?: boolean;
}

export type DenyReason = "explicit-deny-identity" | "explicit-deny-resource" | "no-identity-allow" | "no-resource-allow";

export type Decision =
  | { allowed: true; /** The statement that granted, `<source>: <Sid>`. */ grantedBy: string }
  | { allowed: false; reason: DenyReason; /** The denying statement, for explicit denies. */ deniedBy?: string };

type PrincipalMatch = "self" | "account" | false;

function principalMatch(block: PrincipalBlock, principal: CallerPrincipal): PrincipalMatch {
  if (block === "*") return "self";
  if (principal.kind === "service") return (block.Service ?? []).includes(principal.service) ? "self" : false;
  const aws = block.AWS ?? [];
  if (aws.includes("*")) return "self";
  if (aws.some((p) => p === principal.roleArn || p === principal.sessionArn)) return "self";
  if (aws.some((p) => p === principal.account || p === `arn:aws:iam::${principal.account}:root`)) return "account";
  return false;
}

function statementPrincipal(s: PolicyStatement, principal: CallerPrincipal): PrincipalMatch {
  if (s.NotPrincipal) return principalMatch(s.NotPrincipal, principal) ? false : "self";
  return s.Principal ? principalMatch(s.Principal, principal) : false;
}

function actionApplies(s: PolicyStatement, action: string): boolean {
  if (s.NotAction) return !s.NotAction.some((a) => wildcardMatch(a, action, true));
  return (s.Action ?? []).some((a) => wildcardMatch(a, action, true));
}

function resourceApplies(s: PolicyStatement, resource: string): boolean {
  if (s.NotResource) return !s.NotResource.some((r) => arnMatch(r, resource));
  // A resource policy statement without Resource applies to the resource it is attached to.
  if (!s.Resource) return true;
  return s.Resource.some((r) => arnMatch(r, resource));
}

const NEGATED = new Set(["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"]);
const KNOWN = new Set([...NEGATED, "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "Null"]);

/** One operator on one key: true, false, or undefined for an operator it does not know. */
function operatorHolds(operator: string, expected: string[], actual: string | undefined): boolean | undefined {
  if (!KNOWN.has(operator)) return undefined;
  if (operator === "Null") return expected.some((v) => (v.toLowerCase() === "true") === (actual === undefined));
  if (actual === undefined) return NEGATED.has(operator) ? true : false;
  switch (operator) {
    case "StringEquals":
      return expected.includes(actual);
    case "StringNotEquals":
      return !expected.includes(actual);
    case "StringEqualsIgnoreCase":
      return expected.some((v) => v.toLowerCase() === actual.toLowerCase());
    case "StringNotEqualsIgnoreCase":
      return !expected.some((v) => v.toLowerCase() === actual.toLowerCase());
    case "StringLike":
      return expected.some((v) => wildcardMatch(v, actual));
    case "StringNotLike":
      return !expected.some((v) => wildcardMatch(v, actual));
    // AWS matches ArnEquals like ArnLike: each of the six parts on its own, wildcards allowed.
    case "ArnEquals":
    case "ArnLike":
      return expected.some((v) => arnMatch(v, actual));
    case "ArnNotEquals":
    case "ArnNotLike":
      return !expected.some((v) => arnMatch(v, actual));
    case "Bool":
      return expected.some((v) => v.toLowerCase() === actual.toLowerCase());
    default:
      return undefined;
  }
}

/** Every condition of a statement: true, false, or undefined when one operator is unknown. */
export function conditionsHold(condition: PolicyStatement["Condition"], context: Record<string, string>): boolean | undefined {
  for (const [rawOperator, block] of Object.entries(condition ?? {})) {
    const operator = rawOperator.replace(/^For(AnyValue|AllValues):/, "");
    const ifExists = operator.endsWith("IfExists") && operator !== "Null";
    const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
    for (const [key, expected] of Object.entries(block)) {
      const actual = context[key.toLowerCase()];
      if (actual === undefined && ifExists) continue;
      const holds = operatorHolds(base, expected, actual);
      if (holds !== true) return holds;
    }
  }
  return true;
}

const label = (doc: PolicyDocument, s: PolicyStatement) => `${doc.source}: ${s.Sid ?? "statement without Sid"}`;

interface Match {
  statement: PolicyStatement;
  document: PolicyDocument;
  principal: PrincipalMatch;
}

function matching(docs: PolicyDocument[], request: AuthorizationRequest, context: Record<string, string>, isResourcePolicy: boolean, effect: "Allow" | "Deny"): Match[] {
  const found: Match[] = [];
  for (const document of docs) {
    for (const statement of document.statements) {
      if (statement.Effect !== effect) continue;
      const principal: PrincipalMatch = isResourcePolicy ? statementPrincipal(statement, request.principal) : "self";
      if (!principal || !actionApplies(statement, request.action) || !resourceApplies(statement, request.resource)) continue;
      const holds = conditionsHold(statement.Condition, context);
      // Unknown operator: a Deny applies (fail closed), an Allow does not.
      if (holds === true || (holds === undefined && effect === "Deny")) found.push({ statement, document, principal });
    }
  }
  return found;
}

/** AWS's decision on `request` under `policies`. */
export function evaluate(request: AuthorizationRequest, policies: ApplicablePolicies): Decision {
  const context = Object.fromEntries(Object.entries(request.context ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const identity = request.principal.kind === "role" ? policies.identity : [];
  const resource = policies.resource ? [policies.resource] : [];

  const identityDeny = matching(identity, request, context, false, "Deny")[0];
  if (identityDeny) return { allowed: false, reason: "explicit-deny-identity", deniedBy: label(identityDeny.document, identityDeny.statement) };
  const resourceDeny = matching(resource, request, context, true, "Deny")[0];
  if (resourceDeny) return { allowed: false, reason: "explicit-deny-resource", deniedBy: label(resourceDeny.document, resourceDeny.statement) };

  const identityAllow = matching(identity, request, context, false, "Allow")[0];
  const resourceAllows = matching(resource, request, context, true, "Allow");
  const direct = resourceAllows.find((m) => m.principal === "self");
  const delegated = resourceAllows.find((m) => m.principal === "account");

  if (policies.resourcePolicyRequired) {
    if (direct) return { allowed: true, grantedBy: label(direct.document, direct.statement) };
    if (!delegated) return { allowed: false, reason: "no-resource-allow" };
    if (identityAllow) return { allowed: true, grantedBy: label(identityAllow.document, identityAllow.statement) };
    return { allowed: false, reason: "no-identity-allow" };
  }
  if (identityAllow) return { allowed: true, grantedBy: label(identityAllow.document, identityAllow.statement) };
  if (direct) return { allowed: true, grantedBy: label(direct.document, direct.statement) };
  return { allowed: false, reason: request.principal.kind === "service" ? "no-resource-allow" : "no-identity-allow" };
}

/** The principal as AWS names it in an error (`User: <this> is not authorized ...`). */
export function principalName(principal: CallerPrincipal): string {
  return principal.kind === "role" ? principal.sessionArn : principal.service;
}

/** AWS's wording of a refusal (the message of `AccessDeniedException` and its kin). */
export function denialMessage(request: AuthorizationRequest, reason: DenyReason, actionAsWritten = request.action): string {
  const head = `User: ${principalName(request.principal)} is not authorized to perform: ${actionAsWritten} on resource: ${request.resource}`;
  switch (reason) {
    case "explicit-deny-identity":
      return `${head} with an explicit deny in an identity-based policy`;
    case "explicit-deny-resource":
      return `${head} with an explicit deny in a resource-based policy`;
    case "no-identity-allow":
      return `${head} because no identity-based policy allows the ${actionAsWritten} action`;
    case "no-resource-allow":
      return `${head} because no resource-based policy allows the ${actionAsWritten} action`;
  }
}
