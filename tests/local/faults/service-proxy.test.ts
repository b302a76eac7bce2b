// The service proxy answers an injected fault as the real service does, in its own protocol, so
// the AWS SDK in a function sees exactly the error it would on AWS; with no fault, calls pass.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand, DescribeExecutionCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultInjector } from "../../../local/faults/injector";
import type { ServiceProxy } from "../../../local/faults/service-proxy";
import { identify, startServiceProxy } from "../../../local/faults/service-proxy";
import { parseFaultSpec } from "../../../local/faults/spec";
import { startStepFunctions } from "../../../local/services/stepfunctions";

let upstream: http.Server;
let proxy: ServiceProxy;
const requests: string[] = [];
const injector = new FaultInjector(parseFaultSpec(""), () => undefined);
const config = () => ({ endpoint: proxy.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });

beforeAll(async () => {
  // Stands in for an emulator: answers ListTables, and records what reached it.
  upstream = http.createServer((req, res) => {
    requests.push(String(req.headers["x-amz-target"] ?? req.method));
    req.resume().on("end", () => res.writeHead(200, { "content-type": "application/x-amz-json-1.0" }).end(JSON.stringify({ TableNames: ["t"] })));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  proxy = await startServiceProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, "sns", injector, () => undefined);
});
afterAll(async () => {
  await proxy.stop();
  await new Promise((r) => upstream.close(r));
});

/** The error a call failed with: its name, status and message. */
async function failure(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error("the call succeeded");
}

describe("service proxy", () => {
  it("passes calls through untouched when no fault is in force", async () => {
    injector.set(parseFaultSpec(""));
    expect((await new DynamoDBClient(config()).send(new ListTablesCommand({}))).TableNames).toEqual(["t"]);
    expect(requests.at(-1)).toBe("DynamoDB_20120810.ListTables");
  });

  it("throttles DynamoDB as DynamoDB does, without reaching the emulator", async () => {
    injector.set(parseFaultSpec("dynamodb=throttle:1"));
    const before = requests.length;
    expect(await failure(new DynamoDBClient(config()).send(new ListTablesCommand({})))).toEqual({
      name: "ProvisionedThroughputExceededException",
      status: 400,
      message: "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. (injected fault)",
    });
    expect(requests.length).toBe(before);
    expect(injector.report().injected).toEqual({ "dynamodb throttle": 1 });
  });

  it("answers 5xx in each service's protocol: DynamoDB, SQS (JSON), SNS (XML), Step Functions", async () => {
    injector.set(parseFaultSpec("dynamodb=error:1;sqs=error:1;sns=error:1;stepfunctions=error:1"));
    expect(await failure(new DynamoDBClient(config()).send(new ListTablesCommand({})))).toEqual({ name: "InternalServerError", status: 500, message: "Internal server error (injected fault)" });
    expect(await failure(new SQSClient(config()).send(new SendMessageCommand({ QueueUrl: `${proxy.endpoint}/000000000000/q`, MessageBody: "x" })))).toMatchObject({ name: "InternalError", status: 500 });
    expect(await failure(new SNSClient(config()).send(new PublishCommand({ TopicArn: "arn:aws:sns:us-east-1:000000000000:t", Message: "x" })))).toEqual({ name: "InternalErrorException", status: 500, message: "Internal Error (injected fault)" });
    expect(await failure(new SFNClient(config()).send(new ListStateMachinesCommand({})))).toMatchObject({ name: "InternalFailure", status: 500 });
    expect(injector.report().injected).toEqual({ "dynamodb error": 1, "sqs error": 1, "sns error": 1, "stepfunctions error": 1 });
  });

  it("delays a call by the injected latency, then lets it through", async () => {
    injector.set(parseFaultSpec("dynamodb=latency:300ms"));
    const started = Date.now();
    expect((await new DynamoDBClient(config()).send(new ListTablesCommand({}))).TableNames).toEqual(["t"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("tells SNS from SQS on the shared fauxqs endpoint", () => {
    expect(identify({ "x-amz-target": "AmazonSQS.ReceiveMessage" }, "", "sns")).toEqual({ service: "sqs", operation: "ReceiveMessage" });
    expect(identify({}, "Action=Publish&TopicArn=x", "sns")).toEqual({ service: "sns", operation: "Publish" });
    expect(identify({}, "Action=SendMessage&QueueUrl=x", "sns")).toEqual({ service: "sqs", operation: "SendMessage" });
    expect(identify({ "x-amz-target": "AWSStepFunctions.StartExecution" }, "", "stepfunctions")).toEqual({ service: "stepfunctions", operation: "StartExecution" });
  });

  it("hands a request to an in-process emulator (Step Functions) after the guard and the faults, never over HTTP", async () => {
    const sfn = await startStepFunctions();
    const local = new FaultInjector(parseFaultSpec(""), () => undefined);
    // Nothing listens on the target: a request that went over HTTP would fail with 502.
    const refuse = { status: 400, headers: { "content-type": "application/x-amz-json-1.0" }, body: JSON.stringify({ __type: "AccessDeniedException", message: "no" }) };
    const gateway = await startServiceProxy("http://127.0.0.1:9", "stepfunctions", local, () => undefined, async (_service, operation) => (operation === "ListStateMachines" ? refuse : undefined), (method, headers, body) =>
      sfn.answer(method, headers, body),
    );
    const client = new SFNClient({ ...config(), endpoint: gateway.endpoint });
    try {
      const definition = JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } });
      const { stateMachineArn } = await client.send(new CreateStateMachineCommand({ name: "in-process", definition, roleArn: "arn:aws:iam::000000000000:role/r" }));
      const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ a: 1 }) }));
      await sfn.waitForExecution(executionArn!);
      expect(await client.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ status: "SUCCEEDED", output: JSON.stringify({ a: 1 }) });
      // The emulator's own errors keep their status and type.
      expect(await failure(client.send(new DescribeExecutionCommand({ executionArn: `${executionArn}-missing` })))).toMatchObject({ name: "ExecutionDoesNotExist", status: 400 });
      expect(await failure(client.send(new ListStateMachinesCommand({})))).toMatchObject({ name: "AccessDeniedException", status: 400 });
      local.set(parseFaultSpec("stepfunctions=error:1"));
      expect(await failure(client.send(new StartExecutionCommand({ stateMachineArn })))).toMatchObject({ name: "InternalFailure", status: 500 });
    } finally {
      client.destroy();
      await gateway.stop();
      await sfn.stop();
    }
  });
});
