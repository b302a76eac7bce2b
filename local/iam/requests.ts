/**
 * What one service call asks IAM for: the action (`dynamodb:PutItem`), the resource ARN it acts on
 * (one per table of a batch), and the KMS actions the resource's customer managed key implies, as
 * the services ask KMS on the caller's behalf:
 * - SQS: sending to an encrypted queue needs `kms:GenerateDataKey` and `kms:Decrypt`, receiving
 *   `kms:Decrypt` (the SQS developer guide, "Key management");
 * - SNS: publishing to an encrypted topic needs `kms:GenerateDataKey` and `kms:Decrypt`;
 * - DynamoDB: reading or writing items of a table encrypted with a customer managed key needs
 *   `kms:Decrypt` on it (the table key is decrypted for the caller);
 * - SSM: `GetParameter` with decryption of a SecureString needs `kms:Decrypt` on its key.
 */
import type { IamModel } from "./model";

/** One IAM question a call raises. */
export interface ActionRequest {
  /** `service:Action` as the catalogue spells it. */
  action: string;
  resource: string;
  /** The KMS actions this use of the resource implies on its key, if it is encrypted. */
  kms?: { keyArn: string; actions: string[] };
}

/** The services the gateway authorizes (the AWS CLI's names). */
export type AuthorizedService = "dynamodb" | "sqs" | "sns" | "stepfunctions" | "ssm";

/** The IAM service prefix of each. */
export const IAM_PREFIX: Record<AuthorizedService, string> = { dynamodb: "dynamodb", sqs: "sqs", sns: "sns", stepfunctions: "states", ssm: "ssm" };

const DYNAMODB_ITEM_OPERATIONS = new Set(["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems"]);
const SQS_BATCHES: Record<string, string> = { SendMessageBatch: "SendMessage", DeleteMessageBatch: "DeleteMessage", ChangeMessageVisibilityBatch: "ChangeMessageVisibility" };
const ENVELOPE = ["kms:GenerateDataKey", "kms:Decrypt"];

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** A call's parameters: the JSON body, or the query protocol's form. */
export type CallParameters = Record<string, unknown>;

/** The form of a query-protocol call as parameters (`Action`, `TopicArn`, ...). */
export function formParameters(body: string): CallParameters {
  return Object.fromEntries(new URLSearchParams(body));
}

function withKey(model: IamModel, request: ActionRequest, actions: string[] | undefined): ActionRequest {
  const keyArn = actions ? model.encryptionKeys.get(request.resource) : undefined;
  return keyArn ? { ...request, kms: { keyArn, actions: actions! } } : request;
}

function tableArn(model: IamModel, table: string): string {
  if (table.startsWith("arn:")) return table;
  return model.tableArns.get(table) ?? `arn:aws:dynamodb:${model.region}:${model.account}:table/${table}`;
}

function dynamodb(model: IamModel, operation: string, p: CallParameters): ActionRequest[] {
  const kms = DYNAMODB_ITEM_OPERATIONS.has(operation) ? ["kms:Decrypt"] : undefined;
  const on = (action: string, table: string, index?: string): ActionRequest => {
    const arn = tableArn(model, table);
    const request = withKey(model, { action: `dynamodb:${action}`, resource: arn }, kms);
    return index ? { ...request, resource: `${arn}/index/${index}` } : request;
  };
  switch (operation) {
    case "BatchGetItem":
    case "BatchWriteItem":
      return Object.keys((p.RequestItems as object) ?? {}).map((table) => on(operation, table));
    case "TransactWriteItems":
    case "TransactGetItems":
      return ((p.TransactItems as Record<string, { TableName?: string }>[]) ?? []).flatMap((item) =>
        Object.entries(item).map(([kind, op]) => on(kind === "ConditionCheck" ? "ConditionCheckItem" : `${kind}Item`, op.TableName ?? "")),
      );
    default: {
      const table = str(p.TableName);
      return [table ? on(operation, table, str(p.IndexName)) : { action: `dynamodb:${operation}`, resource: "*" }];
    }
  }
}

function queueArn(model: IamModel, url: string): string {
  const known = model.queueArns.get(url);
  if (known) return known;
  const [account, name] = new URL(url, "http://localhost").pathname.split("/").filter(Boolean).slice(-2);
  return `arn:aws:sqs:${model.region}:${account ?? model.account}:${name ?? url}`;
}

function sqs(model: IamModel, operation: string, p: CallParameters): ActionRequest[] {
  const action = SQS_BATCHES[operation] ?? operation;
  const url = str(p.QueueUrl);
  const name = str(p.QueueName);
  const resource = url ? queueArn(model, url) : operation === "GetQueueUrl" && name ? `arn:aws:sqs:${model.region}:${str(p.QueueOwnerAWSAccountId) ?? model.account}:${name}` : "*";
  const kms = action === "SendMessage" ? ENVELOPE : action === "ReceiveMessage" ? ["kms:Decrypt"] : undefined;
  return [withKey(model, { action: `sqs:${action}`, resource }, kms)];
}

function sns(model: IamModel, operation: string, p: CallParameters): ActionRequest[] {
  const action = operation === "PublishBatch" ? "Publish" : operation;
  const resource = str(p.TopicArn) ?? str(p.TargetArn) ?? "*";
  return [withKey(model, { action: `sns:${action}`, resource }, action === "Publish" ? ENVELOPE : undefined)];
}

function states(operation: string, p: CallParameters): ActionRequest[] {
  return [{ action: `states:${operation}`, resource: str(p.stateMachineArn) ?? str(p.executionArn) ?? "*" }];
}

function ssm(model: IamModel, operation: string, p: CallParameters): ActionRequest[] {
  const names = operation === "GetParameters" ? ((p.Names as string[]) ?? []) : [str(p.Name) ?? ""];
  return names.map((raw) => {
    const name = raw.replace(/:\d+$/, "");
    const resource = name.startsWith("arn:") ? name : (model.parameterArns.get(name) ?? `arn:aws:ssm:${model.region}:${model.account}:parameter/${name.replace(/^\//, "")}`);
    return withKey(model, { action: `ssm:${operation}`, resource }, p.WithDecryption === true || p.WithDecryption === "true" ? ["kms:Decrypt"] : undefined);
  });
}

/** The IAM requests of one call of `operation` on `service` with `parameters`. */
export function actionRequests(model: IamModel, service: AuthorizedService, operation: string, parameters: CallParameters): ActionRequest[] {
  switch (service) {
    case "dynamodb":
      return dynamodb(model, operation, parameters);
    case "sqs":
      return sqs(model, operation, parameters);
    case "sns":
      return sns(model, operation, parameters);
    case "stepfunctions":
      return states(operation, parameters);
    case "ssm":
      return ssm(model, operation, parameters);
  }
}
