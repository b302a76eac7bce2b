/**
 * IAM policy documents as the policies read them: parsing (JSON text or object), statements,
 * principals, conditions and wildcard matching of actions and ARNs.
 */

export interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement?: Statement | Statement[];
}

/** Where a document sits on a resource and what kind of policy it is. */
export interface DocumentRef {
  /** `identity` (attached to a role/user/group), `resource` (queue, topic, log), `key` (KMS key policy), `trust` (role assume policy). */
  kind: "identity" | "resource" | "key" | "trust";
  /** The property holding it, e.g. `policy`, `inlinePolicies[0].policy`. */
  property: string;
  raw: unknown;
}

export type Parsed = { ok: true; doc: PolicyDocument } | { ok: false; error: string };

/** Parses a policy property: JSON text or an object. */
export function parseDocument(raw: unknown): Parsed {
  if (raw === undefined || raw === null || raw === "") return { ok: false, error: "is empty" };
  if (typeof raw === "string") {
    try {
      const doc = JSON.parse(raw) as unknown;
      if (!doc || typeof doc !== "object" || Array.isArray(doc)) return { ok: false, error: "is not a JSON object" };
      return { ok: true, doc: doc as PolicyDocument };
    } catch (e) {
      return { ok: false, error: `is not valid JSON (${(e as Error).message})` };
    }
  }
  if (typeof raw === "object" && !Array.isArray(raw)) return { ok: true, doc: raw as PolicyDocument };
  return { ok: false, error: "is not a policy document" };
}

export function asArray<V>(value: V | V[] | undefined | null): V[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function statements(doc: PolicyDocument): Statement[] {
  return asArray(doc.Statement).filter((s): s is Statement => !!s && typeof s === "object");
}

/** Statements of a raw document, or none when it does not parse (another policy reports that). */
export function statementsOf(raw: unknown): Statement[] {
  const parsed = parseDocument(raw);
  return parsed.ok ? statements(parsed.doc) : [];
}

export const isAllow = (s: Statement) => s.Effect === "Allow";
export const isDeny = (s: Statement) => s.Effect === "Deny";
export const actionsOf = (s: Statement) => asArray(s.Action).map(String);
export const resourcesOf = (s: Statement) => asArray(s.Resource).map(String);

/** `Sid` or the statement's position, to name it in messages. */
export function statementLabel(s: Statement, index: number): string {
  return s.Sid ? `statement "${s.Sid}"` : `statement #${index + 1}`;
}

/** A principal list: `"*"` entries and `{ AWS | Service | Federated: ... }` values. */
export function principals(s: Statement): { kind: string; value: string }[] {
  const p = s.Principal;
  if (p === undefined) return [];
  if (typeof p === "string") return [{ kind: p === "*" ? "*" : "AWS", value: p }];
  if (typeof p === "object" && p) {
    return Object.entries(p as Record<string, unknown>).flatMap(([kind, v]) => asArray(v as string | string[]).map((value) => ({ kind, value: String(value) })));
  }
  return [];
}

/** True for `"*"` or `{ AWS: "*" }`: anyone at all. */
export function isPublicPrincipal(s: Statement): boolean {
  return principals(s).some((p) => p.value === "*" && (p.kind === "*" || p.kind === "AWS"));
}

/** Condition keys that tie a grant to a source (account, ARN, organisation, VPC endpoint). */
export const SOURCE_CONDITION_KEYS = [
  "aws:sourcearn",
  "aws:sourceaccount",
  "aws:sourceowner",
  "aws:sourceorgid",
  "aws:sourceorgpaths",
  "aws:principalorgid",
  "aws:principalaccount",
  "aws:principalarn",
  "aws:sourcevpce",
  "aws:sourcevpc",
  "kms:calleraccount",
];

/** The condition keys (lower case) a statement tests, whatever the operator. */
export function conditionKeys(s: Statement): string[] {
  return Object.values(s.Condition ?? {}).flatMap((block) => Object.keys(block ?? {}).map((k) => k.toLowerCase()));
}

export function hasSourceCondition(s: Statement): boolean {
  return conditionKeys(s).some((k) => SOURCE_CONDITION_KEYS.includes(k));
}

/** `Bool`/`BoolIfExists` `aws:SecureTransport: false`. */
export function deniesInsecureTransport(s: Statement): boolean {
  if (!isDeny(s)) return false;
  for (const [op, block] of Object.entries(s.Condition ?? {})) {
    if (!/^Bool(IfExists)?$/.test(op)) continue;
    for (const [key, value] of Object.entries(block ?? {})) {
      if (key.toLowerCase() === "aws:securetransport" && asArray(value as string | string[]).map(String).includes("false")) return true;
    }
  }
  return false;
}

/** IAM wildcard match (`*` any run, `?` one character), case-insensitive as IAM actions are. */
export function globMatch(pattern: string, value: string, caseInsensitive = true): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, caseInsensitive ? "i" : "");
  return regex.test(value);
}

/** Does the statement's Action cover `action`? (NotAction statements cover whatever they do not list.) */
export function coversAction(s: Statement, action: string): boolean {
  if (s.NotAction !== undefined) return !asArray(s.NotAction).some((p) => globMatch(String(p), action));
  return actionsOf(s).some((p) => globMatch(p, action));
}

/** Does the statement's Resource cover `arn`? */
export function coversResource(s: Statement, arn: string): boolean {
  if (s.NotResource !== undefined) return !asArray(s.NotResource).some((p) => globMatch(String(p), arn, false));
  return resourcesOf(s).some((p) => globMatch(p, arn, false));
}

/** Do the Allow statements grant every one of `actions` on `arn`? Returns the actions missing. */
export function missingActions(allows: Statement[], actions: string[], arn: string): string[] {
  return actions.filter((a) => !allows.some((s) => isAllow(s) && coversAction(s, a) && coversResource(s, arn)));
}
