/**
 * Who may do what, read from the resources the program declared (the program run's records):
 * each role and its identity policies (inline, `RolePolicy`, attached customer managed `Policy`),
 * which role each function and state machine runs as, and each resource's own policy: queue
 * policies, topic policies, key policies (a key without one gets AWS's default, the account root
 * with `kms:*`), and the Lambda permissions of each function (as the statements Lambda writes for
 * them). Also which customer managed key encrypts each queue, topic, table and SecureString
 * parameter, for the KMS actions their use implies.
 */
import type { DeclaredResource } from "../../runner/run-program";
import type { PolicyDocument, PolicyStatement } from "./policy";
import { parsePolicy } from "./policy";

export interface RoleModel {
  arn: string;
  name: string;
  /** Its identity policies. */
  policies: PolicyDocument[];
  /** AWS managed policies attached to it: not evaluated (their documents are not in the program). */
  managedPolicyArns: string[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export class IamModel {
  /** Role ARN → role. */
  readonly roles = new Map<string, RoleModel>();
  /** Function name and ARN → its role ARN. */
  readonly functionRoles = new Map<string, string>();
  /** Function name → ARN. */
  readonly functionArns = new Map<string, string>();
  /** State machine ARN → its role ARN. */
  readonly stateMachineRoles = new Map<string, string>();
  /** Resource ARN → its resource policy (queues, topics, keys, functions). */
  readonly resourcePolicies = new Map<string, PolicyDocument>();
  /** Queue, topic, table or parameter ARN → ARN of the customer managed key that encrypts it. */
  readonly encryptionKeys = new Map<string, string>();
  /** Queue URL → queue ARN. */
  readonly queueArns = new Map<string, string>();
  /** Table name → ARN; parameter name → ARN. */
  readonly tableArns = new Map<string, string>();
  readonly parameterArns = new Map<string, string>();

  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  /** The role of the role ARN, by name too (`RolePolicy.role` is a name). */
  roleByNameOrArn(reference: string): RoleModel | undefined {
    return this.roles.get(reference) ?? [...this.roles.values()].find((r) => r.name === reference);
  }

  /** The key ARN a key reference names (ARN, key id, `alias/...`, alias ARN). */
  private keyArn(reference: string | undefined, aliases: Map<string, string>, keys: Map<string, string>): string | undefined {
    if (!reference) return undefined;
    const alias = /(?:^|:)(alias\/.+)$/.exec(reference)?.[1];
    const target = alias ? aliases.get(alias) : reference;
    if (!target) return undefined;
    return keys.get(target) ?? (target.startsWith("arn:") ? target : undefined);
  }

  /** Builds the model from the program's declared resources (in declaration order). */
  static fromResources(resources: DeclaredResource[], account: string, region: string): IamModel {
    const model = new IamModel(account, region);
    const keys = new Map<string, string>(); // key id or ARN → ARN
    const aliases = new Map<string, string>(); // alias/name → key id or ARN
    const managedDocuments = new Map<string, PolicyDocument>();
    const attachments: { role: string; policyArn: string }[] = [];
    const rolePolicies: { role: string; document: PolicyDocument }[] = [];
    const permissions: DeclaredResource[] = [];
    const pendingKeys: { arn: string; keyRef?: string }[] = [];

    for (const r of resources) {
      const s = r.state;
      const arn = str(s.arn);
      switch (r.type) {
        case "aws:iam/role:Role": {
          const role: RoleModel = { arn: arn!, name: str(s.name) ?? r.name, policies: [], managedPolicyArns: [] };
          for (const inline of Array.isArray(s.inlinePolicies) ? s.inlinePolicies : []) {
            const p = rec(inline);
            if (str(p.policy)) role.policies.push(parsePolicy(p.policy, `inline policy ${str(p.name) ?? ""} of role ${role.name}`));
          }
          role.managedPolicyArns.push(...(Array.isArray(s.managedPolicyArns) ? s.managedPolicyArns.map(String) : []));
          model.roles.set(role.arn, role);
          break;
        }
        case "aws:iam/rolePolicy:RolePolicy":
          rolePolicies.push({ role: str(s.role) ?? "", document: parsePolicy(s.policy, `role policy ${str(s.name) ?? r.name} of role ${str(s.role) ?? "?"}`) });
          break;
        case "aws:iam/policy:Policy":
          managedDocuments.set(arn!, parsePolicy(s.policy, `policy ${str(s.name) ?? r.name}`));
          break;
        case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
          attachments.push({ role: str(s.role) ?? "", policyArn: str(s.policyArn) ?? "" });
          break;
        case "aws:lambda/function:Function":
          model.functionRoles.set(str(s.name)!, str(s.role)!);
          model.functionRoles.set(arn!, str(s.role)!);
          model.functionArns.set(str(s.name)!, arn!);
          break;
        case "aws:lambda/permission:Permission":
          permissions.push(r);
          break;
        case "aws:sfn/stateMachine:StateMachine":
          model.stateMachineRoles.set(arn!, str(s.roleArn)!);
          break;
        case "aws:kms/key:Key":
          keys.set(arn!, arn!);
          if (str(s.keyId)) keys.set(str(s.keyId)!, arn!);
          model.resourcePolicies.set(
            arn!,
            s.policy
              ? parsePolicy(s.policy, `key policy of ${arn}`)
              : parsePolicy({ Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*" }] }, `default key policy of ${arn}`),
          );
          break;
        case "aws:kms/keyPolicy:KeyPolicy":
          if (str(s.keyId)) model.resourcePolicies.set(keys.get(str(s.keyId)!) ?? str(s.keyId)!, parsePolicy(s.policy, `key policy of ${str(s.keyId)}`));
          break;
        case "aws:kms/alias:Alias":
          if (str(s.name) && str(s.targetKeyId)) aliases.set(str(s.name)!, str(s.targetKeyId)!);
          break;
        case "aws:sqs/queue:Queue":
          if (str(s.url)) model.queueArns.set(str(s.url)!, arn!);
          if (str(s.policy)) model.resourcePolicies.set(arn!, parsePolicy(s.policy, `queue policy of ${arn}`));
          pendingKeys.push({ arn: arn!, keyRef: str(s.kmsMasterKeyId) });
          break;
        case "aws:sqs/queuePolicy:QueuePolicy": {
          const queueArn = model.queueArns.get(str(s.queueUrl) ?? "");
          if (queueArn) model.resourcePolicies.set(queueArn, parsePolicy(s.policy, `queue policy of ${queueArn}`));
          break;
        }
        case "aws:sns/topic:Topic":
          if (str(s.policy)) model.resourcePolicies.set(arn!, parsePolicy(s.policy, `topic policy of ${arn}`));
          pendingKeys.push({ arn: arn!, keyRef: str(s.kmsMasterKeyId) });
          break;
        case "aws:sns/topicPolicy:TopicPolicy":
          model.resourcePolicies.set(str(s.arn)!, parsePolicy(s.policy, `topic policy of ${str(s.arn)}`));
          break;
        case "aws:dynamodb/table:Table": {
          model.tableArns.set(str(s.name)!, arn!);
          const sse = rec(s.serverSideEncryption);
          if (sse.enabled === true) pendingKeys.push({ arn: arn!, keyRef: str(sse.kmsKeyArn) });
          break;
        }
        case "aws:ssm/parameter:Parameter":
          model.parameterArns.set(str(s.name)!, arn!);
          if (s.type === "SecureString") pendingKeys.push({ arn: arn!, keyRef: str(s.keyId) });
          break;
      }
    }

    for (const { role, document } of rolePolicies) model.roleByNameOrArn(role)?.policies.push(document);
    for (const { role, policyArn } of attachments) {
      const target = model.roleByNameOrArn(role);
      const document = managedDocuments.get(policyArn);
      if (target && document) target.policies.push(document);
      else if (target) target.managedPolicyArns.push(policyArn);
    }
    for (const { arn, keyRef } of pendingKeys) {
      // `alias/aws/sqs` and other AWS managed keys: their key policies admit the account's callers
      // through the service, so no customer managed key to evaluate.
      const keyArn = model.keyArn(keyRef, aliases, keys);
      if (keyArn && model.resourcePolicies.has(keyArn)) model.encryptionKeys.set(arn, keyArn);
    }
    for (const p of permissions) model.addPermission(p);
    return model;
  }

  /** A Lambda permission as the function policy statement Lambda writes for it. */
  private addPermission(p: DeclaredResource): void {
    const s = p.state;
    const reference = str(s.function) ?? "";
    const functionArn = this.functionArns.get(reference) ?? reference;
    const principal = str(s.principal) ?? "";
    const condition: PolicyStatement["Condition"] = {};
    if (str(s.sourceArn)) condition.ArnLike = { "AWS:SourceArn": [str(s.sourceArn)!] };
    if (str(s.sourceAccount)) condition.StringEquals = { "AWS:SourceAccount": [str(s.sourceAccount)!] };
    const statement: PolicyStatement = {
      Sid: str(s.statementId) ?? p.name,
      Effect: "Allow",
      Principal: principal.endsWith(".amazonaws.com") ? { Service: [principal] } : { AWS: [principal] },
      Action: [str(s.action) ?? "lambda:InvokeFunction"],
      Resource: [functionArn],
      ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
    const existing = this.resourcePolicies.get(functionArn);
    if (existing) existing.statements.push(statement);
    else this.resourcePolicies.set(functionArn, { source: `function policy of ${functionArn}`, statements: [statement] });
  }
}
