/**
 * What AWS would answer without creating anything: the state (ARN, URL, id, name) a resource gets,
 * and the results of the provider's data sources the program calls (caller identity, partition,
 * region), for one account and region.
 *
 * The program runner's default provisioner (tests, the policy runner, `npm run graph`) and the local
 * cloud's fallback for types it does not emulate.
 */
import type { MockCallArgs, MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";

/** The account and region resources are provisioned in. */
export interface ProvisionContext {
  /** AWS region, e.g. `us-east-1`. */
  region: string;
  /** Twelve-digit account id. */
  accountId: string;
}

/** What the AWS provider's data sources the program calls return, for an account and region. */
export function awsCallResult(args: MockCallArgs, { region, accountId }: ProvisionContext): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId, arn: `arn:aws:iam::${accountId}:user/local`, userId: "LOCAL", id: accountId };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getRegion:getRegion":
      return { name: region, region, id: region };
    default:
      return args.inputs as Record<string, unknown>;
  }
}

/**
 * The state AWS would return for a resource: its inputs plus the ARN, URL, id and names it would
 * compute. Used where nothing is created (tests, the policy runner) and as the local cloud's fallback.
 */
export function awsShapedState(args: MockResourceArgs, { region, accountId }: ProvisionContext): MockResourceResult {
  const inputs = args.inputs as Record<string, unknown>;
  const name = (inputs.name as string | undefined) ?? `${args.name}-${shortHash(args.name)}`;
  const arn = (service: string, resource: string, regional = true) => `arn:aws:${service}:${regional ? region : ""}:${regional ? accountId : accountId}:${resource}`;
  const state: Record<string, unknown> = { ...inputs, name };
  let id = name;
  switch (args.type) {
    case "aws:sns/topic:Topic":
      id = state.arn = arn("sns", name);
      break;
    case "aws:sns/topicSubscription:TopicSubscription":
      id = state.arn = `${inputs.topic as string}:${shortHash(args.name)}`;
      break;
    case "aws:sqs/queue:Queue":
      state.arn = arn("sqs", name);
      id = state.url = `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
      break;
    case "aws:dynamodb/table:Table":
      state.arn = arn("dynamodb", `table/${name}`);
      state.streamArn = undefined;
      break;
    case "aws:lambda/function:Function":
      state.arn = arn("lambda", `function:${name}`);
      state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn as string}/invocations`;
      state.qualifiedArn = `${state.arn as string}:$LATEST`;
      break;
    case "aws:iam/role:Role":
      state.arn = `arn:aws:iam::${accountId}:role/${name}`;
      break;
    case "aws:kms/key:Key":
      id = state.keyId = uuidFrom(args.name);
      state.arn = arn("kms", `key/${id}`);
      break;
    case "aws:kms/alias:Alias":
      state.arn = arn("kms", name);
      break;
    case "aws:cloudwatch/logGroup:LogGroup":
      state.arn = arn("logs", `log-group:${name}`);
      break;
    case "aws:sfn/stateMachine:StateMachine":
      id = state.arn = arn("states", `stateMachine:${name}`);
      break;
    case "aws:apigateway/restApi:RestApi":
      id = shortHash(args.name).slice(0, 10);
      state.rootResourceId = shortHash(`${args.name}/`).slice(0, 6);
      state.executionArn = arn("execute-api", id);
      state.arn = `arn:aws:apigateway:${region}::/restapis/${id}`;
      break;
    case "aws:ssm/parameter:Parameter":
      // A parameter's ARN has its name without the leading slash after `parameter/`.
      state.arn = arn("ssm", `parameter/${name.replace(/^\//, "")}`);
      state.version = 1;
      break;
    case "aws:cloudwatch/eventRule:EventRule":
      state.arn = arn("events", `rule/${name}`);
      break;
    case "aws:lambda/eventSourceMapping:EventSourceMapping":
      id = state.uuid = uuidFrom(args.name);
      break;
    default:
      state.arn ??= arn(args.type.split(":")[1]?.split("/")[0] ?? "aws", name);
  }
  return { id, state };
}

function shortHash(text: string): string {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, "0").slice(0, 7);
}

function uuidFrom(text: string): string {
  const h = (shortHash(text) + shortHash(`${text}#2`) + shortHash(`${text}#3`) + shortHash(`${text}#4`) + shortHash(`${text}#5`)).slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
