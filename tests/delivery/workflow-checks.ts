/**
 * Structural checks of the delivery workflows. Each check returns the problems it finds (empty when
 * the workflow is right), so the tests can assert both that the real workflows pass and that a
 * deliberately broken copy fails with the expected problem.
 */
import { z } from "zod";

const Step = z.looseObject({
  name: z.string().optional(),
  uses: z.string().optional(),
  run: z.string().optional(),
  if: z.string().optional(),
  with: z.record(z.string(), z.unknown()).optional(),
  env: z.record(z.string(), z.unknown()).optional(),
  "continue-on-error": z.unknown().optional(),
});
export type Step = z.infer<typeof Step>;

const Concurrency = z.union([z.string(), z.looseObject({ group: z.string(), "cancel-in-progress": z.unknown().optional() })]);
const Permissions = z.union([z.string(), z.record(z.string(), z.string())]);

const Job = z.looseObject({
  name: z.string().optional(),
  needs: z.union([z.string(), z.array(z.string())]).optional(),
  if: z.string().optional(),
  environment: z.union([z.string(), z.looseObject({ name: z.string() })]).optional(),
  permissions: Permissions.optional(),
  concurrency: Concurrency.optional(),
  env: z.record(z.string(), z.unknown()).optional(),
  strategy: z.looseObject({ matrix: z.record(z.string(), z.unknown()).optional() }).optional(),
  steps: z.array(Step).default([]),
  "continue-on-error": z.unknown().optional(),
});
export type Job = z.infer<typeof Job>;

export const Workflow = z.looseObject({
  name: z.string().optional(),
  on: z.union([z.string(), z.array(z.string()), z.record(z.string(), z.unknown())]),
  permissions: Permissions.optional(),
  env: z.record(z.string(), z.unknown()).optional(),
  concurrency: Concurrency.optional(),
  jobs: z.record(z.string(), Job),
});
export type Workflow = z.infer<typeof Workflow>;

/** The events a workflow runs on. */
export function triggers(wf: Workflow): string[] {
  if (typeof wf.on === "string") return [wf.on];
  if (Array.isArray(wf.on)) return wf.on;
  return Object.keys(wf.on);
}

/** `needs` as a list. */
function needsOf(job: Job): string[] {
  if (job.needs === undefined) return [];
  return typeof job.needs === "string" ? [job.needs] : job.needs;
}

/** Every job `id` waits for, directly or through other jobs. */
export function allNeeds(wf: Workflow, id: string, seen = new Set<string>()): Set<string> {
  const job = wf.jobs[id];
  for (const dep of job ? needsOf(job) : []) {
    if (seen.has(dep)) continue;
    seen.add(dep);
    allNeeds(wf, dep, seen);
  }
  return seen;
}

function environmentName(job: Job): string | undefined {
  return typeof job.environment === "string" ? job.environment : job.environment?.name;
}

function isAction(step: Step, action: string): boolean {
  return step.uses !== undefined && step.uses.split("@")[0] === action;
}

/**
 * The stacks a step addresses: its literal `stack-name`, or every value of the matrix key it names
 * (`${{ matrix.stack }}`), read from the job's `strategy.matrix` (`include` entries and plain lists).
 */
export function stacksOf(job: Job, step: Step): string[] {
  const name = step.with?.["stack-name"];
  if (typeof name !== "string") return [];
  const fromMatrix = /^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(name);
  if (!fromMatrix) return [name];
  const key = fromMatrix[1] ?? "";
  const matrix = job.strategy?.matrix ?? {};
  const values: string[] = [];
  const plain = matrix[key];
  if (Array.isArray(plain)) values.push(...plain.map(String));
  const include = matrix.include;
  if (Array.isArray(include)) {
    for (const entry of include) {
      const value = (entry as Record<string, unknown>)[key];
      if (value !== undefined) values.push(String(value));
    }
  }
  return values;
}

/** A matrix entry's value for `key` where `stackKey` equals `stack` (e.g. the region of `dev`). */
function matrixValueFor(job: Job, stack: string, key: string): unknown {
  const include = job.strategy?.matrix?.include;
  if (!Array.isArray(include)) return undefined;
  const entry = (include as Record<string, unknown>[]).find((e) => Object.values(e).includes(stack));
  return entry?.[key];
}

interface PulumiCall {
  jobId: string;
  index: number;
  command: string;
  stack: string;
  step: Step;
}

/** Every `pulumi/actions` call, one per (step, stack). */
export function pulumiCalls(wf: Workflow): PulumiCall[] {
  const calls: PulumiCall[] = [];
  for (const [jobId, job] of Object.entries(wf.jobs)) {
    job.steps.forEach((step, index) => {
      if (!isAction(step, "pulumi/actions")) return;
      const command = String(step.with?.command ?? "");
      for (const stack of stacksOf(job, step)) calls.push({ jobId, index, command, stack, step });
    });
  }
  return calls;
}

/** A position in a workflow: a job and a step in it. */
interface Position {
  jobId: string;
  index: number;
}

/** True when `a` certainly finishes before `b` starts: earlier in the same job, or in a job `b`'s job needs. */
export function runsBefore(wf: Workflow, a: Position, b: Position): boolean {
  if (a.jobId === b.jobId) return a.index < b.index;
  return allNeeds(wf, b.jobId).has(a.jobId);
}

function findRunStep(wf: Workflow, pattern: RegExp): Position[] {
  const found: Position[] = [];
  for (const [jobId, job] of Object.entries(wf.jobs)) {
    job.steps.forEach((step, index) => {
      if (step.run !== undefined && pattern.test(step.run)) found.push({ jobId, index });
    });
  }
  return found;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The `npm test` steps that follow an `npm ci` in the same job. */
function testJobs(wf: Workflow): Position[] {
  const found: Position[] = [];
  for (const [jobId, job] of Object.entries(wf.jobs)) {
    const runs = job.steps.map((s) => s.run ?? "");
    const install = runs.findIndex((r) => /^npm ci\b/m.test(r));
    const test = runs.findIndex((r) => /^npm test\s*$/m.test(r));
    if (install >= 0 && test > install) found.push({ jobId, index: test });
  }
  return found;
}

/** The pull-request workflow: tests, then a preview of every stack with the policy pack, commented on the PR. */
export function checkPullRequestWorkflow(wf: Workflow, stacks: readonly string[]): string[] {
  const problems: string[] = [];
  const events = triggers(wf);
  if (!events.includes("pull_request")) problems.push(`runs on ${events.join(", ")}, not pull_request`);
  if (events.includes("push")) problems.push("also runs on push: deploys belong to the deploy workflow");

  const tests = testJobs(wf);
  if (tests.length === 0) problems.push("no job installs (npm ci) and then runs npm test");

  const calls = pulumiCalls(wf);
  const mutating = calls.filter((c) => c.command !== "preview");
  for (const c of mutating) problems.push(`job ${c.jobId} runs pulumi ${c.command || "(no command)"} on a pull request`);

  const previews = calls.filter((c) => c.command === "preview");
  const previewed = [...new Set(previews.map((c) => c.stack))].sort();
  const expected = [...stacks].sort();
  if (previewed.join(",") !== expected.join(",")) {
    problems.push(`previews stacks [${previewed.join(", ")}], expected [${expected.join(", ")}]`);
  }
  for (const c of previews) {
    if (c.step.with?.policyPacks !== "policies") problems.push(`preview of ${c.stack} does not run the policy pack (policyPacks: policies)`);
    if (c.step.with?.["comment-on-pr"] !== true && c.step.with?.["comment-on-pr"] !== "true") {
      problems.push(`preview of ${c.stack} does not comment on the pull request (comment-on-pr: true)`);
    }
    if (!tests.some((t) => t.jobId !== c.jobId && runsBefore(wf, t, c))) {
      problems.push(`preview of ${c.stack} (job ${c.jobId}) does not wait for npm test`);
    }
    const job = wf.jobs[c.jobId];
    if (job && !hasPermission(wf, job, "pull-requests", "write")) problems.push(`job ${c.jobId} cannot comment: pull-requests: write is missing`);
  }
  return problems;
}

/**
 * The deploy workflow: on pushes to main, `pulumi up` dev → the integration suite against dev's
 * outputs → `pulumi up` staging behind the `staging` environment → the suite against staging.
 */
export function checkDeployWorkflow(wf: Workflow, order: readonly string[]): string[] {
  const problems: string[] = [];
  const events = triggers(wf);
  if (!events.includes("push")) problems.push(`runs on ${events.join(", ")}, not push`);
  if (events.includes("pull_request")) problems.push("runs on pull requests: a pull request must never deploy");
  if (!Array.isArray(wf.on)) {
    const push = typeof wf.on === "object" ? (wf.on.push as { branches?: unknown } | undefined) : undefined;
    const branches = push?.branches;
    if (!Array.isArray(branches) || branches.join(",") !== "main") problems.push(`push trigger is not limited to main (branches: ${JSON.stringify(branches)})`);
  }

  // The phases of each stack, in the order they must run.
  const phases: { label: string; at: Position }[] = [];
  for (const stack of order) {
    const ups = pulumiCalls(wf).filter((c) => c.command === "up" && c.stack === stack);
    if (ups.length !== 1) {
      problems.push(`expected one pulumi up to ${stack}, found ${ups.length}`);
      continue;
    }
    const up = ups[0] as PulumiCall;
    const outputs = findRunStep(wf, new RegExp(`pulumi stack output --json --show-secrets --stack ${escape(stack)} > outputs\\.json`));
    const suites = findRunStep(wf, /npm run test:deployed -- outputs\.json/);
    const output = outputs.find((o) => runsBefore(wf, up, o));
    if (!output) {
      problems.push(`no \`pulumi stack output --json --show-secrets --stack ${stack} > outputs.json\` after pulumi up to ${stack}`);
      continue;
    }
    // The suite that reads this stack's outputs: after them, in the same job (the file lives there).
    const suite = suites.find((s) => s.jobId === output.jobId && s.index > output.index);
    if (!suite) {
      problems.push(`the integration suite does not run against ${stack}'s outputs`);
      continue;
    }
    const laterOutput = outputs.concat(findRunStep(wf, /> outputs\.json/)).find((o) => o.jobId === output.jobId && o.index > output.index && o.index < suite.index);
    if (laterOutput) problems.push(`outputs.json is overwritten between ${stack}'s outputs and its integration suite`);
    phases.push({ label: `pulumi up ${stack}`, at: up }, { label: `integration suite against ${stack}`, at: suite });

    const job = wf.jobs[up.jobId] as Job;
    for (const [what, at] of [["pulumi up", up], ["the integration suite", suite]] as const) {
      const step = wf.jobs[at.jobId]?.steps[at.index];
      if (step?.["continue-on-error"] !== undefined && step["continue-on-error"] !== false) problems.push(`${what} for ${stack} may fail without stopping the pipeline (continue-on-error)`);
      if (step?.if !== undefined) problems.push(`${what} for ${stack} is conditional (if: ${step.if})`);
    }
    if (job["continue-on-error"] !== undefined && job["continue-on-error"] !== false) problems.push(`job ${up.jobId} may fail without stopping the pipeline`);
  }
  for (let i = 1; i < phases.length; i++) {
    const before = phases[i - 1];
    const after = phases[i];
    if (before && after && !runsBefore(wf, before.at, after.at)) problems.push(`${before.label} does not finish before ${after.label} starts`);
  }

  // Every stack after the first is gated by its GitHub environment (required reviewers live there).
  for (const stack of order.slice(1)) {
    const up = pulumiCalls(wf).find((c) => c.command === "up" && c.stack === stack);
    const job = up ? wf.jobs[up.jobId] : undefined;
    if (up && job && environmentName(job) !== stack) problems.push(`pulumi up to ${stack} (job ${up.jobId}) is not behind the "${stack}" environment`);
  }
  // Nothing deploys before the unit tests pass.
  const tests = testJobs(wf);
  const first = phases[0];
  if (first && !tests.some((t) => t.jobId !== first.at.jobId && runsBefore(wf, t, first.at))) problems.push(`${first.label} does not wait for npm test`);
  return problems;
}

/** Jobs that change a stack: `pulumi/actions` with up/destroy/refresh, or a `pulumi up|destroy|refresh` command. */
export function deployJobs(wf: Workflow): { jobId: string; stacks: string[] }[] {
  const result: { jobId: string; stacks: string[] }[] = [];
  for (const [jobId, job] of Object.entries(wf.jobs)) {
    const stacks = new Set<string>();
    for (const step of job.steps) {
      if (isAction(step, "pulumi/actions") && ["up", "update", "destroy", "refresh"].includes(String(step.with?.command))) {
        for (const s of stacksOf(job, step)) stacks.add(s);
      }
      const cli = /\bpulumi\s+(?:up|update|destroy|refresh)\b[^\n]*?(?:--stack|-s)[ =]([A-Za-z0-9_./-]+)/.exec(step.run ?? "");
      if (cli?.[1]) stacks.add(cli[1]);
    }
    if (stacks.size > 0) result.push({ jobId, stacks: [...stacks] });
  }
  return result;
}

/**
 * Every deploy job holds a concurrency group that names its stack, is the same on every run (no
 * run-specific expression) and is never cancelled in progress.
 */
export function checkDeployConcurrency(wf: Workflow): string[] {
  const problems: string[] = [];
  const groups = new Map<string, string>();
  for (const { jobId, stacks } of deployJobs(wf)) {
    const job = wf.jobs[jobId] as Job;
    const concurrency = job.concurrency;
    if (concurrency === undefined) {
      problems.push(`deploy job ${jobId} has no concurrency group`);
      continue;
    }
    const group = typeof concurrency === "string" ? concurrency : concurrency.group;
    const cancel = typeof concurrency === "string" ? false : concurrency["cancel-in-progress"];
    if (cancel !== false && cancel !== undefined) problems.push(`deploy job ${jobId} may be cancelled in progress (cancel-in-progress: ${String(cancel)})`);
    if (group.includes("${{")) problems.push(`deploy job ${jobId}'s concurrency group "${group}" is an expression; it must be the same on every run`);
    if (stacks.length !== 1) problems.push(`deploy job ${jobId} changes several stacks (${stacks.join(", ")})`);
    for (const stack of stacks) {
      if (!new RegExp(`(^|[^A-Za-z0-9])${escape(stack)}($|[^A-Za-z0-9])`).test(group)) problems.push(`deploy job ${jobId}'s concurrency group "${group}" does not name its stack ${stack}`);
      const other = groups.get(group);
      if (other !== undefined && other !== stack) problems.push(`concurrency group "${group}" is shared by stacks ${other} and ${stack}`);
      groups.set(group, stack);
    }
  }
  return problems;
}

function hasPermission(wf: Workflow, job: Job, scope: string, level: string): boolean {
  const perms = job.permissions ?? wf.permissions;
  if (perms === undefined) return false; // the repository default is not part of the file: do not rely on it
  if (typeof perms === "string") return perms === `${level}-all`;
  return perms[scope] === level;
}

/** Jobs that talk to Pulumi (the action, or the `pulumi` CLI in a script). */
function pulumiJobs(wf: Workflow): string[] {
  return Object.entries(wf.jobs)
    .filter(([, job]) => job.steps.some((s) => isAction(s, "pulumi/actions") || /(^|\s)pulumi\s/m.test(s.run ?? "")))
    .map(([id]) => id);
}

/**
 * Credentials: AWS through OIDC role assumption only (the role from a repository or environment
 * variable, `id-token: write` on the job), never access keys; the Pulumi token from secrets.
 */
export function checkCredentials(wf: Workflow, source: string): string[] {
  const problems: string[] = [];
  for (const word of ["aws-access-key-id", "aws-secret-access-key", "aws_access_key_id", "aws_secret_access_key", "aws-session-token", "aws_session_token"]) {
    if (source.toLowerCase().includes(word)) problems.push(`mentions ${word}: long-lived AWS keys are not allowed`);
  }
  if (/\bAKIA[0-9A-Z]{16}\b/.test(source)) problems.push("contains what looks like an AWS access key id");

  for (const jobId of pulumiJobs(wf)) {
    const job = wf.jobs[jobId] as Job;
    const creds = job.steps.findIndex((s) => isAction(s, "aws-actions/configure-aws-credentials"));
    const firstPulumi = job.steps.findIndex((s) => isAction(s, "pulumi/actions") && s.with?.command !== undefined);
    if (creds < 0) {
      problems.push(`job ${jobId} runs Pulumi without configure-aws-credentials`);
    } else {
      const step = job.steps[creds] as Step;
      const role = step.with?.["role-to-assume"];
      if (typeof role !== "string" || !/^\$\{\{ vars\.[A-Za-z_][A-Za-z0-9_]* \}\}$/.test(role)) {
        problems.push(`job ${jobId} does not take role-to-assume from a repository/environment variable (got ${JSON.stringify(role)})`);
      }
      if (firstPulumi >= 0 && creds > firstPulumi) problems.push(`job ${jobId} runs Pulumi before configuring AWS credentials`);
      if (!hasPermission(wf, job, "id-token", "write")) problems.push(`job ${jobId} assumes a role but lacks permissions: id-token: write`);
    }
    const token = job.env?.PULUMI_ACCESS_TOKEN ?? wf.env?.PULUMI_ACCESS_TOKEN;
    if (token !== "${{ secrets.PULUMI_ACCESS_TOKEN }}") problems.push(`job ${jobId} does not take PULUMI_ACCESS_TOKEN from secrets (got ${JSON.stringify(token)})`);
  }
  const wfPerms = wf.permissions;
  if (wfPerms === undefined || (typeof wfPerms !== "string" && Object.entries(wfPerms).some(([, level]) => level === "write"))) {
    problems.push(`workflow-level permissions must be read-only (got ${JSON.stringify(wfPerms)}); grant writes per job`);
  }
  return problems;
}

/** Hygiene: actions pinned to a major version, Node from .nvmrc, stack regions matching the stack files. */
export function checkHygiene(wf: Workflow, regions: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [jobId, job] of Object.entries(wf.jobs)) {
    job.steps.forEach((step, index) => {
      if (step.uses !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+@v\d+$/.test(step.uses)) {
        problems.push(`job ${jobId} step ${index} uses ${step.uses}: pin actions to a major version (owner/repo@vN)`);
      }
      if (isAction(step, "actions/setup-node") && step.with?.["node-version-file"] !== ".nvmrc") {
        problems.push(`job ${jobId} sets up Node without node-version-file: .nvmrc`);
      }
      if (isAction(step, "aws-actions/configure-aws-credentials")) {
        const region = step.with?.["aws-region"];
        const pulumiStep = job.steps.find((s) => isAction(s, "pulumi/actions") && s.with?.["stack-name"] !== undefined);
        for (const stack of pulumiStep ? stacksOf(job, pulumiStep) : []) {
          const expectedRegion = regions[stack];
          const actual = typeof region === "string" && /matrix\./.test(region) ? matrixValueFor(job, stack, region.replace(/^\$\{\{\s*matrix\.|\s*\}\}$/g, "")) : region;
          if (actual !== expectedRegion) problems.push(`job ${jobId}: AWS region for ${stack} is ${String(actual)}, but Pulumi.${stack}.yaml says ${String(expectedRegion)}`);
        }
      }
    });
  }
  return problems;
}
