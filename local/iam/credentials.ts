/**
 * Local credentials per role session: each function (and the state machine) gets its own access
 * key id and secret, random per run, and every request signed with them acts as that role's
 * session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`, as Lambda names a function's
 * session after the function). Any other key is not in the registry and acts as administrator, so
 * the tools, the tests and the AWS CLI with any credentials keep working.
 */
import { randomBytes } from "node:crypto";
import type { CallerPrincipal } from "./evaluate";

/** One issued pair, and whom it acts as. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  roleArn: string;
  /** The role session name: the function's name, or the state machine's. */
  sessionName: string;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** `ASIA` (AWS's prefix of temporary keys) and 16 random base32 characters, like STS's keys. */
function accessKeyId(): string {
  return `ASIA${[...randomBytes(16)].map((b) => BASE32[b % 32]).join("")}`;
}

/** The assumed-role session principal of a role ARN (`arn:aws:iam::<account>:role/<path/>name`). */
export function sessionPrincipal(roleArn: string, sessionName: string): Extract<CallerPrincipal, { kind: "role" }> {
  const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  if (!match) throw new Error(`Not a role ARN: "${roleArn}" (expected arn:aws:iam::<account>:role/<name>)`);
  const [, account, roleName] = match;
  return { kind: "role", roleArn, account: account!, sessionArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}` };
}

export class CredentialRegistry {
  private readonly byKey = new Map<string, RoleCredentials>();
  private readonly bySession = new Map<string, RoleCredentials>();

  /**
   * The credentials of one role session; the same pair for the same session and role all run.
   * @param sessionName - The function's (or state machine's) physical name.
   * @param roleArn - The role it runs as.
   */
  issue(sessionName: string, roleArn: string): RoleCredentials {
    sessionPrincipal(roleArn, sessionName); // validates the ARN now, not at the first call
    const key = `${roleArn} ${sessionName}`;
    const existing = this.bySession.get(key);
    if (existing) return existing;
    const credentials: RoleCredentials = { accessKeyId: accessKeyId(), secretAccessKey: randomBytes(30).toString("base64"), roleArn, sessionName };
    this.byKey.set(credentials.accessKeyId, credentials);
    this.bySession.set(key, credentials);
    return credentials;
  }

  /** Whom an access key id acts as; undefined for a key this run did not issue (an administrator). */
  lookup(accessKeyId: string): RoleCredentials | undefined {
    return this.byKey.get(accessKeyId);
  }

  /** Every issued pair. */
  all(): RoleCredentials[] {
    return [...this.byKey.values()];
  }
}
