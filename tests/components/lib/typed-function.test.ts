// TypedFunction (components/lib/typed-function.ts) declared alone under Pulumi's mock runtime: the
// role, its inline policy statement by statement, the function's every input and environment
// variable, the SQS trigger's event source mapping, and the exact errors. Expected values are
// written out here, not computed with the code under test.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { bundleFunction } from "../../../components/lib/bundle";
import type { LinkTarget } from "../../../components/lib/grants";
import { parseStackSettings } from "../../../components/lib/settings";
import type { StackSettings } from "../../../components/lib/settings";
import { TypedFunction } from "../../../components/lib/typed-function";
import type { TypedFunctionArgs } from "../../../components/lib/typed-function";
import { defineFunction } from "../../../functions/lib/define";
import type { FunctionDefinition } from "../../../functions/lib/define";
import { link, linkEnvName } from "../../../functions/lib/links";
import { awsCallResult, awsShapedState } from "../../../runner/aws-shaped-state";
import { unwrapSecrets } from "../../../runner/secrets";

const REGION = "us-east-2";
const ACCOUNT = "123456789012";
const PREFIX = "acme-dev";
const FINGERPRINT = "f".repeat(40);
const LAYER = "arn:aws:lambda:us-east-2:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5";
const ENTRY = path.join(__dirname, "fixtures", "echo-handler.ts");

const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/acme-dev-orders`;
const QUEUE = `arn:aws:sqs:${REGION}:${ACCOUNT}:acme-dev-work.fifo`;
const DLQ = `arn:aws:sqs:${REGION}:${ACCOUNT}:acme-dev-work-dlq.fifo`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:acme-dev-alerts`;
const MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:acme-dev-flow`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0b6d4e38-58c2-4e8e-9a53-3c1f4b3a9d10`;

const worker = defineFunction({
  name: "typed-test-worker",
  description: "Works through the work queue",
  entry: ENTRY,
  trigger: { kind: "sqs", fifo: true, message: z.object({ id: z.string() }) },
  links: { orders: link.table("read"), alerts: link.topic(), workflow: link.stateMachine() },
  settings: z.object({ paymentLimit: z.number(), accountFingerprintKey: z.string() }),
});
const api = defineFunction({
  name: "typed-test-api",
  description: "Answers the API",
  entry: ENTRY,
  trigger: { kind: "api" },
  links: { orders: link.table("readWrite") },
  settings: z.object({}),
});

interface Declared { type: string; name: string; inputs: Record<string, unknown> }
/** Every resource registered in this file, raw inputs (secrets stay wrapped). */
const declared: Declared[] = [];
let settings: StackSettings;
beforeAll(async () => {
  settings = parseStackSettings({ accountFingerprintKey: FINGERPRINT }, "dev", REGION);
  // One mock runtime for the file: each test declares its own component under its own name.
  const context = { region: REGION, accountId: ACCOUNT };
  await pulumi.runtime.setMocks(
    {
      newResource: (mock: MockResourceArgs) => {
        declared.push({ type: mock.type, name: mock.name, inputs: mock.inputs as Record<string, unknown> });
        return awsShapedState({ ...mock, inputs: unwrapSecrets(mock.inputs) }, context);
      },
      call: (mock) => awsCallResult(mock, context),
    },
    "utility-serverless",
    "dev",
    false,
  );
});

type DeclareArgs = Omit<TypedFunctionArgs<FunctionDefinition>, "settings" | "namePrefix" | "links"> & { links: Record<string, LinkTarget>; settings?: StackSettings; namePrefix?: string };

/** Declares TypedFunction `name` and returns the resources it registered. */
async function declare(name: string, args: DeclareArgs) {
  const fn = new TypedFunction(name, { settings, namePrefix: PREFIX, ...args } as TypedFunctionArgs<FunctionDefinition>);
  await new Promise<void>((done) =>
    pulumi.all([fn.function.arn, fn.policy.id, fn.eventSourceMapping?.id ?? "", fn.logGroup.id]).apply(() => done()),
  );
  const own = declared.filter((r) => r.name === name || r.name.startsWith(`${name}-`));
  const one = (type: string) => {
    const found = own.filter((r) => r.type === type);
    if (found.length !== 1) throw new Error(`${found.length} resources of type ${type}`);
    return found[0]!;
  };
  return { fn, declared: own, one };
}

/** The function's environment variables, and whether the whole `environment` input is a secret. */
function environmentOf(inputs: Record<string, unknown>): { variables: Record<string, string>; secret: boolean } {
  const raw = inputs.environment as Record<string, unknown>;
  const secret = raw["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";
  return { variables: (unwrapSecrets(raw) as { variables: Record<string, string> }).variables, secret };
}

const workerArgs = {
  definition: worker,
  links: {
    orders: { arn: TABLE, name: "acme-dev-orders", kmsKeyArn: KEY },
    alerts: { arn: TOPIC },
    workflow: { arn: MACHINE },
    source: { arn: QUEUE, url: "https://sqs.us-east-2.amazonaws.com/123456789012/acme-dev-work.fifo", kmsKeyArn: KEY },
    deadLetter: { arn: DLQ, url: "https://sqs.us-east-2.amazonaws.com/123456789012/acme-dev-work-dlq.fifo", kmsKeyArn: KEY },
  },
  sqs: { maxReceiveCount: 4 },
};

/** What an error thrown while declaring says. */
async function errorOf(name: string, args: DeclareArgs): Promise<string> {
  try {
    await declare(name, args);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("declared without an error");
}

describe("an SQS-triggered function with links to a table, a topic and a state machine", () => {
  let resources: Awaited<ReturnType<typeof declare>>;
  beforeAll(async () => {
    resources = await declare("fn", workerArgs);
  });

  it("declares exactly the component, its log group, role, policy, function and mapping", () => {
    expect(resources.declared.map((r) => `${r.type} ${r.name}`)).toEqual([
      "utility:serverless:TypedFunction fn",
      "aws:cloudwatch/logGroup:LogGroup fn-logs",
      "aws:iam/role:Role fn-role",
      "aws:iam/rolePolicy:RolePolicy fn-policy",
      "aws:lambda/function:Function fn-function",
      "aws:lambda/eventSourceMapping:EventSourceMapping fn-trigger",
    ]);
    expect(resources.fn.functionName).toBe("acme-dev-typed-test-worker");
  });

  it("its log group: the function's name, the stack's retention", () => {
    expect(resources.one("aws:cloudwatch/logGroup:LogGroup").inputs).toEqual({ name: "/aws/lambda/acme-dev-typed-test-worker", retentionInDays: 14 });
  });

  it("its own role, which only Lambda may assume", () => {
    const role = resources.one("aws:iam/role:Role").inputs;
    expect(role).toEqual({
      name: "acme-dev-typed-test-worker",
      description: "Execution role of acme-dev-typed-test-worker only",
      assumeRolePolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    });
  });

  it("its inline policy: each link's statements (with the key), its own log group, X-Ray; nothing else", () => {
    const policy = resources.one("aws:iam/rolePolicy:RolePolicy").inputs;
    expect(policy.role).toBe("acme-dev-typed-test-worker");
    expect(JSON.parse(policy.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "OrdersTable",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
          Resource: [TABLE, `${TABLE}/index/*`],
        },
        { Sid: "OrdersKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: KEY },
        { Sid: "AlertsTopic", Effect: "Allow", Action: ["sns:Publish"], Resource: TOPIC },
        { Sid: "WorkflowStateMachine", Effect: "Allow", Action: ["states:StartExecution"], Resource: MACHINE },
        { Sid: "WorkflowExecutions", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:acme-dev-flow:*` },
        {
          Sid: "SourceQueue",
          Effect: "Allow",
          Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
          Resource: QUEUE,
        },
        { Sid: "SourceKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY },
        { Sid: "DeadLetterQueue", Effect: "Allow", Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], Resource: DLQ },
        { Sid: "DeadLetterKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: KEY },
        {
          Sid: "OwnLogGroup",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/acme-dev-typed-test-worker:*`,
        },
        { Sid: "Tracing", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" },
      ],
    });
  });

  it("the function: Node.js 22 on x86_64 from its bundle, the stack's memory, timeout and OTEL layer, active tracing, JSON logs to its group", async () => {
    const { environment, code, ...inputs } = resources.one("aws:lambda/function:Function").inputs;
    expect(inputs).toEqual({
      name: "acme-dev-typed-test-worker",
      description: "Works through the work queue",
      runtime: "nodejs22.x",
      architectures: ["x86_64"],
      handler: "index.handler",
      sourceCodeHash: bundleFunction(worker.name, worker.entry).sha256,
      role: `arn:aws:iam::${ACCOUNT}:role/acme-dev-typed-test-worker`,
      memorySize: 256,
      timeout: 30,
      layers: [LAYER],
      tracingConfig: { mode: "Active" },
      loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/acme-dev-typed-test-worker" },
    });
    // The code is the bundle's directory as an archive.
    expect(code).toBeInstanceOf(pulumi.asset.FileArchive);
    expect(await (code as pulumi.asset.FileArchive).path).toBe(bundleFunction(worker.name, worker.entry).dir);
    expect(environment).toBeDefined();
  });

  it("its environment: every variable, the links by linkEnvName, the settings (secret), the trigger's maxReceiveCount", () => {
    const { variables, secret } = environmentOf(resources.one("aws:lambda/function:Function").inputs);
    expect(variables).toEqual({
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_SERVICE_NAME: "typed-test-worker",
      POWERTOOLS_METRICS_NAMESPACE: "OTEL/UtilityCustomer/Enhanced",
      OTEL_SERVICE_NAME: "acme-dev-typed-test-worker",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318",
      OTEL_PROPAGATORS: "tracecontext",
      LINK_ORDERS: JSON.stringify({ name: "acme-dev-orders", arn: TABLE }),
      LINK_ALERTS: JSON.stringify({ arn: TOPIC }),
      LINK_WORKFLOW: JSON.stringify({ arn: MACHINE }),
      LINK_SOURCE: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/123456789012/acme-dev-work.fifo", arn: QUEUE }),
      LINK_DEAD_LETTER: JSON.stringify({ url: "https://sqs.us-east-2.amazonaws.com/123456789012/acme-dev-work-dlq.fifo", arn: DLQ }),
      FUNCTION_SETTINGS: JSON.stringify({ paymentLimit: 10_000, accountFingerprintKey: FINGERPRINT }),
      FUNCTION_TRIGGER: '{"maxReceiveCount":4}',
    });
    // The names are the runtime's (functions/lib/links.ts reads these).
    expect(["orders", "alerts", "workflow", "source", "deadLetter"].map(linkEnvName)).toEqual(["LINK_ORDERS", "LINK_ALERTS", "LINK_WORKFLOW", "LINK_SOURCE", "LINK_DEAD_LETTER"]);
    // The settings carry a secret (accountFingerprintKey): the environment is passed as a secret, never in plain text.
    expect(secret).toBe(true);
  });

  it("its event source mapping: the source queue, partial batch responses, the stack's batch size and maximum concurrency", () => {
    expect(resources.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs).toEqual({
      eventSourceArn: QUEUE,
      functionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:acme-dev-typed-test-worker`,
      batchSize: 10,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 5 },
      enabled: true,
    });
  });
});

describe("arguments", () => {
  it("an SQS trigger's own batch size and concurrency win over the stack's", async () => {
    const { one } = await declare("own-trigger", { ...workerArgs, sqs: { maxReceiveCount: 2, batchSize: 3, maxConcurrency: 7 } });
    expect(one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs).toMatchObject({ batchSize: 3, scalingConfig: { maximumConcurrency: 7 } });
    expect(environmentOf(one("aws:lambda/function:Function").inputs).variables.FUNCTION_TRIGGER).toBe('{"maxReceiveCount":2}');
  });

  it("a function without an SQS trigger: no mapping, no FUNCTION_TRIGGER, settings from functionSettings, extra environment", async () => {
    const { declared: own, one } = await declare("api", {
      definition: api,
      links: { orders: { arn: TABLE, name: "acme-dev-orders" } },
      functionSettings: {},
      environment: { EXTRA: "1" },
      settings: parseStackSettings({ accountFingerprintKey: FINGERPRINT, functionMemoryMb: "512", functionTimeoutSeconds: "10", logRetentionDays: "30" }, "dev", REGION),
    });
    expect(own.map((r) => r.type)).not.toContain("aws:lambda/eventSourceMapping:EventSourceMapping");
    const inputs = one("aws:lambda/function:Function").inputs;
    expect(inputs).toMatchObject({ memorySize: 512, timeout: 10 });
    expect(one("aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays).toBe(30);
    expect(environmentOf(inputs)).toEqual({ secret: false, variables: {
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_SERVICE_NAME: "typed-test-api",
      POWERTOOLS_METRICS_NAMESPACE: "OTEL/UtilityCustomer/Enhanced",
      OTEL_SERVICE_NAME: "acme-dev-typed-test-api",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318",
      OTEL_PROPAGATORS: "tracecontext",
      EXTRA: "1",
      LINK_ORDERS: JSON.stringify({ name: "acme-dev-orders", arn: TABLE }),
      FUNCTION_SETTINGS: "{}",
    } });
  });

  it("transform adjusts the function's and the role's args", async () => {
    const { one } = await declare("transformed", {
      ...workerArgs,
      transform: {
        function: (args) => {
          args.reservedConcurrentExecutions = 3;
        },
        role: (args) => {
          args.description = "changed";
        },
      },
    });
    expect(one("aws:lambda/function:Function").inputs.reservedConcurrentExecutions).toBe(3);
    expect(one("aws:iam/role:Role").inputs.description).toBe("changed");
  });
});

describe("errors", () => {
  it("a declared link with no resource", async () => {
    const { workflow: _workflow, ...links } = workerArgs.links;
    expect(await errorOf("unlinked", { ...workerArgs, links })).toBe('Function "typed-test-worker" declares link "workflow" but no resource was given for it');
  });

  it("an SQS-triggered definition without sqs args", async () => {
    expect(await errorOf("no-sqs", { ...workerArgs, sqs: undefined })).toBe('TypedFunction no-sqs: "typed-test-worker" has an SQS trigger; pass args.sqs');
  });

  it("a setting the stack does not have", async () => {
    const reader = defineFunction({ name: "typed-test-reader", description: "Reads", entry: ENTRY, trigger: { kind: "api" }, links: {}, settings: z.object({ discountRate: z.number() }) });
    expect(await errorOf("reader", { definition: reader, links: {} })).toBe('Function "typed-test-reader" reads setting "discountRate", which is not a stack setting');
  });

  it("a name longer than Lambda allows", async () => {
    const prefix = "p".repeat(47); // 47 + "-" + "typed-test-worker" (17) = 65
    expect(await errorOf("long", { ...workerArgs, namePrefix: prefix })).toBe(`Name "${prefix}-typed-test-worker" is 65 characters; AWS allows at most 64 here`);
  });
});
