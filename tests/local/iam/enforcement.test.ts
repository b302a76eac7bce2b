// IAM enforced in the local cloud, on the program's own roles: the call each link kind and access
// exists for passes with the real grant and fails, with AWS's error naming the missing permission,
// once that one action is removed from the grant; calls to resources a function is not linked to
// are refused; the state machine's role, API Gateway's Lambda permission and SNS's delivery to a
// queue (its policy, and the key of an encrypted queue) are evaluated too.
import { randomUUID } from "node:crypto";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SendMessageCommand, SetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LINK_ACTIONS } from "../../../components/lib/grants";
import { deployLocally } from "../../../local/deploy";
import type { LocalDeploy } from "../../../local/deploy";
import type { DeclaredResource } from "../../../runner/run-program";
import { TEST_SECRET } from "../../support/program";

let local: LocalDeploy;
const logs: string[] = [];

beforeAll(async () => {
  local = await deployLocally({ stack: "dev", config: TEST_SECRET, log: (line) => logs.push(line), timing: { retryIntervalMs: 0 } });
}, 120_000);
afterAll(async () => {
  await local?.stop();
});
afterEach(() => local.iam.load(local.run.resources));

const resource = (type: string, name: string) => {
  const found = local.run.resources.find((r) => r.type === type && (r.state.name === name || r.name === name));
  if (!found) throw new Error(`no ${type} ${name}`);
  return found.state;
};
const arnOf = (type: string, name: string) => resource(type, name).arn as string;
const queueUrl = (name: string) => resource("aws:sqs/queue:Queue", name).url as string;

/**
 * The program's resources with `action` taken out of statement `sid` of the role's policy (as if
 * the grant had been declared without it); `sid` "*" takes it out of every statement (a key that
 * encrypts several linked resources is granted once per link).
 */
function withoutAction(role: string, sid: string, action: string): DeclaredResource[] {
  let removed = 0;
  const resources = structuredClone(local.run.resources).map((r) => {
    if (r.type !== "aws:iam/rolePolicy:RolePolicy" || r.state.role !== role) return r;
    const document = JSON.parse(r.state.policy as string) as { Statement: { Sid?: string; Action: string[] }[] };
    for (const s of document.Statement) {
      if (sid !== "*" && s.Sid !== sid) continue;
      const before = s.Action.length;
      s.Action = s.Action.filter((a) => a !== action);
      removed += before - s.Action.length;
    }
    return { ...r, state: { ...r.state, policy: JSON.stringify(document) } };
  });
  if (removed === 0) throw new Error(`role ${role} has no ${action} in statement ${sid}`);
  return resources;
}

/** SDK clients signed with a function's local credentials, through the gateway, as the function makes its calls. */
function clientsOf(functionName: string) {
  const credentials = local.iam.functionCredentials()[functionName];
  if (!credentials) throw new Error(`no credentials for ${functionName}`);
  const endpoints = local.faults.functionEndpoints;
  const config = (endpoint: string) => ({ endpoint, region: local.region, credentials, maxAttempts: 1 });
  return {
    dynamodb: new DynamoDBClient(config(endpoints.dynamodb)),
    sqs: new SQSClient(config(endpoints.sqs)),
    sns: new SNSClient(config(endpoints.sns)),
    sfn: new SFNClient(config(endpoints.stepfunctions)),
    ssm: new SSMClient(config(endpoints.ssm)),
  };
}

async function failure(call: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error("the call succeeded");
}

const API = "dofs-dev-orders-api";
const STORE = "dofs-dev-orders-store";
const FULFILLMENT = "dofs-dev-orders-fulfillment";
const BANK_SETUP = "utility-customer-system-dev-bank-account-setup";
type Clients = ReturnType<typeof clientsOf>;

interface LinkCase {
  link: string;
  fn: string;
  role: string;
  sid: string;
  action: string;
  call: (c: Clients) => Promise<unknown>;
  /** The error the SDK raises, and what the message names. */
  error: string;
  resource: () => string;
}

// The call each link kind and access is granted for, made as the function makes it.
const CASES: LinkCase[] = [
  { link: "table read", fn: API, role: API, sid: "OrdersTable", action: "dynamodb:GetItem", error: "AccessDeniedException", resource: () => arnOf("aws:dynamodb/table:Table", "dofs-dev-orders"), call: (c) => c.dynamodb.send(new GetItemCommand({ TableName: "dofs-dev-orders", Key: { order_id: { S: "o-1" } } })) },
  { link: "table write", fn: STORE, role: STORE, sid: "OrdersTable", action: "dynamodb:PutItem", error: "AccessDeniedException", resource: () => arnOf("aws:dynamodb/table:Table", "dofs-dev-orders"), call: (c) => c.dynamodb.send(new PutItemCommand({ TableName: "dofs-dev-orders", Item: { order_id: { S: `o-${randomUUID()}` } } })) },
  { link: "table write (its key)", fn: STORE, role: STORE, sid: "*", action: "kms:Decrypt", error: "AccessDeniedException", resource: () => resource("aws:dynamodb/table:Table", "dofs-dev-orders").serverSideEncryption ? keyOf("dofs-dev-orders") : "", call: (c) => c.dynamodb.send(new PutItemCommand({ TableName: "dofs-dev-orders", Item: { order_id: { S: `o-${randomUUID()}` } } })) },
  { link: "queue send", fn: FULFILLMENT, role: FULFILLMENT, sid: "DeadLetterQueue", action: "sqs:SendMessage", error: "AccessDenied", resource: () => arnOf("aws:sqs/queue:Queue", "dofs-dev-fulfillment-dlq"), call: (c) => c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl("dofs-dev-fulfillment-dlq"), MessageBody: "{}" })) },
  { link: "queue send (its key)", fn: FULFILLMENT, role: FULFILLMENT, sid: "*", action: "kms:GenerateDataKey", error: "KmsAccessDenied", resource: () => keyOf("dofs-dev-fulfillment-dlq"), call: (c) => c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl("dofs-dev-fulfillment-dlq"), MessageBody: "{}" })) },
  { link: "queue consume", fn: FULFILLMENT, role: FULFILLMENT, sid: "SourceQueue", action: "sqs:ReceiveMessage", error: "AccessDenied", resource: () => arnOf("aws:sqs/queue:Queue", "dofs-dev-fulfillment"), call: (c) => c.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl("dofs-dev-fulfillment"), WaitTimeSeconds: 0, VisibilityTimeout: 0 })) },
  { link: "stateMachine start", fn: API, role: API, sid: "WorkflowStateMachine", action: "states:StartExecution", error: "AccessDeniedException", resource: () => arnOf("aws:sfn/stateMachine:StateMachine", "dofs-dev-order-workflow"), call: (c) => c.sfn.send(new StartExecutionCommand({ stateMachineArn: arnOf("aws:sfn/stateMachine:StateMachine", "dofs-dev-order-workflow"), input: "{}" })) },
  { link: "parameter read", fn: BANK_SETUP, role: BANK_SETUP, sid: "FingerprintKeyParameter", action: "ssm:GetParameter", error: "AccessDeniedException", resource: () => arnOf("aws:ssm/parameter:Parameter", "/utility-customer-system-dev/account-fingerprint-key"), call: (c) => c.ssm.send(new GetParameterCommand({ Name: "/utility-customer-system-dev/account-fingerprint-key", WithDecryption: true })) },
  { link: "parameter read (its key)", fn: BANK_SETUP, role: BANK_SETUP, sid: "*", action: "kms:Decrypt", error: "AccessDeniedException", resource: () => fingerprintKey(), call: (c) => c.ssm.send(new GetParameterCommand({ Name: "/utility-customer-system-dev/account-fingerprint-key", WithDecryption: true })) },
];

function keyOf(name: string): string {
  const state = local.run.resources.find((r) => r.state.name === name && (r.type === "aws:sqs/queue:Queue" || r.type === "aws:dynamodb/table:Table"))!.state;
  return (state.kmsMasterKeyId as string | undefined) ?? ((state.serverSideEncryption as { kmsKeyArn: string }).kmsKeyArn);
}
const fingerprintKey = () => resource("aws:ssm/parameter:Parameter", "/utility-customer-system-dev/account-fingerprint-key").keyId as string;

describe("a link's grant, one action removed", () => {
  it("covers every link kind and access of LINK_ACTIONS (the topic's is the next describe: no function of the program publishes)", () => {
    const covered = new Set(CASES.map((c) => c.link.replace(/ \(.*\)$/, "")));
    const kinds = Object.entries(LINK_ACTIONS).flatMap(([kind, accesses]) => Object.keys(accesses).map((access) => `${kind} ${access}`));
    expect(kinds.filter((k) => !covered.has(k) && k !== "topic publish")).toEqual([]);
  });

  it.each(CASES)("$link: $fn without $action is refused with AWS's error naming it", async ({ fn, role, sid, action, call, error, resource: target }) => {
    const clients = clientsOf(fn);
    await call(clients); // the real grant allows it
    local.iam.load(withoutAction(role, sid, action));
    const refused = await failure(call(clients));
    expect(refused.name).toBe(error);
    expect(refused.message).toContain(`User: arn:aws:sts::${local.iam.functionCredentials()[fn]!.roleArn.split(":")[4]}:assumed-role/${role}/${fn} is not authorized to perform: `);
    const written = action.startsWith("sqs:") ? action.toLowerCase() : action;
    expect(refused.message).toContain(`${written} on resource: ${target()} because no identity-based policy allows the ${written} action`);
    const logged = logs.filter((l) => l.startsWith(`[iam] denied ${fn}: `)).at(-1);
    expect(logged).toContain(`Missing in role ${role}'s policy: ${JSON.stringify({ Effect: "Allow", Action: action, Resource: target() })}`);
  });
});

describe("the topic publish grant", () => {
  const TOPIC = "utility-customer-system-dev-transaction-processing.fifo";
  // No function of the program publishes to a topic: a role like one the link would declare, for a function that would.
  function withPublisher(actions: string[]): DeclaredResource[] {
    const topicArn = arnOf("aws:sns/topic:Topic", TOPIC);
    const keyArn = resource("aws:sns/topic:Topic", TOPIC).kmsMasterKeyId as string;
    const roleArn = arnOf("aws:iam/role:Role", BANK_SETUP);
    const policy = JSON.stringify({ Statement: [{ Sid: "EventsTopic", Effect: "Allow", Action: actions, Resource: topicArn }, { Sid: "EventsKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: keyArn }] });
    return [
      ...local.run.resources.filter((r) => !(r.type === "aws:iam/rolePolicy:RolePolicy" && r.state.role === BANK_SETUP)),
      { type: "aws:iam/rolePolicy:RolePolicy", name: "publisher", inputs: {}, id: "publisher", state: { role: BANK_SETUP, policy, name: "publisher" }, urn: "", aliases: [], protect: false },
    ].map((r) => (r.type === "aws:iam/role:Role" && r.state.arn === roleArn ? r : r));
  }
  const publish = (c: Clients) => c.sns.send(new PublishCommand({ TopicArn: arnOf("aws:sns/topic:Topic", TOPIC), Message: "{}", MessageGroupId: "g", MessageDeduplicationId: randomUUID() }));

  it("publishes with sns:Publish, and without it gets SNS's AuthorizationError", async () => {
    const clients = clientsOf(BANK_SETUP);
    local.iam.load(withPublisher([...LINK_ACTIONS.topic.publish]));
    await publish(clients);
    local.iam.load(withPublisher([]));
    const refused = await failure(publish(clients));
    // The SDK names SNS's AuthorizationError code by its modeled exception.
    expect(refused).toMatchObject({ name: "AuthorizationErrorException", status: 403 });
    expect(refused.message).toContain(`is not authorized to perform: SNS:Publish on resource: ${arnOf("aws:sns/topic:Topic", TOPIC)} because no identity-based policy allows the SNS:Publish action`);
  });
});

describe("calls to resources a function is not linked to", () => {
  it.each([
    { fn: API, what: "the API function writing the failed-orders table", call: (c: Clients) => c.dynamodb.send(new PutItemCommand({ TableName: "dofs-dev-failed-orders", Item: { order_id: { S: "x" } } })), error: "AccessDeniedException" },
    { fn: BANK_SETUP, what: "a transactions function reading the orders table", call: (c: Clients) => c.dynamodb.send(new GetItemCommand({ TableName: "dofs-dev-orders", Key: { order_id: { S: "x" } } })), error: "AccessDeniedException" },
    { fn: "dofs-dev-orders-validate", what: "the validate function sending to the fulfillment queue", call: (c: Clients) => c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl("dofs-dev-fulfillment"), MessageBody: "{}" })), error: "AccessDenied" },
    { fn: STORE, what: "the store function starting the workflow", call: (c: Clients) => c.sfn.send(new StartExecutionCommand({ stateMachineArn: arnOf("aws:sfn/stateMachine:StateMachine", "dofs-dev-order-workflow"), input: "{}" })), error: "AccessDeniedException" },
  ])("refuses $what", async ({ fn, call, error }) => {
    const refused = await failure(call(clientsOf(fn)));
    expect(refused.name).toBe(error);
    expect(refused.message).toMatch(new RegExp(`^User: arn:aws:sts::\\d{12}:assumed-role/${fn}/${fn} is not authorized to perform: `));
  });

  it("lets any other credentials through as administrator, and refuses a wrong secret for an issued key", async () => {
    await local.clients.dynamodb.send(new PutItemCommand({ TableName: "dofs-dev-failed-orders", Item: { order_id: { S: "admin" } } }));
    const { accessKeyId } = local.iam.functionCredentials()[API]!;
    const forged = new DynamoDBClient({ endpoint: local.faults.functionEndpoints.dynamodb, region: local.region, credentials: { accessKeyId, secretAccessKey: "guessed" }, maxAttempts: 1 });
    expect(await failure(forged.send(new GetItemCommand({ TableName: "dofs-dev-orders", Key: { order_id: { S: "x" } } })))).toMatchObject({ name: "InvalidSignatureException" });
  });
});

describe("the state machine's role", () => {
  it("fails the Lambda task with Lambda.AWSLambdaException when the role may not invoke the function", async () => {
    local.iam.load(withoutAction("dofs-dev-order-workflow", "InvokeWorkflowFunctions", "lambda:InvokeFunction"));
    const stateMachineArn = arnOf("aws:sfn/stateMachine:StateMachine", "dofs-dev-order-workflow");
    const { executionArn } = await local.clients.sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ order_id: randomUUID(), customer_id: "c", items: [{ sku: "s", quantity: 1 }], received_at: new Date().toISOString() }) }));
    const failed = await new Promise<string>((resolve, reject) => {
      const started = Date.now();
      const poll = async () => {
        const history = await local.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
        const details = history.events?.map((e) => e.taskFailedEventDetails ?? e.executionFailedEventDetails).find((d) => d?.error === "Lambda.AWSLambdaException");
        if (details) return resolve(details.cause ?? "");
        if (Date.now() - started > 20_000) return reject(new Error(`no Lambda.AWSLambdaException in ${JSON.stringify(history.events?.map((e) => [e.type, e.executionFailedEventDetails]))}`));
        setTimeout(() => void poll().catch(reject), 100);
      };
      void poll().catch(reject);
    });
    expect(failed).toMatch(/^User: arn:aws:sts::\d{12}:assumed-role\/dofs-dev-order-workflow\/dofs-dev-order-workflow is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:[^ ]+:function:dofs-dev-orders-validate because no identity-based policy allows the lambda:InvokeFunction action/);
  });
});

describe("API Gateway's Lambda permission", () => {
  it("answers 500 as AWS does when the function's permission does not admit the route", async () => {
    const api = [...local.apis.apis.values()][0]!;
    const apiKey = [...local.apis.apiKeys.values()][0]!;
    const get = () => fetch(`http://127.0.0.1:${api.port}/dev/order/${randomUUID()}`, { headers: { "x-api-key": apiKey.value } });
    expect((await get()).status).not.toBe(500);
    local.iam.load(local.run.resources.filter((r) => !(r.type === "aws:lambda/permission:Permission" && r.name.includes("get-order"))));
    expect((await get()).status).toBe(500);
    expect(logs.some((l) => l.includes("Invalid permissions on Lambda function") && l.includes("User: apigateway.amazonaws.com is not authorized to perform: lambda:InvokeFunction"))).toBe(true);
  });
});

describe("SNS delivering to a queue", () => {
  const TOPIC = "utility-customer-system-dev-transaction-processing.fifo";
  const QUEUE = "utility-customer-system-dev-payment-processing.fifo";
  const publishPayment = () =>
    local.clients.sns.send(
      new PublishCommand({
        TopicArn: arnOf("aws:sns/topic:Topic", TOPIC),
        Message: JSON.stringify({ probe: randomUUID() }),
        MessageGroupId: "iam-test",
        MessageDeduplicationId: randomUUID(),
        MessageAttributes: { transaction_type: { DataType: "String", StringValue: "payment" } },
      }),
    );
  /** The program's resources with one statement taken out of a resource policy. */
  const withoutStatement = (type: string, match: (r: DeclaredResource) => boolean, sid: string): DeclaredResource[] =>
    structuredClone(local.run.resources).map((r) => {
      if (r.type !== type || !match(r)) return r;
      const document = JSON.parse(r.state.policy as string) as { Statement: { Sid?: string }[] };
      return { ...r, state: { ...r.state, policy: JSON.stringify({ ...document, Statement: document.Statement.filter((s) => s.Sid !== sid) }) } };
    });
  const counts = () => local.emulators.snsSqs.deliveryCounts(arnOf("aws:sns/topic:Topic", TOPIC));

  it("dead-letters a delivery the queue policy does not admit into the subscription's DLQ (the queue's policy as it is now)", async () => {
    const before = counts();
    const url = queueUrl(QUEUE);
    const declared = (local.run.resources.find((r) => r.type === "aws:sqs/queuePolicy:QueuePolicy" && r.state.queueUrl === url)!.state.policy as string);
    const document = JSON.parse(declared) as { Statement: { Sid?: string }[] };
    const narrowed = JSON.stringify({ ...document, Statement: document.Statement.filter((st) => st.Sid !== "TransactionTopicDelivers") });
    await local.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: narrowed } }));
    try {
      await publishPayment();
    } finally {
      await local.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: declared } }));
    }
    expect(counts()).toEqual({ ...before, NumberOfNotificationsFailed: before.NumberOfNotificationsFailed + 1, NumberOfNotificationsRedrivenToDlq: before.NumberOfNotificationsRedrivenToDlq + 1 });
    expect(logs.filter((l) => l.startsWith("[iam] denied sns.amazonaws.com")).at(-1)).toContain(
      `User: sns.amazonaws.com is not authorized to perform: sqs:SendMessage on resource: ${arnOf("aws:sqs/queue:Queue", QUEUE)} because no resource-based policy allows the sqs:SendMessage action`,
    );
  });

  it("fails a delivery to an encrypted queue whose key policy does not let SNS use the key (and its DLQ, on the same key: discarded)", async () => {
    const before = counts();
    local.iam.load(withoutStatement("aws:kms/key:Key", (r) => r.state.arn === keyOf(QUEUE), "AllowSnsToUseKey"));
    await publishPayment();
    expect(counts()).toEqual({ ...before, NumberOfNotificationsFailed: before.NumberOfNotificationsFailed + 1, NumberOfNotificationsFailedToRedriveToDlq: before.NumberOfNotificationsFailedToRedriveToDlq + 1 });
    expect(logs.filter((l) => l.startsWith("[iam] denied sns.amazonaws.com")).at(-1)).toContain(`perform: kms:GenerateDataKey on resource: ${keyOf(QUEUE)} because no resource-based policy allows the kms:GenerateDataKey action`);
  });
});
