/**
 * The usage report (`npm run iam-report`): per role, every action it used on which resources,
 * every call refused (AWS's message and the missing permission), and every granted action it
 * never used during the run (a grant that can be narrowed, or a path the run did not exercise).
 * Several usage files (one per local cloud run, e.g. one per integration test file) merge into one
 * report.
 */
import type { Grant, PrincipalUsage, UsageFile } from "./usage";
import { arnMatch, wildcardMatch } from "./policy";

/** Resources listed per action before the rest are counted. */
const SHOWN_RESOURCES = 3;

/** Merges the usage of several runs, principal by principal. */
export function mergeUsage(files: UsageFile[]): PrincipalUsage[] {
  const merged = new Map<string, PrincipalUsage>();
  for (const file of files) {
    for (const p of file.principals) {
      const into = merged.get(p.principal) ?? { principal: p.principal, ...(p.role ? { role: p.role } : {}), sessions: [], used: [], denied: [], grants: p.grants };
      for (const s of p.sessions) if (!into.sessions.includes(s)) into.sessions.push(s);
      for (const u of p.used) {
        const prior = into.used.find((x) => x.action === u.action && x.resource === u.resource);
        if (prior) prior.calls += u.calls;
        else into.used.push({ ...u });
      }
      for (const d of p.denied) {
        const prior = into.denied.find((x) => x.caller === d.caller && x.action === d.action && x.resource === d.resource);
        if (prior) prior.calls += d.calls;
        else into.denied.push({ ...d });
      }
      merged.set(p.principal, into);
    }
  }
  return [...merged.values()];
}

/** The (action, resource) pairs a role's grants allow that no call used. */
export function unusedGrants(principal: PrincipalUsage): { sid?: string; action: string; resources: string[] }[] {
  const unused: { sid?: string; action: string; resources: string[] }[] = [];
  for (const grant of principal.grants) {
    for (const action of grant.actions) {
      const resources = grant.resources.filter((resource) => !principal.used.some((u) => wildcardMatch(action, u.action, true) && arnMatch(resource, u.resource)));
      if (resources.length) unused.push({ ...(grant.sid ? { sid: grant.sid } : {}), action, resources });
    }
  }
  return unused;
}

function usedLines(principal: PrincipalUsage): string[] {
  const byAction = new Map<string, { resources: string[]; calls: number }>();
  for (const u of principal.used) {
    const entry = byAction.get(u.action) ?? { resources: [], calls: 0 };
    entry.resources.push(u.resource);
    entry.calls += u.calls;
    byAction.set(u.action, entry);
  }
  return [...byAction.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([action, { resources, calls }]) => {
      const shown = resources.slice(0, SHOWN_RESOURCES).join(", ");
      const more = resources.length > SHOWN_RESOURCES ? ` and ${resources.length - SHOWN_RESOURCES} more` : "";
      return `    ${action} on ${shown}${more} (${calls} call${calls === 1 ? "" : "s"})`;
    });
}

/** The report as text. */
export function formatReport(files: UsageFile[]): string {
  const principals = mergeUsage(files).sort((a, b) => (a.role ?? `~${a.principal}`).localeCompare(b.role ?? `~${b.principal}`));
  const enforced = files.every((f) => f.enforcement);
  const denied = principals.reduce((n, p) => n + p.denied.reduce((m, d) => m + d.calls, 0), 0);
  const lines = [
    `IAM usage of ${files.length} local cloud run${files.length === 1 ? "" : "s"}${enforced ? "" : " (NOT all enforced: --no-iam)"}: ${principals.length} principals, ${denied} denied call${denied === 1 ? "" : "s"}`,
  ];
  for (const p of principals) {
    lines.push("", p.role ? `role ${p.role} (${p.principal}), as ${p.sessions.join(", ") || "nobody: no call"}` : `service ${p.principal}`);
    const used = usedLines(p);
    lines.push(`  used:${used.length ? "" : " nothing"}`, ...used);
    if (p.denied.length) {
      lines.push("  denied:");
      for (const d of p.denied) lines.push(`    ${d.caller}, ${d.calls} call${d.calls === 1 ? "" : "s"}: ${d.message}`, `      ${d.missing}`);
    } else lines.push("  denied: none");
    if (p.role) {
      const unused = unusedGrants(p);
      // One line per statement and resource set: the actions of it no call used.
      const grouped = new Map<string, string[]>();
      for (const u of unused) {
        const key = `${u.sid ?? "(no Sid)"}: on ${u.resources.join(", ")}`;
        grouped.set(key, [...(grouped.get(key) ?? []), u.action]);
      }
      lines.push(`  granted, never used:${grouped.size ? "" : " none"}`, ...[...grouped].map(([key, actions]) => `    ${key.replace(": on", ` ${actions.join(", ")} on`)}`));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Reads and checks a usage file's shape. */
export function parseUsageFile(text: string, where: string): UsageFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const file = data as Partial<UsageFile>;
  if (typeof file.enforcement !== "boolean" || !Array.isArray(file.principals)) throw new Error(`${where} is not an IAM usage file (no enforcement flag or principals list)`);
  for (const p of file.principals as Partial<PrincipalUsage>[]) {
    if (typeof p.principal !== "string" || !Array.isArray(p.used) || !Array.isArray(p.denied) || !Array.isArray(p.grants) || !Array.isArray(p.sessions)) {
      throw new Error(`${where}: principal ${JSON.stringify(p.principal)} lacks used, denied, grants or sessions`);
    }
  }
  return file as UsageFile;
}

export type { Grant };
