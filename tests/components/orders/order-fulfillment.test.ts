// OrderFulfillment under Pulumi's mock runtime: the API (methods, auth, model, validators, stage,
// usage plan), the workflow (definition, logging, tracing, role), tables, queues and the exact
// statements of every role.
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { OrderItem, OrderItemShape, OrderRequest, OrderShape } from "../../../functions/orders/schemas";
import { ACCESS_LOG_FORMAT } from "../../../components/orders/api";
import { OrderFulfillment } from "../../../components/orders/order-fulfillment";
import { LAMBDA_TASK_RETRY, RECORD_FAILURE_RETRY, orderWorkflowTimeoutSeconds } from "../../../components/orders/workflow-definition";
import type { DeclaredResource, ProgramRun } from "../../../runner/run-program";
import { awsCallResult, awsShapedState } from "../../../runner/aws-shaped-state";
import { runProgram } from "../../../runner/run-program";

const CONFIG = { accountFingerprintKey: "x".repeat(40) };
const REGION = "us-east-2";
const ACCOUNT = "123456789012";
let run: ProgramRun;

const ofType = (type: string) => run.resources.filter((r) => r.type === type);
const named = (type: string, name: string): DeclaredResource => {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; have: ${ofType(type).map((r) => r.name).join(", ")}`);
  return found;
};
const byInput = (type: string, key: string, value: unknown): DeclaredResource => {
  const found = run.resources.find((r) => r.type === type && r.inputs[key] === value);
  if (!found) throw new Error(`no ${type} with ${key}=${String(value)}; have: ${ofType(type).map((r) => String(r.inputs[key])).join(", ")}`);
  return found;
};
interface Statement { Sid: string; Effect: string; Action: string[]; Resource: string | string[]; }
const statementsOf = (policyName: string): Statement[] =>
  (JSON.parse(named("aws:iam/rolePolicy:RolePolicy", policyName).inputs.policy as string) as { Statement: Statement[] }).Statement;

const arn = {
  table: (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/dofs-dev-${name}`,
  queue: (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:dofs-dev-${name}`,
  fn: (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dofs-dev-${name}`,
  logGroup: (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`,
};
let keyArn: string;

beforeAll(async () => {
  run = await runProgram({ stack: "dev", config: CONFIG });
  keyArn = named("aws:kms/key:Key", "orders-key-key").state.arn as string;
});

describe("stack outputs", () => {
  it("has the DESIGN.md DOFS outputs with the dofs-<stack> names", () => {
    expect(run.outputs).toMatchObject({
      ordersTable: "dofs-dev-orders",
      failedOrdersTable: "dofs-dev-failed-orders",
      stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:dofs-dev-order-workflow`,
      fulfillmentQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/dofs-dev-fulfillment`,
      fulfillmentDlqUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/dofs-dev-fulfillment-dlq`,
    });
    const api = named("aws:apigateway/restApi:RestApi", "orders-api");
    expect(run.outputs.apiUrl).toBe(`https://${api.id}.execute-api.${REGION}.amazonaws.com/dev`);
    expect(Object.keys(run.outputs)).toContain("apiKey");
  });
});

describe("tables", () => {
  it("orders: key order_id, index by customer_id and created_at, KMS, point-in-time recovery", () => {
    const orders = named("aws:dynamodb/table:Table", "orders-orders").inputs;
    expect(orders).toMatchObject({
      name: "dofs-dev-orders",
      hashKey: "order_id",
      billingMode: "PAY_PER_REQUEST",
      serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
      pointInTimeRecovery: { enabled: true },
      globalSecondaryIndexes: [{ name: "customer_id-created_at", hashKey: "customer_id", rangeKey: "created_at", projectionType: "ALL" }],
    });
    expect(orders.rangeKey).toBeUndefined();
  });
  it("dev's tables opt out of deletion protection and protect, with the reason from Pulumi.dev.yaml; staging's ledgers are protected, its idempotency table only deletion-protected", async () => {
    const reason = "dev holds test data only and is torn down with pulumi destroy";
    for (const name of ["orders-orders", "orders-failed-orders", "orders-idempotency"]) {
      const table = named("aws:dynamodb/table:Table", name);
      expect(table.inputs).toMatchObject({ deletionProtectionEnabled: false, tags: { DeletionProtectionOptOut: reason } });
      expect(table.protect).toBe(false);
    }
    const staging = await runProgram({ stack: "staging", config: CONFIG });
    const table = (name: string) => staging.resources.find((r) => r.type === "aws:dynamodb/table:Table" && r.name === name)!;
    for (const name of ["orders-orders", "orders-failed-orders"]) {
      expect(table(name).inputs).toMatchObject({ deletionProtectionEnabled: true, tags: { DataClass: "ledger" } });
      expect(table(name).protect).toBe(true);
    }
    expect(table("orders-idempotency").inputs).toMatchObject({ deletionProtectionEnabled: true, tags: { DataClass: "ephemeral" }, ttl: { enabled: true } });
    expect(table("orders-idempotency").protect).toBe(false);
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
  it("failed orders and idempotency records: KMS and point-in-time recovery too; idempotency expires", () => {
    expect(named("aws:dynamodb/table:Table", "orders-failed-orders").inputs).toMatchObject({
      name: "dofs-dev-failed-orders",
      hashKey: "order_id",
      serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
      pointInTimeRecovery: { enabled: true },
    });
    expect(named("aws:dynamodb/table:Table", "orders-idempotency").inputs).toMatchObject({
      name: "dofs-dev-idempotency",
      hashKey: "idempotency_key",
      ttl: { attributeName: "expires_at", enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
    });
  });
});

describe("queues", () => {
  it("fulfillment → DLQ after maxReceiveCount → DLQ-failures, all with the unit's key", async () => {
    const queue = byInput("aws:sqs/queue:Queue", "name", "dofs-dev-fulfillment").inputs;
    const dlq = byInput("aws:sqs/queue:Queue", "name", "dofs-dev-fulfillment-dlq").inputs;
    const parked = byInput("aws:sqs/queue:Queue", "name", "dofs-dev-fulfillment-dlq-failures").inputs;
    for (const q of [queue, dlq, parked]) expect(q.kmsMasterKeyId).toBe(keyArn);
    expect(JSON.parse(queue.redrivePolicy as string)).toEqual({ deadLetterTargetArn: arn.queue("fulfillment-dlq"), maxReceiveCount: 5 });
    expect(JSON.parse(dlq.redrivePolicy as string)).toEqual({ deadLetterTargetArn: arn.queue("fulfillment-dlq-failures"), maxReceiveCount: 5 });
    expect(parked.redrivePolicy).toBeUndefined();
    expect(queue.visibilityTimeoutSeconds).toBe(180);

    const other = await runProgram({ stack: "dev", config: { ...CONFIG, maxReceiveCount: "3" } });
    const q3 = other.resources.find((r) => r.type === "aws:sqs/queue:Queue" && r.inputs.name === "dofs-dev-fulfillment")!;
    expect(JSON.parse(q3.inputs.redrivePolicy as string).maxReceiveCount).toBe(3);
    // Restore this file's run as the current mock runtime state.
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
  it("nothing consumes the DLQ-failures queue (no loop); the DLQ handler sends its own failures there", () => {
    const mappings = ofType("aws:lambda/eventSourceMapping:EventSourceMapping").map((m) => m.inputs.eventSourceArn);
    expect(mappings).toContain(arn.queue("fulfillment"));
    expect(mappings).toContain(arn.queue("fulfillment-dlq"));
    expect(mappings).not.toContain(arn.queue("fulfillment-dlq-failures"));
    const dlqHandler = byInput("aws:lambda/function:Function", "name", "dofs-dev-orders-dlq").inputs as { environment: { variables: Record<string, string> } };
    expect(JSON.parse(dlqHandler.environment.variables.LINK_DEAD_LETTER!).arn).toBe(arn.queue("fulfillment-dlq-failures"));
    expect(JSON.parse(dlqHandler.environment.variables.LINK_SOURCE!).arn).toBe(arn.queue("fulfillment-dlq"));
  });
  it("every queue refuses requests without TLS", () => {
    const policies = ofType("aws:sqs/queuePolicy:QueuePolicy").filter((p) => String(p.inputs.queueUrl).includes("dofs-dev-"));
    expect(policies).toHaveLength(3);
    for (const p of policies) expect(JSON.parse(p.inputs.policy as string).Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });
});

describe("API", () => {
  it("is a regional REST API with POST /order and GET /order/{id}, both requiring the API key", () => {
    expect(named("aws:apigateway/restApi:RestApi", "orders-api").inputs).toMatchObject({ name: "dofs-dev-api", endpointConfiguration: { types: "REGIONAL" } });
    // The CORS preflights (OPTIONS, open to browsers): tests/components/orders/cors.test.ts.
    const methods = ofType("aws:apigateway/method:Method").filter((m) => m.name.startsWith("orders-") && m.inputs.httpMethod !== "OPTIONS");
    expect(methods.map((m) => m.inputs.httpMethod).sort()).toEqual(["GET", "POST"]);
    for (const m of methods) expect(m.inputs).toMatchObject({ apiKeyRequired: true, authorization: "NONE" });
    const order = named("aws:apigateway/resource:Resource", "orders-order-resource");
    const orderId = named("aws:apigateway/resource:Resource", "orders-order-id-resource");
    expect(order.inputs.pathPart).toBe("order");
    expect(orderId.inputs).toMatchObject({ pathPart: "{id}", parentId: order.id });
    expect(named("aws:apigateway/method:Method", "orders-post-order").inputs.resourceId).toBe(order.id);
    expect(named("aws:apigateway/method:Method", "orders-get-order").inputs).toMatchObject({ resourceId: orderId.id, requestParameters: { "method.request.path.id": true } });
  });
  it("validates the POST body's shape against a draft-04 model generated from the zod OrderShape (value rules are the handler's)", () => {
    const model = named("aws:apigateway/model:Model", "orders-order-model");
    const post = named("aws:apigateway/method:Method", "orders-post-order").inputs;
    expect(post.requestModels).toEqual({ "application/json": "OrderRequest" });
    const validator = run.resources.find((r) => r.type === "aws:apigateway/requestValidator:RequestValidator" && r.id === post.requestValidatorId)!;
    expect(validator.inputs).toMatchObject({ validateRequestBody: true });
    const getValidator = run.resources.find((r) => r.type === "aws:apigateway/requestValidator:RequestValidator" && r.id === named("aws:apigateway/method:Method", "orders-get-order").inputs.requestValidatorId)!;
    expect(getValidator.inputs).toMatchObject({ validateRequestParameters: true });

    // Exactly the shape: types and required fields, no lengths, patterns, ranges, counts or additionalProperties.
    expect(JSON.parse(model.inputs.schema as string)).toEqual({
      $schema: "http://json-schema.org/draft-04/schema#",
      type: "object",
      required: ["customer_id", "items"],
      properties: {
        customer_id: { type: "string" },
        items: { type: "array", items: { type: "object", required: ["product_id", "quantity"], properties: { product_id: { type: "string" }, quantity: { type: "integer" } } } },
      },
    });
    // The same fields as the handler's schema (the compiler checks it too: schemas.ts, Refining).
    expect(Object.keys(OrderShape.shape)).toEqual(Object.keys(OrderRequest.shape));
    expect(Object.keys(OrderItemShape.shape)).toEqual(Object.keys(OrderItem.shape));
  });
  it("answers gateway-made errors with simple-substitution templates only (no VTL: AWS does not evaluate it there)", () => {
    const responses = ofType("aws:apigateway/response:Response").filter((r) => r.name.startsWith("orders-"));
    const templates = Object.fromEntries(responses.map((r) => [r.inputs.responseType, (r.inputs.responseTemplates as Record<string, string>)["application/json"]]));
    expect(templates).toEqual({
      BAD_REQUEST_BODY: '{"message":"Invalid order","errors":[{"field":"(body)","message":"must be a JSON object with customer_id (a string) and items (an array of objects, each with product_id, a string, and quantity, an integer)"}],"requestId":"$context.requestId"}',
      BAD_REQUEST_PARAMETERS: '{"message":"Invalid request: a required request parameter is missing","requestId":"$context.requestId"}',
      DEFAULT_4XX: '{"message":$context.error.messageString,"requestId":"$context.requestId"}',
      DEFAULT_5XX: '{"message":$context.error.messageString,"requestId":"$context.requestId"}',
    });
    for (const template of Object.values(templates)) expect(template).not.toMatch(/\$util|\$input|#set|#if|validationErrorString/);
    expect(responses.map((r) => r.name).sort()).toEqual(["orders-bad-request-body", "orders-bad-request-parameters", "orders-default-4xx", "orders-default-5xx"]);
  });
  it("proxies both methods to the API function, which only this API's two routes of this stage may invoke", () => {
    const fn = byInput("aws:lambda/function:Function", "name", "dofs-dev-orders-api");
    const integrations = ofType("aws:apigateway/integration:Integration").filter((i) => i.name.startsWith("orders-") && i.inputs.httpMethod !== "OPTIONS");
    expect(integrations).toHaveLength(2);
    for (const i of integrations) expect(i.inputs).toMatchObject({ type: "AWS_PROXY", integrationHttpMethod: "POST", uri: fn.state.invokeArn });
    const permissions = ofType("aws:lambda/permission:Permission").filter((p) => p.name.startsWith("orders-"));
    // The mock runtime computes no executionArn, so only the stage/method/path part is checked here.
    expect(permissions.map((p) => String(p.inputs.sourceArn).replace(/^.*?\/dev\//, "dev/")).sort()).toEqual(["dev/GET/order/*", "dev/POST/order"]);
    for (const p of permissions) expect(p.inputs).toMatchObject({ action: "lambda:InvokeFunction", principal: "apigateway.amazonaws.com", function: "dofs-dev-orders-api" });
  });
  it("has a stage per stack with JSON access logs to a retained log group, and X-Ray", async () => {
    const stage = named("aws:apigateway/stage:Stage", "orders-stage").inputs as { stageName: string; xrayTracingEnabled: boolean; accessLogSettings: { destinationArn: string; format: string } };
    expect(stage.stageName).toBe("dev");
    expect(stage.xrayTracingEnabled).toBe(true);
    const logs = named("aws:cloudwatch/logGroup:LogGroup", "orders-api-access-logs").inputs;
    expect(logs).toMatchObject({ name: "/aws/apigateway/dofs-dev-api/dev", retentionInDays: 7 });
    expect(stage.accessLogSettings.destinationArn).toBe(arn.logGroup("/aws/apigateway/dofs-dev-api/dev"));
    expect(JSON.parse(stage.accessLogSettings.format)).toMatchObject({ requestId: "$context.requestId", status: "$context.status", errorType: "$context.error.responseType" });
    expect(stage.accessLogSettings.format).toBe(ACCESS_LOG_FORMAT);
    // The validator's detail is raw text with quotes (no escaped form exists): the last field, so
    // every other field reads the same on every line.
    expect(Object.entries(JSON.parse(ACCESS_LOG_FORMAT) as Record<string, string>).at(-1)).toEqual(["validationError", "$context.error.validationErrorString"]);
    expect(ACCESS_LOG_FORMAT.endsWith('"validationError":"$context.error.validationErrorString"}')).toBe(true);

    // Execution logs: errors only, per-method metrics, never data tracing; into a declared log group.
    expect(named("aws:apigateway/methodSettings:MethodSettings", "orders-stage-settings").inputs).toEqual({
      restApi: named("aws:apigateway/restApi:RestApi", "orders-api").id,
      stageName: "dev",
      methodPath: "*/*",
      settings: { loggingLevel: "ERROR", metricsEnabled: true, dataTraceEnabled: false },
    });
    expect(named("aws:cloudwatch/logGroup:LogGroup", "orders-api-execution-logs").inputs).toMatchObject({ name: `API-Gateway-Execution-Logs_${named("aws:apigateway/restApi:RestApi", "orders-api").id}/dev`, retentionInDays: 7 });

    const staging = await runProgram({ stack: "staging", config: CONFIG });
    expect(staging.resources.find((r) => r.type === "aws:apigateway/stage:Stage" && r.name === "orders-stage")!.inputs.stageName).toBe("staging");
    expect(staging.outputs.ordersTable).toBe("dofs-staging-orders");
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
  it("throttles through a usage plan from the settings, bound to the stage and the API key", async () => {
    const plan = named("aws:apigateway/usagePlan:UsagePlan", "orders-usage-plan");
    expect(plan.inputs).toMatchObject({ throttleSettings: { rateLimit: 50, burstLimit: 100 }, apiStages: [{ apiId: named("aws:apigateway/restApi:RestApi", "orders-api").id, stage: "dev" }] });
    const key = named("aws:apigateway/apiKey:ApiKey", "orders-api-key");
    expect(named("aws:apigateway/usagePlanKey:UsagePlanKey", "orders-usage-plan-key").inputs).toMatchObject({ keyId: key.id, keyType: "API_KEY", usagePlanId: plan.id });

    const tuned = await runProgram({ stack: "dev", config: { ...CONFIG, apiRateLimit: "5", apiBurstLimit: "7" } });
    expect(tuned.resources.find((r) => r.name === "orders-usage-plan")!.inputs.throttleSettings).toEqual({ rateLimit: 5, burstLimit: 7 });
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
});

describe("API deployment trigger", () => {
  /**
   * The deployment's `triggers.redeployment` of an OrderFulfillment declared alone under a fresh
   * mock runtime, optionally with a method transform or another invoke ARN for the API function.
   */
  async function redeploymentTrigger(options: { method?: (args: aws.apigateway.MethodArgs) => void; apiInvokeArn?: string } = {}): Promise<string> {
    const declared: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
    const context = { region: REGION, accountId: ACCOUNT };
    await pulumi.runtime.setMocks(
      {
        newResource: (args: MockResourceArgs) => {
          const result = awsShapedState(args, context);
          if (options.apiInvokeArn && args.type === "aws:lambda/function:Function" && args.inputs.name === "dofs-dev-orders-api") result.state.invokeArn = options.apiInvokeArn;
          declared.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
          return result;
        },
        call: (args) => awsCallResult(args, context),
      },
      "utility-serverless",
      "dev",
      false,
    );
    const orders = new OrderFulfillment("orders", { settings: run.settings, transform: { method: options.method } });
    await new Promise<void>((done) => orders.api.stage.id.apply(() => done()));
    const deployment = declared.find((r) => r.type === "aws:apigateway/deployment:Deployment");
    if (!deployment) throw new Error("no deployment declared");
    return (deployment.inputs.triggers as { redeployment: string }).redeployment;
  }

  it("is the same for the same program, and is what the stack declares", async () => {
    const first = await redeploymentTrigger();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await redeploymentTrigger()).toBe(first);
    run = await runProgram({ stack: "dev", config: CONFIG });
    expect((named("aws:apigateway/deployment:Deployment", "orders-deployment").inputs.triggers as { redeployment: string }).redeployment).toBe(first);
    const again = await runProgram({ stack: "dev", config: CONFIG });
    expect((again.resources.find((r) => r.name === "orders-deployment")!.inputs.triggers as { redeployment: string }).redeployment).toBe(first);
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
  it("changes with what the stage serves: the API function's invoke ARN, a method's apiKeyRequired or validator", async () => {
    const base = await redeploymentTrigger();
    const replacedFunction = await redeploymentTrigger({ apiInvokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn.fn("orders-api-v2")}/invocations` });
    const keyless = await redeploymentTrigger({ method: (args) => { if (args.httpMethod === "GET") args.apiKeyRequired = false; } });
    const unvalidated = await redeploymentTrigger({ method: (args) => { if (args.httpMethod === "POST") args.requestValidatorId = undefined; } });
    expect(new Set([base, replacedFunction, keyless, unvalidated]).size).toBe(4);
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
});

describe("state machine", () => {
  it("is Standard by default, Express as an option, with logging and tracing on", async () => {
    const machine = named("aws:sfn/stateMachine:StateMachine", "orders-workflow").inputs;
    expect(machine).toMatchObject({
      name: "dofs-dev-order-workflow",
      type: "STANDARD",
      tracingConfiguration: { enabled: true },
      loggingConfiguration: { level: "ALL", includeExecutionData: false, logDestination: `${arn.logGroup("/aws/vendedlogs/states/dofs-dev-order-workflow")}:*` },
      roleArn: `arn:aws:iam::${ACCOUNT}:role/dofs-dev-order-workflow`,
    });
    // EXPRESS needs a function timeout short enough for its slowest path to fit in 300 s (the settings schema holds it).
    const express = await runProgram({ stack: "dev", config: { ...CONFIG, stateMachineType: "EXPRESS", functionTimeoutSeconds: "4" } });
    const expressMachine = express.resources.find((r) => r.type === "aws:sfn/stateMachine:StateMachine" && r.name === "orders-workflow")!.inputs;
    expect(expressMachine.type).toBe("EXPRESS");
    expect(JSON.parse(expressMachine.definition as string).TimeoutSeconds).toBe(orderWorkflowTimeoutSeconds(4));
    expect(orderWorkflowTimeoutSeconds(4)).toBeLessThanOrEqual(300);
    await expect(runProgram({ stack: "dev", config: { ...CONFIG, stateMachineType: "EXPRESS" } })).rejects.toThrow(/an EXPRESS execution runs at most 300 s/);
    run = await runProgram({ stack: "dev", config: CONFIG });
  });
  it("is built with the deployed function ARNs and queue URL, and sends to the queue with the SQS integration", () => {
    const definition = JSON.parse(named("aws:sfn/stateMachine:StateMachine", "orders-workflow").inputs.definition as string);
    // First the trace-context guard (an execution started without `_trace` gets an empty one), then Validate.
    expect(definition.StartAt).toBe("CheckTraceContext");
    expect(definition.States.CheckTraceContext.Choices[0].Next).toBe("Validate");
    expect(definition.States.NoTraceContext.Next).toBe("Validate");
    expect(definition.States.Validate.Parameters.FunctionName).toBe(arn.fn("orders-validate"));
    expect(definition.States.StorePending.Parameters.FunctionName).toBe(arn.fn("orders-store"));
    expect(definition.States.SendToFulfillment).toMatchObject({
      Type: "Task",
      Resource: "arn:aws:states:::sqs:sendMessage",
      Parameters: { QueueUrl: run.outputs.fulfillmentQueueUrl },
    });
    // The retriers (exact values asserted in order-workflow.test.ts): ValidationError never, then
    // Lambda's service errors, then any other task failure; RecordFailure retries anything.
    for (const state of ["Validate", "StorePending", "StoreRejected"]) expect(definition.States[state].Retry, state).toEqual(LAMBDA_TASK_RETRY);
    expect(definition.States.RecordFailure.Retry).toEqual(RECORD_FAILURE_RETRY);
    expect(definition.States.Validate.TimeoutSeconds).toBe(35);
    // The execution's timeout is derived from the Tasks' timeouts and retries (806 s with 30 s functions), not a fixed 300 s.
    expect(definition.TimeoutSeconds).toBe(orderWorkflowTimeoutSeconds(30));
    expect(definition.States.SendToFulfillment.TimeoutSeconds).toBe(10);
  });
  it("gives the API function its own timeout (apiTimeoutSeconds), below API Gateway's 29 s, while the others keep functionTimeoutSeconds", async () => {
    expect(byInput("aws:lambda/function:Function", "name", "dofs-dev-orders-api").inputs.timeout).toBe(10);
    expect(byInput("aws:lambda/function:Function", "name", "dofs-dev-orders-store").inputs.timeout).toBe(30);
    const custom = await runProgram({ stack: "dev", config: { ...CONFIG, apiTimeoutSeconds: "20", functionTimeoutSeconds: "60" } });
    const timeoutOf = (name: string) => custom.resources.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === name)!.inputs.timeout;
    expect(timeoutOf("dofs-dev-orders-api")).toBe(20);
    expect(timeoutOf("dofs-dev-orders-validate")).toBe(60);
    await expect(runProgram({ stack: "dev", config: { ...CONFIG, apiTimeoutSeconds: "30" } })).rejects.toThrow(/apiTimeoutSeconds is 30: must be below API Gateway's 29 s integration timeout/);
  });
  it("its role: only Step Functions of this account and machine may assume it", () => {
    const role = named("aws:iam/role:Role", "orders-workflow-role").inputs;
    expect(JSON.parse(role.assumeRolePolicy as string).Statement).toEqual([{
      Effect: "Allow",
      Principal: { Service: "states.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": ACCOUNT },
        ArnLike: { "aws:SourceArn": `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:dofs-dev-order-workflow` },
      },
    }]);
  });
  it("its role's statements are exactly: invoke the two task functions, send to the queue, use its key, log delivery and X-Ray", () => {
    expect(statementsOf("orders-workflow-policy")).toEqual([
      { Sid: "InvokeWorkflowFunctions", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [arn.fn("orders-validate"), arn.fn("orders-store")] },
      { Sid: "SendToFulfillmentQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: arn.queue("fulfillment") },
      { Sid: "FulfillmentQueueKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: keyArn },
      {
        Sid: "LogDelivery",
        Effect: "Allow",
        Action: [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ],
        Resource: "*",
      },
      { Sid: "Tracing", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"], Resource: "*" },
    ]);
  });
  it("the unit's key admits no Step Functions principal (it uses the key through the role); only CloudWatch Logs, for the unit's log groups", () => {
    const policy = JSON.parse(named("aws:kms/key:Key", "orders-key-key").inputs.policy as string);
    expect(policy.Statement).toHaveLength(2);
    expect(policy.Statement[0].Principal).toEqual({ AWS: `arn:aws:iam::${ACCOUNT}:root` });
    expect(policy.Statement[1]).toEqual({
      Sid: "AllowLogsToUseKey",
      Effect: "Allow",
      Principal: { Service: `logs.${REGION}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": ["/aws/lambda/dofs-dev-*", "/aws/vendedlogs/states/dofs-dev-*", "/aws/apigateway/dofs-dev-*", "API-Gateway-Execution-Logs_*/dev"].map(arn.logGroup),
        },
      },
    });
    expect(named("aws:kms/key:Key", "orders-key-key").inputs.description).toContain("state machine's IAM role");
  });
  it("encrypts every log group of the unit with its key", () => {
    const groups = ofType("aws:cloudwatch/logGroup:LogGroup").filter((g) => /dofs-dev|API-Gateway-Execution-Logs/.test(String(g.inputs.name)));
    expect(groups.map((g) => g.inputs.name).sort()).toEqual([
      "/aws/apigateway/dofs-dev-api/dev",
      "/aws/lambda/dofs-dev-orders-api",
      "/aws/lambda/dofs-dev-orders-dlq",
      "/aws/lambda/dofs-dev-orders-fulfillment",
      "/aws/lambda/dofs-dev-orders-store",
      "/aws/lambda/dofs-dev-orders-validate",
      "/aws/vendedlogs/states/dofs-dev-order-workflow",
      `API-Gateway-Execution-Logs_${named("aws:apigateway/restApi:RestApi", "orders-api").id}/dev`,
    ]);
    for (const g of groups) expect(g.inputs).toMatchObject({ kmsKeyId: keyArn, retentionInDays: 7 });
  });
});

describe("function roles (exact statements)", () => {
  const logs = (fn: string) => ({ Sid: "OwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${arn.logGroup(`/aws/lambda/dofs-dev-${fn}`)}:*` });
  const xray = { Sid: "Tracing", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" };
  const read = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"];
  const write = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"];
  const readWrite = [...new Set([...read, ...write])];
  const encrypt = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];
  const consume = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"];
  const send = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"];

  it("orders-validate: logs and X-Ray only", () => {
    expect(statementsOf("orders-validate-policy")).toEqual([logs("orders-validate"), xray]);
  });
  it("orders-store: read/write orders, write failed orders", () => {
    expect(statementsOf("orders-store-policy")).toEqual([
      { Sid: "OrdersTable", Effect: "Allow", Action: readWrite, Resource: [arn.table("orders"), `${arn.table("orders")}/index/*`] },
      { Sid: "OrdersKey", Effect: "Allow", Action: encrypt, Resource: keyArn },
      { Sid: "FailedOrdersTable", Effect: "Allow", Action: write, Resource: [arn.table("failed-orders")] },
      { Sid: "FailedOrdersKey", Effect: "Allow", Action: encrypt, Resource: keyArn },
      logs("orders-store"),
      xray,
    ]);
  });
  it("orders-api: read orders, read/write idempotency records, start and describe its workflow", () => {
    const machine = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:dofs-dev-order-workflow`;
    expect(statementsOf("orders-api-policy")).toEqual([
      { Sid: "OrdersTable", Effect: "Allow", Action: read, Resource: [arn.table("orders"), `${arn.table("orders")}/index/*`] },
      { Sid: "OrdersKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: keyArn },
      { Sid: "IdempotencyTable", Effect: "Allow", Action: readWrite, Resource: [arn.table("idempotency"), `${arn.table("idempotency")}/index/*`] },
      { Sid: "IdempotencyKey", Effect: "Allow", Action: encrypt, Resource: keyArn },
      { Sid: "WorkflowStateMachine", Effect: "Allow", Action: ["states:StartExecution"], Resource: machine },
      { Sid: "WorkflowExecutions", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:dofs-dev-order-workflow:*` },
      logs("orders-api"),
      xray,
    ]);
  });
  it("orders-fulfillment: read/write orders, consume the queue, send to its DLQ", () => {
    expect(statementsOf("orders-fulfillment-policy")).toEqual([
      { Sid: "OrdersTable", Effect: "Allow", Action: readWrite, Resource: [arn.table("orders"), `${arn.table("orders")}/index/*`] },
      { Sid: "OrdersKey", Effect: "Allow", Action: encrypt, Resource: keyArn },
      { Sid: "SourceQueue", Effect: "Allow", Action: consume, Resource: arn.queue("fulfillment") },
      { Sid: "SourceKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: keyArn },
      { Sid: "DeadLetterQueue", Effect: "Allow", Action: send, Resource: arn.queue("fulfillment-dlq") },
      { Sid: "DeadLetterKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: keyArn },
      logs("orders-fulfillment"),
      xray,
    ]);
  });
  it("orders-dlq: read/write orders, write failed orders, consume the DLQ, send to the DLQ-failures queue", () => {
    expect(statementsOf("orders-dlq-handler-policy")).toEqual([
      { Sid: "OrdersTable", Effect: "Allow", Action: readWrite, Resource: [arn.table("orders"), `${arn.table("orders")}/index/*`] },
      { Sid: "OrdersKey", Effect: "Allow", Action: encrypt, Resource: keyArn },
      { Sid: "FailedOrdersTable", Effect: "Allow", Action: write, Resource: [arn.table("failed-orders")] },
      { Sid: "FailedOrdersKey", Effect: "Allow", Action: encrypt, Resource: keyArn },
      { Sid: "SourceQueue", Effect: "Allow", Action: consume, Resource: arn.queue("fulfillment-dlq") },
      { Sid: "SourceKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: keyArn },
      { Sid: "DeadLetterQueue", Effect: "Allow", Action: send, Resource: arn.queue("fulfillment-dlq-failures") },
      { Sid: "DeadLetterKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: keyArn },
      logs("orders-dlq"),
      xray,
    ]);
  });
  it("the fulfillment function gets the success rate and no outcome overrides", () => {
    const fn = byInput("aws:lambda/function:Function", "name", "dofs-dev-orders-fulfillment").inputs as { environment: { variables: Record<string, string> } };
    expect(JSON.parse(fn.environment.variables.FUNCTION_SETTINGS!)).toEqual({ fulfillmentSuccessRate: 0.7 });
    expect(JSON.parse(fn.environment.variables.FUNCTION_TRIGGER!)).toEqual({ maxReceiveCount: 5 });
  });
});
