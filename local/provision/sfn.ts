/**
 * Step Functions: state machines are created on the local Step Functions API with the program's
 * definition, unchanged; their Tasks' service integrations are bound to the local cloud:
 * - `arn:aws:states:::lambda:invoke` (and a function ARN as the Resource) → the function's host;
 * - `arn:aws:states:::sqs:sendMessage` → a real SendMessage to the SQS emulator;
 * - `arn:aws:states:::sns:publish` → a real Publish to the SNS emulator;
 * - `arn:aws:states:::dynamodb:putItem|getItem|updateItem|deleteItem` → the DynamoDB emulator.
 * Errors carry the names the real integrations use (`Lambda.ResourceNotFoundException`, the
 * function's own `errorType`, `SQS.<code>`, `DynamoDB.<code>`), so Retry/Catch match the same way.
 */
import { randomUUID } from "node:crypto";
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand } from "@aws-sdk/client-sfn";
import { PublishCommand } from "@aws-sdk/client-sns";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import { FunctionError } from "../runtime/function-host";
import type { StepFunctionsEmulator, TaskContext } from "../services/stepfunctions";
import { TaskFailedError } from "../services/stepfunctions";
import type { LocalDeployment } from "./context";
import { asRecord, asString, plainInputs } from "./context";

export async function provisionStateMachine(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const definition = typeof inputs.definition === "string" ? inputs.definition : JSON.stringify(inputs.definition);
  const created = await deployment.clients.sfn.send(
    new CreateStateMachineCommand({
      name: base.state.name as string,
      definition,
      roleArn: asString(inputs.roleArn) ?? `arn:aws:iam::${deployment.options.accountId}:role/local`,
      type: (asString(inputs.type) ?? "STANDARD") as "STANDARD" | "EXPRESS",
    }),
  );
  const arn = created.stateMachineArn!;
  return { id: arn, state: { ...base.state, arn, id: arn, status: "ACTIVE", stateMachineVersionArn: "" } };
}

/** Thrown by a Task: the name is the States error Retry/Catch match. */
function statesError(name: string, cause: string): TaskFailedError {
  return new TaskFailedError(name, cause);
}

/**
 * The role session a Task acts as: the state machine's role (the execution's `RoleArn`), its
 * session named after the state machine. Without IAM, none (the administrator clients).
 */
function sessionOf(context: TaskContext | undefined): { roleArn: string; sessionName: string } | undefined {
  if (!context) return undefined;
  return { roleArn: context.contextObject.Execution.RoleArn, sessionName: context.contextObject.StateMachine.Name };
}

/** The clients a Task calls the emulators with: as the state machine's role, through the gateway, when IAM is on. */
function clientsFor(deployment: LocalDeployment, context: TaskContext | undefined): Pick<LocalDeployment["clients"], "sns" | "sqs" | "dynamodb"> {
  const session = sessionOf(context);
  return session && deployment.options.iam ? deployment.options.iam.clientsAs(session.roleArn, session.sessionName) : deployment.clients;
}

async function invokeFunction(deployment: LocalDeployment, functionName: string, payload: unknown, context: TaskContext): Promise<unknown> {
  const fn = deployment.findFunction(functionName);
  if (!fn) throw statesError("Lambda.ResourceNotFoundException", `Function not found: ${functionName}`);
  const session = sessionOf(context);
  const refusal = session ? deployment.options.iam?.invokeRefusal(session.roleArn, session.sessionName, fn.arn) : undefined;
  // As the Lambda integration fails when the role may not invoke: Lambda's AccessDeniedException.
  if (refusal) throw statesError("Lambda.AWSLambdaException", `${refusal} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: ${randomUUID()}; Proxy: null)`);
  try {
    // A Task waits for the local account rather than being throttled (runtime/account-concurrency.ts),
    // oldest execution first; its TimeoutSeconds counts from when the invocation starts (the wait
    // stands in for AWS's throttle-and-retry, whose attempts each get the whole timeout).
    return await fn.host.invoke(payload, {
      source: "workflow",
      age: Date.parse(context.contextObject.Execution.StartTime),
      onStart: context.startClock,
      signal: context.signal,
    });
  } catch (error) {
    if (error instanceof FunctionError) {
      // Like Lambda's integration: a function error is named by its errorType, with its JSON error as
      // the cause; an error of the Lambda service itself (throttling) is `Lambda.<exception>`.
      if (error.source === "service") throw statesError(`Lambda.${error.errorType}`, error.message);
      throw statesError(error.errorType, JSON.stringify({ errorMessage: error.message, errorType: error.errorType }));
    }
    throw statesError("Lambda.ServiceException", String(error));
  }
}

/** `MessageBody` may be a JSON value in the definition; SQS takes text. */
function text(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function sdkCall<T>(prefix: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    throw statesError(`${prefix}.${name}`, error instanceof Error ? error.message : String(error));
  }
}

/** Binds the service integrations the program's state machines use to the local cloud. */
export function registerServiceIntegrations(stepFunctions: StepFunctionsEmulator, deployment: LocalDeployment): void {
  stepFunctions.registerTaskHandler("arn:aws:states:::lambda:invoke", async (input, context) => {
    const parameters = asRecord(input);
    const functionName = asString(parameters.FunctionName);
    if (!functionName) throw statesError("States.Runtime", "lambda:invoke needs Parameters.FunctionName");
    const payload = await invokeFunction(deployment, functionName, parameters.Payload ?? {}, context);
    return { ExecutedVersion: "$LATEST", Payload: payload, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } };
  }, { startsClock: true });
  stepFunctions.registerTaskHandler("arn:aws:lambda:*:*:function:*", (input, context) => invokeFunction(deployment, context.resource, input, context), { startsClock: true });

  stepFunctions.registerTaskHandler("arn:aws:states:::sqs:sendMessage", async (input, context) => {
    const p = asRecord(input);
    const result = await sdkCall("SQS", () =>
      clientsFor(deployment, context).sqs.send(
        new SendMessageCommand({
          QueueUrl: asString(p.QueueUrl),
          MessageBody: text(p.MessageBody),
          MessageGroupId: asString(p.MessageGroupId),
          MessageDeduplicationId: asString(p.MessageDeduplicationId),
          DelaySeconds: typeof p.DelaySeconds === "number" ? p.DelaySeconds : undefined,
          MessageAttributes: p.MessageAttributes as never,
        }),
      ),
    );
    return { MessageId: result.MessageId, MD5OfMessageBody: result.MD5OfMessageBody, ...(result.SequenceNumber ? { SequenceNumber: result.SequenceNumber } : {}) };
  });

  stepFunctions.registerTaskHandler("arn:aws:states:::sns:publish", async (input, context) => {
    const p = asRecord(input);
    const result = await sdkCall("SNS", () =>
      clientsFor(deployment, context).sns.send(
        new PublishCommand({
          TopicArn: asString(p.TopicArn),
          Message: text(p.Message),
          Subject: asString(p.Subject),
          MessageGroupId: asString(p.MessageGroupId),
          MessageDeduplicationId: asString(p.MessageDeduplicationId),
          MessageAttributes: p.MessageAttributes as never,
        }),
      ),
    );
    return { MessageId: result.MessageId, ...(result.SequenceNumber ? { SequenceNumber: result.SequenceNumber } : {}) };
  });

  const dynamo = {
    putItem: (p: never) => new PutItemCommand(p),
    getItem: (p: never) => new GetItemCommand(p),
    updateItem: (p: never) => new UpdateItemCommand(p),
    deleteItem: (p: never) => new DeleteItemCommand(p),
  };
  for (const [operation, command] of Object.entries(dynamo)) {
    stepFunctions.registerTaskHandler(`arn:aws:states:::dynamodb:${operation}`, async (input, context) => {
      const result = (await sdkCall("DynamoDB", () => clientsFor(deployment, context).dynamodb.send(command(input as never) as never))) as unknown as Record<string, unknown>;
      const { $metadata: _metadata, ...rest } = result;
      return rest;
    });
  }
}
