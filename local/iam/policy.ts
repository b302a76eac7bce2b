/**
 * IAM policy documents as the evaluator reads them: statements with every single-or-list field
 * made a list, and the wildcard match IAM uses for actions, resources and `*Like` conditions.
 */

/** One statement of a policy document, normalized. */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: PrincipalBlock;
  NotPrincipal?: PrincipalBlock;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** `"*"`, or `{ AWS: [...], Service: [...] }`. */
export type PrincipalBlock = "*" | Record<string, string[]>;

/** A document and where it came from, for messages. */
export interface PolicyDocument {
  /** e.g. `inline policy orders-api-policy of role dofs-dev-orders-api`, `queue policy of arn:...`. */
  source: string;
  statements: PolicyStatement[];
}

/** Raised for a document the evaluator cannot read (the local cloud refuses to start with it). */
export class PolicyDocumentError extends Error {
  override name = "PolicyDocumentError";
}

const list = (value: unknown): string[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

function principalBlock(value: unknown, where: string): PrincipalBlock | undefined {
  if (value === undefined) return undefined;
  if (value === "*") return "*";
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new PolicyDocumentError(`${where}: Principal must be "*" or an object, got ${JSON.stringify(value)}`);
  return Object.fromEntries(Object.entries(value).map(([kind, v]) => [kind, list(v)]));
}

/**
 * Parses a policy document (JSON text or an object) into statements.
 * @param document - The document: a `Policy`/`policy` input as the program declares it.
 * @param source - Names the document in errors and in the evaluator's explanations.
 * @throws PolicyDocumentError naming the statement and what is wrong.
 */
export function parsePolicy(document: unknown, source: string): PolicyDocument {
  let parsed: unknown = document;
  if (typeof document === "string") {
    try {
      parsed = JSON.parse(document);
    } catch (error) {
      throw new PolicyDocumentError(`${source}: not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (!parsed || typeof parsed !== "object") throw new PolicyDocumentError(`${source}: not a policy document`);
  const raw = (parsed as { Statement?: unknown }).Statement;
  const statements = (Array.isArray(raw) ? raw : raw ? [raw] : []).map((s: unknown, index) => {
    const where = `${source}, statement ${index}`;
    if (!s || typeof s !== "object") throw new PolicyDocumentError(`${where}: not an object`);
    const st = s as Record<string, unknown>;
    if (st.Effect !== "Allow" && st.Effect !== "Deny") throw new PolicyDocumentError(`${where}: Effect must be Allow or Deny, got ${JSON.stringify(st.Effect)}`);
    const condition: PolicyStatement["Condition"] = {};
    for (const [operator, block] of Object.entries((st.Condition as Record<string, unknown>) ?? {})) {
      if (!block || typeof block !== "object") throw new PolicyDocumentError(`${where}: Condition ${operator} must be an object`);
      condition[operator] = Object.fromEntries(Object.entries(block).map(([key, v]) => [key, list(v)]));
    }
    const statement: PolicyStatement = { Effect: st.Effect };
    if (typeof st.Sid === "string") statement.Sid = st.Sid;
    const principal = principalBlock(st.Principal, where);
    const notPrincipal = principalBlock(st.NotPrincipal, where);
    if (principal) statement.Principal = principal;
    if (notPrincipal) statement.NotPrincipal = notPrincipal;
    if (st.Action !== undefined) statement.Action = list(st.Action);
    if (st.NotAction !== undefined) statement.NotAction = list(st.NotAction);
    if (st.Resource !== undefined) statement.Resource = list(st.Resource);
    if (st.NotResource !== undefined) statement.NotResource = list(st.NotResource);
    if (Object.keys(condition).length) statement.Condition = condition;
    return statement;
  });
  return { source, statements };
}

const globCache = new Map<string, RegExp>();

/** IAM's wildcard match: `*` any run of characters, `?` one; actions are matched case-insensitively. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const cacheKey = `${caseInsensitive ? "i" : "s"}${pattern}`;
  let regex = globCache.get(cacheKey);
  if (!regex) {
    const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    regex = new RegExp(`^${escaped}$`, caseInsensitive ? "is" : "s");
    globCache.set(cacheKey, regex);
  }
  return regex.test(value);
}

/** ARN matching: six colon-separated parts, each matched on its own (`ArnLike`, resources). */
export function arnMatch(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const p = pattern.split(":");
  const a = arn.split(":");
  if (p.length < 6 || a.length < 6) return wildcardMatch(pattern, arn);
  const head = (parts: string[]) => [...parts.slice(0, 5), parts.slice(5).join(":")];
  const ph = head(p);
  const ah = head(a);
  return ph.every((part, i) => wildcardMatch(part, ah[i]!));
}
