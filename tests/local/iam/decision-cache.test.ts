// LocalIam remembers its decisions (the policy evaluation runs on every call a function makes), so
// the cache must forget them whenever the policies change: a new program (`load`), or a queue
// policy set through SQS, which SNS deliveries pass on each message.
import { describe, expect, it } from "vitest";
import type { DeclaredResource } from "../../../runner/run-program";
import { LocalIam } from "../../../local/iam";
import { sessionPrincipal } from "../../../local/iam/credentials";

const ACCOUNT = "000000000000";
const REGION = "us-east-2";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/reader`;
const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`;
const QUEUE = `arn:aws:sqs:${REGION}:${ACCOUNT}:payments`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:transactions`;

const resource = (type: string, name: string, state: Record<string, unknown>): DeclaredResource => ({ type, name, inputs: state, id: name, state }) as DeclaredResource;
const role = (actions: string[]) =>
  resource("aws:iam/role:Role", "reader", {
    arn: ROLE,
    name: "reader",
    inlinePolicies: [{ name: "read", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: actions, Resource: TABLE }] }) }],
  });
const queuePolicy = (sourceArn: string) =>
  JSON.stringify({ Statement: [{ Sid: "TopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: QUEUE, Condition: { ArnEquals: { "aws:SourceArn": sourceArn } } }] });

function iam(): LocalIam {
  return new LocalIam({ account: ACCOUNT, region: REGION, log: () => undefined });
}

describe("LocalIam's decision cache", () => {
  const reader = sessionPrincipal(ROLE, "reader-fn");
  const getItem = [{ action: "dynamodb:GetItem", resource: TABLE }];

  it("answers a repeated call the same way, and forgets every decision when a new program is loaded", () => {
    const local = iam();
    local.load([role(["dynamodb:GetItem"])]);
    expect(local.authorize(reader, getItem)).toBeUndefined();
    expect(local.authorize(reader, getItem)).toBeUndefined();
    local.load([role(["dynamodb:PutItem"])]);
    expect(local.authorize(reader, getItem)?.message).toContain("is not authorized to perform: dynamodb:GetItem");
    local.load([role(["dynamodb:GetItem"])]);
    expect(local.authorize(reader, getItem)).toBeUndefined();
  });

  it("keys decisions on the context: another topic's delivery is decided on its own", () => {
    const local = iam();
    local.load([resource("aws:sqs/queue:Queue", "payments", { arn: QUEUE, url: "http://127.0.0.1/000000000000/payments", policy: queuePolicy(TOPIC) })]);
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC)).toBeUndefined();
    expect(local.snsDeliveryRefusal(QUEUE, `${TOPIC}-other`)).toContain("because no resource-based policy allows the sqs:SendMessage action");
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC)).toBeUndefined();
  });

  it("decides on the queue's policy as it is now: a policy set through SQS replaces the cached decisions, and setting it back restores them", () => {
    const local = iam();
    local.load([resource("aws:sqs/queue:Queue", "payments", { arn: QUEUE, url: "http://127.0.0.1/000000000000/payments", policy: queuePolicy(TOPIC) })]);
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC, queuePolicy(TOPIC))).toBeUndefined();
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC, queuePolicy(`${TOPIC}-other`))).toContain("is not authorized to perform: sqs:SendMessage");
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC, queuePolicy(`${TOPIC}-other`))).toContain("is not authorized to perform: sqs:SendMessage");
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC, queuePolicy(TOPIC))).toBeUndefined();
    expect(local.snsDeliveryRefusal(QUEUE, TOPIC, "not json")).toContain("the queue policy cannot be read");
  });
});
