/**
 * The orders API (`functions/orders/api/handler.ts`) on the API runtime (`functions/lib/api-handler.ts`),
 * and the validator step (`functions/orders/validate/handler.ts`) on the task runtime
 * (`functions/lib/task-handler.ts`), run in this process against dynalite and the local Step Functions
 * emulator on 127.0.0.1. The bundles run the same code in child processes (orders.test.ts, the
 * integration suite); in-process, mutation testing (`npm run mutation`) sees which check notices
 * each change of this code. The workflow here is one long Wait state, so an order's execution stays
 * RUNNING for the whole file.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand, DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { documentClient } from "../../../functions/lib/aws/dynamodb";
import { sfnClient } from "../../../functions/lib/aws/sfn";
import { setupTelemetry } from "../../../functions/lib/telemetry/provider";
import type * as ApiHandlerRuntime from "../../../functions/lib/api-handler";
import type * as OrdersApi from "../../../functions/orders/api/handler";
import type * as ValidateHandler from "../../../functions/orders/validate/handler";
import { corsResponseHeaders } from "../../../functions/lib/cors";
import { IDEMPOTENCY_TTL_SECONDS, ordersApi } from "../../../functions/orders/api/definition";
import type { WorkflowOrder } from "../../../functions/orders/schemas";
import { awsClientConfig } from "../../../local/emulators";
import { startDynamoDb } from "../../../local/emulators/dynamodb";
import type { DynamoDbEmulator } from "../../../local/emulators/dynamodb";
import { startStepFunctions } from "../../../local/services/stepfunctions/emulator";
import type { StepFunctionsEmulator } from "../../../local/services/stepfunctions/emulator";

const region = "us-east-2";
const TABLES = { orders: "orders", idempotency: "idempotency" };
const SHOP = "https://shop.example";
const EXPOSED = "x-request-id,x-amzn-requestid,idempotent-replayed";
let dynamo: DynamoDbEmulator;
let stepFunctions: StepFunctionsEmulator;
let documents: DynamoDBDocumentClient;
let sfn: SFNClient;
let machineArn: string;
let api: typeof OrdersApi;
let runtime: typeof ApiHandlerRuntime;
let validate: typeof ValidateHandler;
/** What the functions wrote to stdout and stderr: JSON log lines and EMF metric lines. */
const output: string[] = [];
/** The functions' finished spans (the routes and the validator put the business ids on theirs). */
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  [dynamo, stepFunctions] = await Promise.all([startDynamoDb(), startStepFunctions({ region })]);
  const client = new DynamoDBClient(awsClientConfig(dynamo.endpoint, region));
  documents = DynamoDBDocumentClient.from(client);
  const keys = { orders: "order_id", idempotency: "idempotency_key" };
  for (const [link, name] of Object.entries(TABLES)) {
    const key = keys[link as keyof typeof keys];
    await client.send(new CreateTableCommand({ TableName: name, KeySchema: [{ AttributeName: key, KeyType: "HASH" }], AttributeDefinitions: [{ AttributeName: key, AttributeType: "S" }], BillingMode: "PAY_PER_REQUEST" }));
  }
  sfn = new SFNClient(awsClientConfig(stepFunctions.endpoint, region));
  const definition = { StartAt: "Hold", States: { Hold: { Type: "Wait", Seconds: 3600, End: true } } };
  machineArn = (await sfn.send(new CreateStateMachineCommand({ name: "orders", definition: JSON.stringify(definition), roleArn: `arn:aws:iam::000000000000:role/orders` }))).stateMachineArn!;
  Object.assign(process.env, {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SFN: stepFunctions.endpoint,
    LINK_ORDERS: JSON.stringify({ name: TABLES.orders, arn: `arn:aws:dynamodb:${region}:1:table/${TABLES.orders}` }),
    LINK_IDEMPOTENCY: JSON.stringify({ name: TABLES.idempotency, arn: `arn:aws:dynamodb:${region}:1:table/${TABLES.idempotency}` }),
    LINK_WORKFLOW: JSON.stringify({ arn: machineArn }),
    FUNCTION_SETTINGS: JSON.stringify({ corsAllowOrigins: [SHOP] }),
  });
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (output.push(String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (output.push(String(chunk)), true));
  setupTelemetry({ exporter, simple: true, serviceName: "orders-api" });
  runtime = await import("../../../functions/lib/api-handler");
  api = await import("../../../functions/orders/api/handler");
  validate = await import("../../../functions/orders/validate/handler");
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  sfn?.destroy();
  await Promise.all([dynamo?.stop(), stepFunctions?.stop()]);
});
beforeEach(() => {
  output.length = 0;
  exporter.reset();
});

const lambdaContext = { awsRequestId: "lambda-req-1", functionName: "orders-api", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const ITEMS = [{ product_id: "prod-widget", quantity: 2 }];

interface Call {
  method?: string;
  resource?: string;
  path?: string;
  body?: unknown;
  rawBody?: string | null;
  base64?: boolean;
  headers?: Record<string, string>;
  id?: string;
  requestId?: string | null;
}
/** Calls the API handler as API Gateway's proxy integration does; the body comes back parsed. */
async function call(options: Call = {}): Promise<{ statusCode: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
  const rawBody = options.rawBody !== undefined ? options.rawBody : options.body === undefined ? null : JSON.stringify(options.body);
  const event = {
    httpMethod: options.method ?? "POST",
    resource: options.resource ?? (options.id === undefined ? "/order" : "/order/{id}"),
    path: options.path ?? (options.id === undefined ? "/order" : `/order/${options.id}`),
    headers: { "Content-Type": "application/json", Origin: SHOP, ...options.headers },
    pathParameters: options.id === undefined ? null : { id: options.id },
    queryStringParameters: null,
    body: options.base64 && rawBody !== null ? Buffer.from(rawBody).toString("base64") : rawBody,
    isBase64Encoded: options.base64 ?? false,
    requestContext: options.requestId === null ? undefined : { requestId: options.requestId ?? "api-req-1" },
  } as unknown as APIGatewayProxyEvent;
  const result: APIGatewayProxyResult = await api.handler(event, lambdaContext);
  return { statusCode: result.statusCode, headers: result.headers as Record<string, unknown>, body: JSON.parse(result.body) as Record<string, unknown> };
}
const post = (body: unknown, headers: Record<string, string> = {}) => call({ body, headers });

/** The headers of every answer to the allowed origin. */
const answerHeaders = (requestId = "api-req-1") => ({
  "content-type": "application/json",
  "x-request-id": requestId,
  vary: "Origin",
  "access-control-allow-origin": SHOP,
  "access-control-expose-headers": EXPOSED,
});

/** The executions of the workflow named after `orderId`. */
async function executionsOf(orderId: string) {
  const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 1000 }));
  return executions.filter((e) => e.name === orderId);
}
/** The business ids on the span named `name` (the one span of that name since the test began). */
function idsOnSpan(name: string): Record<string, unknown> {
  const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
  expect(spans).toHaveLength(1);
  const { attributes } = spans[0]!;
  return Object.fromEntries(["order.id", "customer.id"].filter((key) => key in attributes).map((key) => [key, attributes[key]]));
}
/** Makes `client.send` reject the commands `fails` picks with `error()`; the others go through. */
function failCommands(client: { send: (command: never) => Promise<unknown> }, fails: (command: { constructor: { name: string }; input: Record<string, unknown> }) => boolean, error: () => Error) {
  const send = client.send.bind(client);
  // Kept here: a restored spy forgets its calls.
  const calls: string[] = [];
  const spy = vi.spyOn(client, "send").mockImplementation(((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    calls.push(command.constructor.name);
    return fails(command) ? Promise.reject(error()) : send(command as never);
  }) as never);
  return { restore: () => spy.mockRestore(), calls: () => [...calls] };
}
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

/** `OrdersPlaced` values in the EMF lines written since the test began. */
const ordersPlaced = () => output.flatMap((line) => line.split("\n")).filter((l) => l.includes('"OrdersPlaced"')).map((l) => (JSON.parse(l) as { OrdersPlaced: number }).OrdersPlaced);

describe("POST /order", () => {
  it("starts the order's workflow, named after a new order id, with the order as input, counts it once and answers PENDING", async () => {
    const reads = failCommands(documentClient(), () => false, () => new Error("unused"));
    const answer = await post({ customer_id: "cust-1", items: ITEMS }).finally(reads.restore);
    const orderId = answer.body.order_id as string;
    expect(answer).toEqual({ statusCode: 200, headers: answerHeaders(), body: { order_id: orderId, status: "PENDING" } });
    // Without an Idempotency-Key a new order costs no table call (its id is new: nothing to read).
    expect(reads.calls()).toEqual([]);
    expect(idsOnSpan("POST /order")).toEqual({ "order.id": orderId, "customer.id": "cust-1" });
    expect(orderId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [execution, ...others] = await executionsOf(orderId);
    expect(others).toEqual([]);
    expect(execution!.executionArn).toBe(api.executionArn(machineArn, orderId));
    const { input, status } = await sfn.send(new DescribeExecutionCommand({ executionArn: execution!.executionArn }));
    expect(status).toBe("RUNNING");
    const { received_at, ...order } = JSON.parse(input!) as WorkflowOrder;
    // `_trace`: the order's trace context, which every Task and the fulfillment message continue.
    expect(order).toEqual({ order_id: orderId, customer_id: "cust-1", items: ITEMS, _trace: { traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) } });
    expect(Date.now() - Date.parse(received_at)).toBeLessThan(60_000);
    expect(ordersPlaced()).toEqual([1]);
  });

  it("names the execution ARN after the state machine's", () => {
    expect(api.executionArn("arn:aws:states:us-east-2:1:stateMachine:orders", "o-1")).toBe("arn:aws:states:us-east-2:1:execution:orders:o-1");
  });

  it("refuses an order that breaks the schema with 400 and each offending field, and starts nothing", async () => {
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 1000 }))).executions!.length;
    expect(await post({ customer_id: "cust-1", items: [{ product_id: "prod-widget", quantity: 0 }], extra: 1 })).toEqual({
      statusCode: 400,
      headers: answerHeaders(),
      body: {
        message: "Invalid order",
        errors: [
          { field: "items.0.quantity", message: "must be at least 1" },
          { field: "(body)", message: 'Unrecognized key: "extra"' },
        ],
      },
    });
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 1000 }))).executions!.length).toBe(before);
    expect(ordersPlaced()).toEqual([]);
  });

  it("answers a body that is not JSON with 400, and reads a base64-encoded body", async () => {
    expect(await call({ rawBody: "{not json" })).toEqual({
      statusCode: 400,
      headers: answerHeaders(),
      body: { message: "Request body is not valid JSON", errors: [{ field: "(body)", message: "must be a JSON document" }] },
    });
    expect(await call({ rawBody: "" })).toEqual({ statusCode: 400, headers: answerHeaders(), body: { message: "Invalid order", errors: [{ field: "(body)", message: "Invalid input: expected object, received undefined" }] } });
    const encoded = await call({ body: { customer_id: "cust-b64", items: ITEMS }, base64: true });
    expect(encoded.statusCode).toBe(200);
    expect(encoded.body.status).toBe("PENDING");
  });

  it("with an Idempotency-Key: a retry of the same body gets the same order (replayed, its stored status), another body 422, and one workflow", async () => {
    const key = `key-${randomUUID()}`;
    const body = { customer_id: "cust-idem", items: ITEMS };
    const first = await post(body, { "Idempotency-Key": key });
    const orderId = first.body.order_id as string;
    expect(first).toEqual({ statusCode: 200, headers: answerHeaders(), body: { order_id: orderId, status: "PENDING" } });
    const record = (await documents.send(new GetCommand({ TableName: TABLES.idempotency, Key: { idempotency_key: key } }))).Item!;
    expect(record.order_id).toBe(orderId);
    expect(record.expires_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(IDEMPOTENCY_TTL_SECONDS - 60);
    expect(record.expires_at - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(IDEMPOTENCY_TTL_SECONDS);

    // Not stored yet: the replay answers PENDING.
    expect(await post(body, { "Idempotency-Key": key })).toEqual({ statusCode: 200, headers: { ...answerHeaders(), "idempotent-replayed": "true" }, body: { order_id: orderId, status: "PENDING" } });
    // Stored by the workflow: the replay answers the stored status.
    await documents.send(new PutCommand({ TableName: TABLES.orders, Item: { order_id: orderId, customer_id: "cust-idem", items: ITEMS, status: "FULFILLED", created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:01.000Z" } }));
    output.length = 0;
    expect((await post(body, { "idempotency-key": key })).body).toEqual({ order_id: orderId, status: "FULFILLED" });
    expect(await executionsOf(orderId)).toHaveLength(1);
    // The replay's StartExecution was refused (ExecutionAlreadyExists): it counts no order.
    expect(ordersPlaced()).toEqual([]);

    expect(await post({ ...body, items: [{ product_id: "prod-widget", quantity: 3 }] }, { "Idempotency-Key": key })).toEqual({
      statusCode: 422,
      headers: answerHeaders(),
      body: { message: "Idempotency-Key was already used with a different order", errors: [{ field: "Idempotency-Key", message: "already used with a different body" }] },
    });
  });

  it("claims an expired key again for a new order", async () => {
    const key = `key-${randomUUID()}`;
    const body = { customer_id: "cust-expired", items: ITEMS };
    const old = randomUUID();
    await documents.send(new PutCommand({ TableName: TABLES.idempotency, Item: { idempotency_key: key, order_id: old, fingerprint: "x", received_at: "2026-01-01T00:00:00.000Z", expires_at: Math.floor(Date.now() / 1000) - 5 } }));
    const answer = await post(body, { "Idempotency-Key": key });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers["idempotent-replayed"]).toBeUndefined();
    expect(answer.body.order_id).not.toBe(old);
    expect((await documents.send(new GetCommand({ TableName: TABLES.idempotency, Key: { idempotency_key: key } }))).Item!.order_id).toBe(answer.body.order_id);
  });

  it("refuses a malformed Idempotency-Key with 400 naming the header", async () => {
    expect(await post({ customer_id: "cust-1", items: ITEMS }, { "Idempotency-Key": "has spaces" })).toEqual({
      statusCode: 400,
      headers: answerHeaders(),
      body: { message: "Invalid order", errors: [{ field: "Idempotency-Key", message: "must be 1-128 letters, digits or _ . : -" }] },
    });
  });

  it("answers 500 when the workflow cannot be started for another reason than having started already", async () => {
    const refused = failCommands(sfnClient(), (c) => c.constructor.name === "StartExecutionCommand", () => named("ThrottlingException", "Rate exceeded"));
    const answer = await post({ customer_id: "cust-1", items: ITEMS }).finally(refused.restore);
    expect(answer).toEqual({ statusCode: 500, headers: answerHeaders(), body: { message: "Internal server error", request_id: "api-req-1" } });
    expect(ordersPlaced()).toEqual([]);
  });

  it("answers 409 while the key's first request holds it and its record cannot be read yet", async () => {
    const key = `key-${randomUUID()}`;
    const body = { customer_id: "cust-race", items: ITEMS };
    expect((await post(body, { "Idempotency-Key": key })).statusCode).toBe(200);
    // The claim is refused (the key is held), and the read finds nothing, as when the holder's
    // write is not visible yet.
    const client = documentClient();
    const send = client.send.bind(client);
    const spy = vi.spyOn(client, "send").mockImplementation(((command: { constructor: { name: string }; input: Record<string, unknown> }) =>
      command.constructor.name === "GetCommand" && command.input.TableName === TABLES.idempotency ? Promise.resolve({ $metadata: {} }) : send(command as never)) as never);
    const answer = await post(body, { "Idempotency-Key": key }).finally(() => spy.mockRestore());
    expect(answer).toEqual({ statusCode: 409, headers: answerHeaders(), body: { message: "Idempotency-Key is being claimed by a concurrent request; retry" } });
  });

  it("answers 500 naming the request id, and nothing internal, when a call fails unexpectedly", async () => {
    const send = vi.spyOn(documentClient(), "send").mockRejectedValueOnce(new Error("table on fire") as never);
    try {
      const answer = await call({ body: { customer_id: "cust-1", items: ITEMS }, headers: { "Idempotency-Key": `key-${randomUUID()}` }, requestId: null });
      expect(answer).toEqual({ statusCode: 500, headers: answerHeaders("lambda-req-1"), body: { message: "Internal server error", request_id: "lambda-req-1" } });
    } finally {
      send.mockRestore();
    }
    const logged = output.map((l) => JSON.parse(l) as { level: string; message: string; error?: { message: string } }).find((l) => l.message === "Request failed");
    expect(logged?.error?.message).toBe("table on fire");
  });
});

describe("GET /order/{id}", () => {
  it("answers a stored order with what the API shows of it (a reason only when it has one)", async () => {
    const orderId = randomUUID();
    const stored = { order_id: orderId, customer_id: "cust-2", items: ITEMS, status: "REJECTED", status_reason: "product prod-x-test is a test product", created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:02.000Z" };
    await documents.send(new PutCommand({ TableName: TABLES.orders, Item: { ...stored, version: 3 } }));
    expect(await call({ method: "GET", id: orderId })).toEqual({ statusCode: 200, headers: answerHeaders(), body: stored });
    expect(idsOnSpan("GET /order/{id}")).toEqual({ "order.id": orderId, "customer.id": "cust-2" });
    const pending = randomUUID();
    const { status_reason: _, ...unreasoned } = { ...stored, order_id: pending, status: "PENDING" };
    await documents.send(new PutCommand({ TableName: TABLES.orders, Item: unreasoned }));
    expect((await call({ method: "GET", id: pending })).body).toEqual(unreasoned);
  });

  it("answers an order not stored yet from its running workflow, as PENDING", async () => {
    const order: WorkflowOrder = { order_id: randomUUID(), customer_id: "cust-3", items: ITEMS, received_at: "2026-01-02T00:00:00.000Z" };
    await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: order.order_id, input: JSON.stringify(order) }));
    expect(await call({ method: "GET", id: order.order_id })).toEqual({
      statusCode: 200,
      headers: answerHeaders(),
      body: { order_id: order.order_id, customer_id: "cust-3", items: ITEMS, status: "PENDING", created_at: "2026-01-02T00:00:00.000Z" },
    });
    // A running workflow whose input is not an order answers for nothing.
    const odd = randomUUID();
    await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: odd, input: JSON.stringify({ order_id: odd }) }));
    expect((await call({ method: "GET", id: odd })).statusCode).toBe(404);
  });

  it("answers 404 for an unknown order and 400 for an id that is no UUID", async () => {
    const unknown = randomUUID();
    expect(await call({ method: "GET", id: unknown })).toEqual({ statusCode: 404, headers: answerHeaders(), body: { message: `Order ${unknown} not found` } });
    expect(idsOnSpan("GET /order/{id}")).toEqual({ "order.id": unknown });
    expect(await call({ method: "GET", id: "nope" })).toEqual({ statusCode: 400, headers: answerHeaders(), body: { message: "Invalid order id", errors: [{ field: "id", message: "must be a UUID" }] } });
  });
});

describe("GET /order/{id} while the workflow cannot answer", () => {
  it("answers 404 for an order whose workflow ended without storing it", async () => {
    const order: WorkflowOrder = { order_id: randomUUID(), customer_id: "cust-5", items: ITEMS, received_at: "2026-01-02T00:00:00.000Z" };
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: order.order_id, input: JSON.stringify(order) }));
    await sfn.send(new StopExecutionCommand({ executionArn }));
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe("ABORTED");
    expect(await call({ method: "GET", id: order.order_id })).toEqual({ statusCode: 404, headers: answerHeaders(), body: { message: `Order ${order.order_id} not found` } });
  });

  it.each(["ExecutionDoesNotExist", "InvalidArn", "StateMachineTypeNotSupported"])("answers 404 when DescribeExecution says %s", async (error) => {
    const id = randomUUID();
    const refused = failCommands(sfnClient(), (c) => c.constructor.name === "DescribeExecutionCommand", () => named(error));
    const answer = await call({ method: "GET", id }).finally(refused.restore);
    expect(answer).toEqual({ statusCode: 404, headers: answerHeaders(), body: { message: `Order ${id} not found` } });
  });

  it("answers 500 when DescribeExecution fails otherwise", async () => {
    const refused = failCommands(sfnClient(), (c) => c.constructor.name === "DescribeExecutionCommand", () => named("ThrottlingException", "Rate exceeded"));
    const answer = await call({ method: "GET", id: randomUUID() }).finally(refused.restore);
    expect(answer).toEqual({ statusCode: 500, headers: answerHeaders(), body: { message: "Internal server error", request_id: "api-req-1" } });
  });
});

describe("the API runtime", () => {
  it("grants CORS to any origin with `*`, to a listed origin by name, and adds nothing when no origin is allowed", () => {
    expect(corsResponseHeaders("https://a.example", ["*"])).toEqual({ "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED });
    expect(corsResponseHeaders(undefined, ["*"])).toEqual({ "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED });
    expect(corsResponseHeaders("https://a.example", ["https://a.example"])).toEqual({ vary: "Origin", "access-control-allow-origin": "https://a.example", "access-control-expose-headers": EXPOSED });
    expect(corsResponseHeaders(undefined, ["https://a.example"])).toEqual({ vary: "Origin" });
    expect(corsResponseHeaders("https://a.example", [])).toEqual({});
  });

  it("reads a request without a body as no body, and logs each invocation with its own request id and keys only", async () => {
    expect(await call({ body: undefined })).toEqual({ statusCode: 400, headers: answerHeaders(), body: { message: "Invalid order", errors: [{ field: "(body)", message: "Invalid input: expected object, received undefined" }] } });
    await post({ customer_id: "cust-logs", items: ITEMS }, { "Idempotency-Key": `key-${randomUUID()}` });
    output.length = 0;
    await call({ method: "GET", id: "nope", requestId: "api-req-2" });
    const lines = output.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === "Request refused");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ function_request_id: "lambda-req-1", api_request_id: "api-req-2", route: "GET /order/{id}", status: 400 });
    expect(lines[0]).not.toHaveProperty("replayed");
    expect(lines[0]).not.toHaveProperty("customer_id");
  });

  it("reads a hand-made event with no body property at all as no body", async () => {
    const event = { httpMethod: "POST", resource: "/order", path: "/order", headers: { Origin: SHOP }, requestContext: { requestId: "api-req-1" } } as unknown as APIGatewayProxyEvent;
    const answer = await api.handler(event, lambdaContext);
    expect({ ...answer, body: JSON.parse(answer.body) as unknown }).toEqual({
      statusCode: 400,
      headers: answerHeaders(),
      body: { message: "Invalid order", errors: [{ field: "(body)", message: "Invalid input: expected object, received undefined" }] },
    });
  });

  it("answers 405 for a known path with another method and 404 for an unknown path", async () => {
    expect(await call({ method: "DELETE" })).toEqual({ statusCode: 405, headers: answerHeaders(), body: { message: "DELETE is not allowed on /order" } });
    expect(await call({ method: "GET", resource: "/orders", path: "/orders" })).toEqual({ statusCode: 404, headers: answerHeaders(), body: { message: "No route for GET /orders" } });
  });

  it("gives an origin it does not allow no CORS grant, and still says the answer varies by Origin", async () => {
    const answer = await call({ method: "GET", id: "nope", headers: { Origin: "https://evil.example" } });
    expect(answer.headers).toEqual({ "content-type": "application/json", "x-request-id": "api-req-1", vary: "Origin" });
  });

  it("adds no CORS headers for a function not told its allowed origins", async () => {
    const bare = runtime.apiHandler(ordersApi, { "GET /ping": async () => ({ statusCode: 200, body: { ok: true } }) });
    const event = { httpMethod: "GET", resource: "/ping", path: "/ping", headers: { Origin: SHOP }, pathParameters: null, queryStringParameters: null, body: null, isBase64Encoded: false, requestContext: { requestId: "r-9" } } as unknown as APIGatewayProxyEvent;
    expect(await bare(event, lambdaContext)).toEqual({ statusCode: 200, headers: { "content-type": "application/json", "x-request-id": "r-9" }, body: '{"ok":true}' });
  });

  it("refuses a route key that is not `<METHOD> /path` when the function is defined", () => {
    expect(() => runtime.apiHandler(ordersApi, { "FETCH /order": async () => ({ statusCode: 200, body: {} }) })).toThrow('Function "orders-api": route "FETCH /order" must look like "GET /order/{id}"');
    for (const key of ["GET order", "GET /order x", "xGET /order"]) {
      expect(() => runtime.apiHandler(ordersApi, { [key]: async () => ({ statusCode: 200, body: {} }) }), key).toThrow(`route "${key}" must look like`);
    }
  });

  it("names each offending field of a validation failure, the root as (body)", () => {
    const error = { issues: [{ path: ["items", 0, "quantity"], message: "must be at least 1" }, { path: [], message: "bad" }] } as unknown as Parameters<typeof runtime.fieldErrors>[0];
    expect(runtime.fieldErrors(error)).toEqual([
      { field: "items.0.quantity", message: "must be at least 1" },
      { field: "(body)", message: "bad" },
    ]);
    expect(runtime.badRequest(error)).toMatchObject({ statusCode: 400, message: "Invalid request", details: { errors: runtime.fieldErrors(error) } });
  });
});

describe("the validator step (task runtime)", () => {
  const order = (items: WorkflowOrder["items"]): WorkflowOrder => ({ order_id: randomUUID(), customer_id: "cust-4", items, received_at: "2026-01-01T00:00:00.000Z" });

  it("accepts an order that breaks no rule, and rejects each broken rule with its reason", async () => {
    const accepted = order(ITEMS);
    expect(await validate.handler(accepted, lambdaContext)).toEqual({ accepted: true, reason: null });
    expect(idsOnSpan("orders-validate")).toEqual({ "order.id": accepted.order_id, "customer.id": "cust-4" });
    expect(await validate.handler(order([{ product_id: "prod-a", quantity: 1 }, { product_id: "prod-a", quantity: 2 }]), lambdaContext)).toEqual({ accepted: false, reason: "product prod-a appears in more than one line" });
    expect(await validate.handler(order([{ product_id: "prod-a", quantity: 1000 }, { product_id: "prod-b", quantity: 1 }]), lambdaContext)).toEqual({ accepted: false, reason: "the order holds 1001 units; at most 1000 are allowed" });
    expect(await validate.handler(order([{ product_id: "prod-a", quantity: 999 }, { product_id: "prod-b", quantity: 1 }]), lambdaContext)).toEqual({ accepted: true, reason: null });
    expect(await validate.handler(order([{ product_id: "prod-a", quantity: 1 }, { product_id: "prod-x-test", quantity: 1 }]), lambdaContext)).toEqual({ accepted: false, reason: "product prod-x-test is a test product and cannot be ordered" });
  });

  it("fails an input that does not match the schema as ValidationError, naming the field", async () => {
    const reason = "customer_id: must not be empty; customer_id: must start with a letter or digit and hold only letters, digits and _ . : -";
    const failure = await validate.handler({ ...order(ITEMS), customer_id: "" }, lambdaContext).catch((error: unknown) => error);
    expect((failure as Error).name).toBe("ValidationError");
    expect((failure as Error).message).toBe(`orders-validate: invalid input: ${reason}`);
    const logged = output.map((l) => JSON.parse(l) as { level: string; message: string; reason?: string }).find((l) => l.message === "Task input does not match the schema");
    expect(logged).toMatchObject({ level: "ERROR", reason, function_request_id: "lambda-req-1" });
  });
});
