/**
 * What each principal did during a run, as IAM saw it (what LocalStack calls a policy stream):
 * every action it was allowed on which resource (with a count), every call refused (with AWS's
 * message and the missing permission in policy form), and each role's grants, so the report
 * (`report.ts`, `npm run iam-report`) can list the granted actions never used. Written as JSON to
 * `iam-usage.json` beside the outputs file while the cloud runs (at most every `flushMs`) and when
 * it stops.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface UsedAction {
  action: string;
  resource: string;
  calls: number;
}

export interface DeniedCall {
  /** The session (function or state machine) or service that called. */
  caller: string;
  action: string;
  resource: string;
  /** AWS's message. */
  message: string;
  /** The permission that would allow it, in policy form, and where it goes. */
  missing: string;
  calls: number;
}

/** One Allow statement of a role's identity policies. */
export interface Grant {
  sid?: string;
  actions: string[];
  resources: string[];
}

export interface PrincipalUsage {
  /** Role ARN, or the service principal (`sns.amazonaws.com`). */
  principal: string;
  /** The role's name (roles only). */
  role?: string;
  /** The sessions that acted as it (functions, the state machine). */
  sessions: string[];
  used: UsedAction[];
  denied: DeniedCall[];
  /** What its identity policies allow (roles only). */
  grants: Grant[];
}

export interface UsageFile {
  /** Whether IAM was enforced in the run (`--no-iam` turns it off). */
  enforcement: boolean;
  updatedAt: string;
  principals: PrincipalUsage[];
}

export class UsageRecorder {
  private readonly principals = new Map<string, PrincipalUsage>();
  private timer: NodeJS.Timeout | undefined;
  /** The write in flight, if any (the writes while the cloud runs are asynchronous). */
  private writing: Promise<void> = Promise.resolve();
  /** Bumped by every write, so an asynchronous write that a later one overtook does not replace it. */
  private generation = 0;

  /**
   * @param file - Where to write the usage; undefined keeps it in memory only.
   * @param enforcement - Recorded in the file.
   * @param flushMs - Longest wait between a call and the file showing it. @default 500
   */
  constructor(
    private readonly file: string | undefined,
    private readonly enforcement: boolean,
    private readonly flushMs = 500,
  ) {}

  /** Declares a principal (a role with its grants) so a role that makes no call is listed too. */
  declare(principal: string, role?: string, grants: Grant[] = []): PrincipalUsage {
    let entry = this.principals.get(principal);
    if (!entry) {
      entry = { principal, ...(role ? { role } : {}), sessions: [], used: [], denied: [], grants };
      this.principals.set(principal, entry);
    }
    return entry;
  }

  allowed(principal: string, session: string, action: string, resource: string): void {
    const entry = this.session(principal, session);
    const used = entry.used.find((u) => u.action === action && u.resource === resource);
    if (used) used.calls += 1;
    else entry.used.push({ action, resource, calls: 1 });
    this.schedule();
  }

  denied(principal: string, call: Omit<DeniedCall, "calls">): void {
    const entry = this.session(principal, call.caller);
    const prior = entry.denied.find((d) => d.caller === call.caller && d.action === call.action && d.resource === call.resource);
    if (prior) prior.calls += 1;
    else entry.denied.push({ ...call, calls: 1 });
    this.schedule();
  }

  /** Every call refused so far, of every principal. */
  deniedCalls(): DeniedCall[] {
    return [...this.principals.values()].flatMap((p) => p.denied);
  }

  snapshot(): UsageFile {
    return { enforcement: this.enforcement, updatedAt: new Date().toISOString(), principals: [...this.principals.values()].map((p) => structuredClone(p)) };
  }

  /** Writes the file now, synchronously (and cancels a pending write). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.file) return;
    this.generation += 1;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, this.text());
    fs.renameSync(temporary, this.file);
  }

  /** Waits for the write in flight, then writes the file (when the cloud stops). */
  async close(): Promise<void> {
    await this.writing;
    this.flush();
  }

  /** The file's text: the snapshot, serialized now. */
  private text(): string {
    return `${JSON.stringify(this.snapshot(), null, 2)}\n`;
  }

  /**
   * The write while the cloud runs: serialized now, written and renamed on the thread pool, one at
   * a time. A synchronous write, and its rename, on the event loop every `flushMs` cost the calls
   * waiting behind it several ms each time (a CPU profile of the local cloud at one client).
   */
  private flushInBackground(): void {
    this.timer = undefined;
    const file = this.file;
    if (!file) return;
    const generation = (this.generation += 1);
    const text = this.text();
    const temporary = `${file}.${process.pid}.${generation}.tmp`;
    this.writing = this.writing.then(async () => {
      try {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        await fs.promises.writeFile(temporary, text);
        // A later write already ran (a synchronous flush): this one is stale.
        if (generation !== this.generation) return await fs.promises.rm(temporary, { force: true });
        await fs.promises.rename(temporary, file);
      } catch {
        // The directory went away (the run's state was removed): the next write tries again.
        await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
      }
    });
  }

  private session(principal: string, session: string): PrincipalUsage {
    const entry = this.declare(principal);
    if (!entry.sessions.includes(session)) entry.sessions.push(session);
    return entry;
  }

  private schedule(): void {
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => this.flushInBackground(), this.flushMs);
    this.timer.unref();
  }
}
