// AWS's evaluation logic, rule by rule, on the statements the program writes.
import { describe, expect, it } from "vitest";
import { sessionPrincipal } from "../../../local/iam/credentials";
import { denialMessage, evaluate } from "../../../local/iam/evaluate";
import type { AuthorizationRequest } from "../../../local/iam/evaluate";
import { parsePolicy } from "../../../local/iam/policy";

const ACCOUNT = "123456789012";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:q`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:t`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`;
const principal = sessionPrincipal(ROLE, "app-fn");
const identity = (...statements: object[]) => [parsePolicy({ Statement: statements }, "role policy")];
const request = (action: string, resource: string, context: Record<string, string> = {}): AuthorizationRequest => ({ principal, action, resource, context: { "aws:SecureTransport": "true", ...context } });

describe("IAM evaluation", () => {
  it("allows what an identity policy allows, matching actions case-insensitively and wildcards in actions and resources", () => {
    const policies = { identity: identity({ Effect: "Allow", Action: ["dynamodb:Get*", "dynamodb:putitem"], Resource: `${TABLE.replace("orders", "ord?rs")}*` }) };
    expect(evaluate(request("dynamodb:GetItem", TABLE), policies).allowed).toBe(true);
    expect(evaluate(request("dynamodb:PutItem", `${TABLE}/index/byCustomer`), policies).allowed).toBe(true);
    expect(evaluate(request("dynamodb:DeleteItem", TABLE), policies)).toEqual({ allowed: false, reason: "no-identity-allow" });
  });

  it("lets an explicit deny win over any allow, in the identity or the resource policy", () => {
    const allow = { Effect: "Allow", Action: "sqs:*", Resource: "*" };
    expect(evaluate(request("sqs:SendMessage", QUEUE), { identity: identity(allow, { Sid: "NoSend", Effect: "Deny", Action: "sqs:SendMessage", Resource: QUEUE }) })).toEqual({
      allowed: false,
      reason: "explicit-deny-identity",
      deniedBy: "role policy: NoSend",
    });
    const resource = parsePolicy({ Statement: [{ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: QUEUE, Condition: { Bool: { "aws:SecureTransport": "false" } } }] }, "queue policy");
    expect(evaluate(request("sqs:SendMessage", QUEUE), { identity: identity(allow), resource }).allowed).toBe(true);
    expect(evaluate(request("sqs:SendMessage", QUEUE, { "aws:SecureTransport": "false" }), { identity: identity(allow), resource })).toMatchObject({ allowed: false, reason: "explicit-deny-resource" });
  });

  it("reads NotAction and NotResource as everything but the listed ones", () => {
    const policies = { identity: identity({ Effect: "Allow", NotAction: "sqs:DeleteQueue", NotResource: `${QUEUE}-dlq` }) };
    expect(evaluate(request("sqs:SendMessage", QUEUE), policies).allowed).toBe(true);
    expect(evaluate(request("sqs:DeleteQueue", QUEUE), policies).allowed).toBe(false);
    expect(evaluate(request("sqs:SendMessage", `${QUEUE}-dlq`), policies).allowed).toBe(false);
  });

  it("grants through a resource policy that names the role, but not through one that names the account root", () => {
    const named = parsePolicy({ Statement: [{ Effect: "Allow", Principal: { AWS: ROLE }, Action: "sns:Publish", Resource: TOPIC }] }, "topic policy");
    const account = parsePolicy({ Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sns:Publish", Resource: TOPIC }] }, "topic policy");
    expect(evaluate(request("sns:Publish", TOPIC), { identity: [], resource: named }).allowed).toBe(true);
    expect(evaluate(request("sns:Publish", TOPIC), { identity: [], resource: account })).toEqual({ allowed: false, reason: "no-identity-allow" });
  });

  it("needs the key policy for KMS: the account root delegates to IAM, a key policy without it refuses whatever the role says", () => {
    const roleAllows = identity({ Effect: "Allow", Action: "kms:Decrypt", Resource: KEY });
    const delegating = parsePolicy({ Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] }, "key policy");
    const closed = parsePolicy({ Statement: [{ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "kms:Decrypt", Resource: "*" }] }, "key policy");
    expect(evaluate(request("kms:Decrypt", KEY), { identity: roleAllows, resource: delegating, resourcePolicyRequired: true }).allowed).toBe(true);
    expect(evaluate(request("kms:Decrypt", KEY), { identity: [], resource: delegating, resourcePolicyRequired: true })).toEqual({ allowed: false, reason: "no-identity-allow" });
    expect(evaluate(request("kms:Decrypt", KEY), { identity: roleAllows, resource: closed, resourcePolicyRequired: true })).toEqual({ allowed: false, reason: "no-resource-allow" });
  });

  it("evaluates the program's conditions: ArnEquals and ArnLike on aws:SourceArn, StringEquals, and a missing key", () => {
    const sns = { kind: "service" as const, service: "sns.amazonaws.com" };
    const queuePolicy = parsePolicy(
      { Statement: [{ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: QUEUE, Condition: { ArnEquals: { "aws:SourceArn": TOPIC }, StringEquals: { "aws:SourceAccount": ACCOUNT } } }] },
      "queue policy",
    );
    const send = (context: Record<string, string>) => evaluate({ principal: sns, action: "sqs:SendMessage", resource: QUEUE, context }, { identity: [], resource: queuePolicy });
    expect(send({ "aws:SourceArn": TOPIC, "aws:SourceAccount": ACCOUNT }).allowed).toBe(true);
    expect(send({ "aws:SourceArn": `${TOPIC}-other`, "aws:SourceAccount": ACCOUNT })).toEqual({ allowed: false, reason: "no-resource-allow" });
    expect(send({ "aws:SourceAccount": ACCOUNT }).allowed).toBe(false);
    const like = parsePolicy({ Statement: [{ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: QUEUE, Condition: { ArnLike: { "aws:SourceArn": "arn:aws:sns:us-east-1:*:t*" } } }] }, "queue policy");
    expect(evaluate({ principal: sns, action: "sqs:SendMessage", resource: QUEUE, context: { "aws:sourcearn": TOPIC } }, { identity: [], resource: like }).allowed).toBe(true);
  });

  it("never lets an unknown condition operator grant, and always lets it deny", () => {
    const odd = { Condition: { NumericLessThan: { "aws:MultiFactorAuthAge": "60" } } };
    expect(evaluate(request("sqs:SendMessage", QUEUE), { identity: identity({ Effect: "Allow", Action: "sqs:SendMessage", Resource: QUEUE, ...odd }) }).allowed).toBe(false);
    expect(evaluate(request("sqs:SendMessage", QUEUE), { identity: identity({ Effect: "Allow", Action: "sqs:SendMessage", Resource: QUEUE }, { Effect: "Deny", Action: "sqs:SendMessage", Resource: QUEUE, ...odd }) }).allowed).toBe(false);
  });

  it("words a refusal as AWS does, naming the assumed-role session, the action and the resource", () => {
    expect(denialMessage(request("dynamodb:PutItem", TABLE), "no-identity-allow")).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app/app-fn is not authorized to perform: dynamodb:PutItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
    );
    expect(denialMessage(request("sqs:SendMessage", QUEUE), "explicit-deny-resource", "sqs:sendmessage")).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app/app-fn is not authorized to perform: sqs:sendmessage on resource: ${QUEUE} with an explicit deny in a resource-based policy`,
    );
  });

  it("refuses a malformed document with where and what", () => {
    expect(() => parsePolicy("{", "role policy x")).toThrow(/role policy x: not JSON/);
    expect(() => parsePolicy({ Statement: [{ Effect: "Permit", Action: "s3:GetObject" }] }, "role policy x")).toThrow('role policy x, statement 0: Effect must be Allow or Deny, got "Permit"');
  });
});
