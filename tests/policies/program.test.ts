/**
 * The pack over what the program really declares: both stacks pass with zero mandatory violations,
 * and changes that would weaken the program (a queue without its DLQ, a role widened to `sqs:*`, a
 * queue policy without the TLS deny, a key that no longer lets SNS deliver, ...) are caught.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../runner/run-program";
import type { DeclaredResource } from "../../policies/evaluate";
import { evaluatePolicies } from "../../policies/evaluate";
import { policies } from "../../policies/pack";
import { T } from "../../policies/lib/types";
import { main } from "../../policies/run";

const CONFIG = { accountFingerprintKey: "x".repeat(40) };

async function violations(resources: DeclaredResource[], stack = "dev") {
  return (await evaluatePolicies(policies, resources, { stack })).violations;
}

describe.each(["dev", "staging"])("stack %s", (stack) => {
  it("passes the pack with zero mandatory (and zero advisory) violations", async () => {
    const run = await runProgram({ stack, config: CONFIG });
    expect(run.resources.length).toBeGreaterThan(20);
    const found = await violations(run.resources, stack);
    expect(found.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`)).toEqual([]);
    expect(found.map((v) => `${v.policyName}: ${v.message}`)).toEqual([]);
  });
});

/** A deep copy of the dev program's resources, to break one thing at a time. */
let base: DeclaredResource[];
const fresh = () => structuredClone(base);
const find = (rs: DeclaredResource[], type: string, pick: (r: DeclaredResource) => boolean = () => true) => {
  const found = rs.find((r) => r.type === type && pick(r));
  if (!found) throw new Error(`The program declares no ${type} matching the test's pick`);
  return found;
};
/** Changes a declared property (inputs and state alike). */
const change = (r: DeclaredResource, props: Record<string, unknown>) => {
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) {
      delete r.inputs[k];
      delete r.state[k];
    } else {
      r.inputs[k] = v;
      r.state[k] = v;
    }
  }
};
const caught = async (rs: DeclaredResource[]) => (await violations(rs)).filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policyName);
const isSourceQueue = (r: DeclaredResource) => typeof r.inputs.redrivePolicy === "string";

describe("weakening the program is caught", () => {
  beforeAll(async () => {
    base = (await runProgram({ stack: "dev", config: CONFIG })).resources;
  });

  it("a queue without its DLQ", async () => {
    const rs = fresh();
    change(find(rs, T.queue, isSourceQueue), { redrivePolicy: undefined });
    expect(await caught(rs)).toContain("sqs-queue-has-dlq");
  });

  it("a function linked with broader access (sqs:* on its source queue)", async () => {
    const rs = fresh();
    const policy = find(rs, T.rolePolicy, (r) => String(r.inputs.policy).includes("sqs:ReceiveMessage"));
    const doc = JSON.parse(String(policy.inputs.policy)) as { Statement: { Action: string[] }[] };
    for (const s of doc.Statement) if (s.Action.includes("sqs:ReceiveMessage")) s.Action = ["sqs:*"];
    change(policy, { policy: JSON.stringify(doc) });
    expect(await caught(rs)).toContain("iam-no-wildcard-actions");
  });

  it("a table statement widened to every resource", async () => {
    const rs = fresh();
    const policy = find(rs, T.rolePolicy, (r) => String(r.inputs.policy).includes("dynamodb:PutItem"));
    const doc = JSON.parse(String(policy.inputs.policy)) as { Statement: { Action: string[]; Resource: unknown }[] };
    for (const s of doc.Statement) if (s.Action.includes("dynamodb:PutItem")) s.Resource = "*";
    change(policy, { policy: JSON.stringify(doc) });
    expect(await caught(rs)).toContain("iam-no-wildcard-resources");
  });

  it("a queue policy without the TLS deny", async () => {
    const rs = fresh();
    const policy = find(rs, T.queuePolicy);
    const doc = JSON.parse(String(policy.inputs.policy)) as { Statement: { Sid?: string }[] };
    doc.Statement = doc.Statement.filter((s) => s.Sid !== "DenyInsecureTransport");
    change(policy, { policy: JSON.stringify(doc) });
    expect(await caught(rs)).toContain("queue-topic-policy-denies-insecure-transport");
  });

  it("a transaction key that no longer lets SNS deliver into the queues", async () => {
    const rs = fresh();
    const key = find(rs, T.key, (r) => String(r.inputs.policy).includes("sns.amazonaws.com"));
    const doc = JSON.parse(String(key.inputs.policy)) as { Statement: { Principal?: { Service?: string } }[] };
    doc.Statement = doc.Statement.filter((s) => s.Principal?.Service !== "sns.amazonaws.com");
    change(key, { policy: JSON.stringify(doc) });
    expect(await caught(rs)).toContain("kms-key-policy-allows-delivering-services");
  });

  it("a consumer that no longer reports partial batch failures, and a visibility timeout below its timeout", async () => {
    const rs = fresh();
    const mapping = find(rs, T.eventSourceMapping);
    change(mapping, { functionResponseTypes: undefined });
    change(find(rs, T.queue, (q) => q.state.arn === mapping.inputs.eventSourceArn), { visibilityTimeoutSeconds: 10 });
    expect(await caught(rs)).toEqual(expect.arrayContaining(["lambda-esm-reports-batch-item-failures", "lambda-sqs-visibility-exceeds-function-timeout"]));
  });

  it("an unencrypted queue, a table without PITR, a function without tracing, an open API method", async () => {
    const rs = fresh();
    change(find(rs, T.queue), { kmsMasterKeyId: undefined });
    change(find(rs, T.table), { pointInTimeRecovery: { enabled: false } });
    change(find(rs, T.function), { tracingConfig: undefined });
    const methods = rs.filter((r) => r.type === T.method);
    expect(methods.length).toBeGreaterThan(0);
    for (const m of methods) change(m, { apiKeyRequired: false });
    const found = await caught(rs);
    expect(found).toEqual(expect.arrayContaining(["sqs-queue-encrypted-with-cmk", "dynamodb-table-pitr-enabled", "lambda-active-tracing", "apigateway-method-authorization"]));
  });

  it("a gateway response that goes back to $util.escapeJavaScript (AWS would send it literally)", async () => {
    const rs = fresh();
    const response = find(rs, "aws:apigateway/response:Response", (r) => r.inputs.responseType === "BAD_REQUEST_BODY");
    change(response, { responseTemplates: { "application/json": '{"message":"$util.escapeJavaScript($context.error.validationErrorString)"}' } });
    expect(await caught(rs)).toContain("apigateway-gateway-response-no-vtl");
  });

  it("a subscription without its dead-letter queue, a consumer queue whose DLQ nobody watches, a topic without its throughput scope (issue 11)", async () => {
    const rs = fresh();
    for (const sub of rs.filter((r) => r.type === T.subscription)) change(sub, { redrivePolicy: undefined });
    const mapping = find(rs, T.eventSourceMapping);
    const queue = find(rs, T.queue, (q) => q.state.arn === mapping.inputs.eventSourceArn);
    const dlqArn = JSON.parse(String(queue.inputs.redrivePolicy)).deadLetterTargetArn as string;
    const dlqName = find(rs, T.queue, (q) => q.state.arn === dlqArn).inputs.name;
    for (const alarm of rs.filter((r) => r.type === T.metricAlarm && (r.inputs.dimensions as Record<string, unknown> | undefined)?.QueueName === dlqName)) change(alarm, { alarmActions: [] });
    change(find(rs, T.topic, (t) => t.inputs.fifoTopic === true), { fifoThroughputScope: undefined });
    expect(await caught(rs)).toEqual(expect.arrayContaining(["sns-subscription-has-dlq", "sqs-consumer-queue-alarmed", "sns-fifo-topic-throughput-scope-set"]));
  });

  it("an API function timing out after API Gateway (30 s), and a workflow timeout back at a fixed 300 s (issue 11)", async () => {
    const rs = fresh();
    change(find(rs, T.function, (f) => String(f.inputs.name).endsWith("-orders-api")), { timeout: 30 });
    const machine = find(rs, T.stateMachine);
    change(machine, { definition: JSON.stringify({ ...JSON.parse(String(machine.inputs.definition)), TimeoutSeconds: 300 }) });
    expect(await caught(rs)).toEqual(expect.arrayContaining(["lambda-api-timeout-below-integration-timeout", "sfn-execution-timeout-covers-retries"]));
  });

  it("two functions sharing a role", async () => {
    const rs = fresh();
    const [a, b] = rs.filter((r) => r.type === T.function);
    change(b!, { role: a!.inputs.role });
    expect(await caught(rs)).toContain("lambda-one-role-per-function");
  });
});

describe("npm run policy", () => {
  const run = async (argv: string[]) => {
    let out = "";
    const code = await main(argv, (t) => (out += `${t}\n`));
    return { code, out };
  };

  it("exits 0 on a clean stack and prints the summary", async () => {
    const { code, out } = await run(["--stack", "staging"]);
    expect(code).toBe(0);
    expect(out).toContain(`Policy summary for stack "staging": ${policies.length} policies over`);
    expect(out).toContain(": 0 mandatory, 0 advisory violations.");
  });

  it("exits 1 on a mandatory violation and prints it in the CLI's form", async () => {
    const { code, out } = await run(["--config", "logRetentionDays=1"]);
    expect(code).toBe(1);
    expect(out).toContain("❌ utility-serverless-guardrails@v0.1.0 (local: policies)");
    expect(out).toMatch(/- \[mandatory\] {2}log-group-retention {2}\(aws:cloudwatch\/logGroup:LogGroup: [^)]+\)\n {10}Every CloudWatch log group has a retention, at least the configured minimum\.\n {10}Log group "\/aws\/lambda\/[^"]+" keeps logs 1 day, less than the minimum 7: set retentionInDays to at least 7\./);
  });

  it("exits 1 when the OTEL layer is swapped for another layer", async () => {
    const { code, out } = await run(["--config=otelLayerArn=arn:aws:lambda:us-east-2:123456789012:layer:other:1"]);
    expect(code).toBe(1);
    expect(out).toContain("[mandatory]  lambda-otel-layer");
  });

  it("rejects unknown arguments with exit code 2", async () => {
    expect(await run(["--stak", "dev"])).toEqual({ code: 2, out: 'error: Unknown argument "--stak" (use --stack <name>, --config key=value, --policy-config <file>)\n' });
  });
});
