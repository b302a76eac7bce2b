/**
 * Least privilege: no `*` or service-wide actions, no `*` resources outside the documented
 * allow-list, no broad AWS managed policies, one role per function, no resource policy that grants
 * anyone (`*`, or everyone but someone through NotPrincipal) without tying the grant to a source,
 * and role trust policies checked like resource policies: nobody at large may assume a role, and a
 * service role trusts exactly the service that uses it.
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_1,
 * CKV_AWS_49, CKV_AWS_62, CKV_AWS_63, CKV_AWS_72, CKV_AWS_107, CKV_AWS_108, CKV_AWS_109,
 * CKV_AWS_111, CKV_AWS_287, CKV_AWS_288, CKV_AWS_289, CKV_AWS_290, CKV_AWS_355, CKV_AWS_356,
 * CKV_AWS_274, CKV2_AWS_56, CKV_AWS_33, CKV_AWS_168, CKV_AWS_169, CKV_AWS_301, CKV_AWS_364,
 * CKV_AWS_60, CKV_AWS_61; cfn_nag F2, F3, F4, F5, F6, F7, F13, F18, F20, F21, F38, F39, W11, W12,
 * W13, W14, W15, W16, W17; Security Hub IAM.1, IAM.21, KMS.1, KMS.2, KMS.5, Lambda.1, SNS.4, SQS.3.
 * Not enforced, and why: CKV_AWS_110/CKV_AWS_286 (privilege-escalation combinations), in the docs.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { Statement } from "../lib/documents";
import { actionsOf, asArray, hasSourceCondition, isAllow, isPublicPrincipal, parseDocument, principals, resourcesOf, statementLabel, statements } from "../lib/documents";
import { StackIndex, documentsOf } from "../lib/stack";
import { T } from "../lib/types";
import { config, onTypes, physical } from "./common";

/**
 * Actions that IAM offers no resource-level permission for, so `Resource: "*"` is the only form
 * AWS accepts. Documented in docs/policies.md; extend per stack with the policy's
 * `extraAllowedActions` config, never by editing a statement to `*` elsewhere.
 */
export const WILDCARD_RESOURCE_ACTIONS = [
  // X-Ray: active tracing and the OTEL collector's X-Ray exporter.
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "xray:GetSamplingRules",
  "xray:GetSamplingTargets",
  "xray:GetSamplingStatisticSummaries",
  // CloudWatch Logs vended-log delivery: what Step Functions and API Gateway logging need on their roles.
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
  // CloudWatch metrics: PutMetricData has no resource (scope it with a cloudwatch:namespace condition).
  "cloudwatch:PutMetricData",
];

const IDENTITY_TYPES = [T.rolePolicy, T.policy, T.role, T.userPolicy, T.groupPolicy];
const RESOURCE_POLICY_TYPES = [T.queue, T.queuePolicy, T.topic, T.topicPolicy, T.key, T.keyPolicy, T.logResourcePolicy];

const isWildcardAction = (a: string) => a === "*" || /^[a-z0-9-]+:\*$/i.test(a);
/** The account root as a principal: `arn:aws:iam::<account>:root` or a bare account id. */
const isAccountRoot = (p: { kind: string; value: string }) => p.kind === "AWS" && (/^arn:aws[a-z-]*:iam::\d{12}:root$/.test(p.value) || /^\d{12}$/.test(p.value));

export const noWildcardActions: ResourceValidationPolicy = {
  name: "iam-no-wildcard-actions",
  description: "No Allow statement grants `*`, a service-wide wildcard such as `sqs:*` or `dynamodb:*`, or uses NotAction.",
  remediationSteps: "List the exact actions the principal needs (components/lib/grants.ts LINK_ACTIONS has them per use). The only exception is a KMS key policy's account-root statement (`kms:*` for arn:aws:iam::<account>:root), AWS's default that delegates the key to IAM.",
  validateResource: onTypes([...IDENTITY_TYPES, ...RESOURCE_POLICY_TYPES], (props, args, report) => {
    for (const ref of documentsOf(args.type, props)) {
      if (ref.kind === "trust") continue;
      const parsed = parseDocument(ref.raw);
      if (!parsed.ok) continue;
      statements(parsed.doc).forEach((s, i) => {
        if (!isAllow(s)) return;
        if (s.NotAction !== undefined) {
          report(`${statementLabel(s, i)} in "${ref.property}" allows NotAction ${JSON.stringify(s.NotAction)}, which grants every other action: list the allowed actions in Action instead.`);
          return;
        }
        const wild = actionsOf(s).filter(isWildcardAction);
        if (!wild.length) return;
        if (ref.kind === "key" && principals(s).length > 0 && principals(s).every(isAccountRoot)) return; // documented exception
        report(`${statementLabel(s, i)} in "${ref.property}" allows ${wild.map((a) => `"${a}"`).join(", ")}: replace it with the exact actions needed (e.g. sqs:SendMessage, dynamodb:PutItem).`);
      });
    }
  }),
};

interface WildcardResourceConfig {
  extraAllowedActions: string[];
}

/** `*`, or an ARN whose resource part is only `*` (e.g. `arn:aws:sqs:us-east-1:123456789012:*`). */
const isWildcardResource = (r: string) => r === "*" || /^arn:[^:]+:[^:]+:[^:]*:[^:]*:\*$/.test(r);

export const noWildcardResources: ResourceValidationPolicy = {
  name: "iam-no-wildcard-resources",
  description: "Identity policies name their resources: `Resource: \"*\"` only for actions AWS offers no resource-level permission for (the documented allow-list).",
  remediationSteps: "Scope the statement to the resource's ARN (link it in the function definition so grants.ts derives it). Allowed with `*`: X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling*, CloudWatch Logs delivery actions (logs:*LogDelivery*, logs:PutResourcePolicy, logs:DescribeResourcePolicies, logs:DescribeLogGroups), cloudwatch:PutMetricData.",
  configSchema: {
    properties: {
      extraAllowedActions: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Further actions without resource-level permissions that may use Resource \"*\".",
      },
    },
  },
  validateResource: onTypes(IDENTITY_TYPES, (props, args, report) => {
    const allowList = new Set([...WILDCARD_RESOURCE_ACTIONS, ...config<WildcardResourceConfig>(args, { extraAllowedActions: [] }).extraAllowedActions].map((a) => a.toLowerCase()));
    for (const ref of documentsOf(args.type, props)) {
      if (ref.kind !== "identity") continue;
      const parsed = parseDocument(ref.raw);
      if (!parsed.ok) continue;
      statements(parsed.doc).forEach((s, i) => {
        if (!isAllow(s)) return;
        if (s.NotResource !== undefined) {
          report(`${statementLabel(s, i)} in "${ref.property}" uses NotResource, which grants every other resource: list the resources in Resource instead.`);
          return;
        }
        const wild = resourcesOf(s).filter(isWildcardResource);
        if (!wild.length) return;
        const outside = actionsOf(s).filter((a) => !allowList.has(a.toLowerCase()));
        if (outside.length) {
          report(`${statementLabel(s, i)} in "${ref.property}" allows ${outside.join(", ")} on "${wild[0]}": scope Resource to the ARNs of the resources used (only actions without resource-level permissions, like xray:PutTraceSegments, may use "*").`);
        }
      });
    }
  }),
};

/** AWS managed policies that grant a whole service or the account. */
const BROAD_MANAGED = /:policy\/(.*FullAccess|AdministratorAccess|PowerUserAccess)(-[A-Za-z0-9]+)?$/;

export const noBroadManagedPolicies: ResourceValidationPolicy = {
  name: "iam-no-broad-managed-policies",
  description: "No role, user or group gets an AWS managed `*FullAccess`, AdministratorAccess or PowerUserAccess policy.",
  remediationSteps: "Remove the attachment and grant exact actions on exact resources through links (components/lib/grants.ts), as an inline role policy.",
  validateResource: onTypes([T.role, T.rolePolicyAttachment, T.policyAttachment, T.userPolicyAttachment, T.groupPolicyAttachment], (props, _args, report) => {
    const arns = [...asArray(props.managedPolicyArns as string[] | undefined), ...asArray(props.policyArn as string | undefined)].map(String);
    for (const arn of arns.filter((a) => BROAD_MANAGED.test(a))) {
      report(`Attaches the broad managed policy ${arn}: detach it and grant only the actions the principal uses, on its resources.`);
    }
  }),
};

export const oneRolePerFunction: StackValidationPolicy = {
  name: "lambda-one-role-per-function",
  description: "Every Lambda function has its own execution role.",
  remediationSteps: "Give each function its own role (TypedFunction does); never pass one function's role ARN to another.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const byRole = new Map<string, string[]>();
    for (const fn of stack.of(T.function)) {
      const role = String(fn.props.role ?? "");
      if (!role) continue;
      byRole.set(role, [...(byRole.get(role) ?? []), physical(fn.props, fn.name)]);
    }
    for (const fn of stack.of(T.function)) {
      const shared = byRole.get(String(fn.props.role ?? "")) ?? [];
      if (shared.length > 1) {
        const others = shared.filter((n) => n !== physical(fn.props, fn.name));
        report(`Function "${physical(fn.props, fn.name)}" shares its execution role ${String(fn.props.role)} with ${others.map((o) => `"${o}"`).join(", ")}: give each function its own role with only its own permissions.`, fn.urn);
      }
    }
  },
};

function publicWithoutSource(s: Statement): boolean {
  return isAllow(s) && (isPublicPrincipal(s) || s.NotPrincipal !== undefined) && !hasSourceCondition(s);
}

export const noPublicPrincipal: ResourceValidationPolicy = {
  name: "resource-policy-no-public-principal",
  description: "Resource policies (queues, topics, keys, log resource policies, Lambda permissions) never allow `*` without a source condition.",
  remediationSteps: "Name the principal (an account root or role ARN, or a service principal), or keep `*` only with a condition on aws:SourceArn / aws:SourceAccount / aws:PrincipalOrgID. For a lambda.Permission set `sourceArn` (and `sourceAccount`).",
  validateResource: onTypes([...RESOURCE_POLICY_TYPES, T.permission], (props, args, report) => {
    if (args.type === T.permission) {
      const principal = String(props.principal ?? "");
      if (principal === "*" && !props.sourceArn && !props.sourceAccount && !props.principalOrgId) {
        report(`Lambda permission lets any principal invoke the function: set principal to the service or account that calls it, and sourceArn.`);
      } else if (principal.endsWith(".amazonaws.com") && !props.sourceArn) {
        report(`Lambda permission lets ${principal} invoke the function on behalf of any resource in any account: set sourceArn to the calling resource's ARN (e.g. the API's execution ARN).`);
      }
      return;
    }
    for (const ref of documentsOf(args.type, props)) {
      const parsed = parseDocument(ref.raw);
      if (!parsed.ok) continue;
      statements(parsed.doc).forEach((s, i) => {
        if (!publicWithoutSource(s)) return;
        if (s.NotPrincipal !== undefined) {
          report(`${statementLabel(s, i)} in "${ref.property}" allows everyone but ${JSON.stringify(s.NotPrincipal)} (Allow with NotPrincipal) without a source condition: name the principals in Principal instead.`);
        } else {
          report(`${statementLabel(s, i)} in "${ref.property}" allows Principal "*" without a source condition: name the principal, or add a condition on aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID.`);
        }
      });
    }
  }),
};

/** What a trust policy may allow: assuming the role, and the session details STS sets with it. */
const TRUST_ACTIONS = ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext"].map((a) => a.toLowerCase());

const trustStatements = (props: Record<string, unknown>) => {
  const parsed = parseDocument(props.assumeRolePolicy);
  return parsed.ok ? statements(parsed.doc) : []; // policy-document-has-version reports a broken one
};
/** Service principals a trust statement lets assume the role. */
const trustedServices = (s: Statement) => (isAllow(s) ? principals(s).filter((p) => p.kind === "Service").map((p) => p.value) : []);

export const trustRestricted: ResourceValidationPolicy = {
  name: "iam-role-trust-restricted",
  description: "Role trust policies never let `*` (or everyone but someone, through NotPrincipal) assume the role, allow only the sts:AssumeRole family, and a service role (one that trusts a service) trusts no whole account.",
  remediationSteps: "Name who assumes the role: the service principal for a service role (`{ Service: \"lambda.amazonaws.com\" }`, TypedFunction; `states.amazonaws.com` with aws:SourceArn/aws:SourceAccount conditions, OrderWorkflow), or exact role ARNs for people and CI (a federated OIDC principal for GitHub Actions). Allow only `sts:AssumeRole` (plus `sts:TagSession`/`sts:SetSourceIdentity` when needed), never `*`, `sts:*` or NotAction.",
  validateResource: onTypes([T.role], (props, args, report) => {
    const name = physical(props, args.name);
    const all = trustStatements(props);
    const serviceRole = all.some((s) => trustedServices(s).length > 0);
    all.forEach((s, i) => {
      if (!isAllow(s)) return;
      const label = `${statementLabel(s, i)} of role "${name}"'s trust policy`;
      if (isPublicPrincipal(s)) report(`${label} lets any AWS principal ("*") assume the role: name the service or the exact role ARNs that assume it.`);
      if (s.NotPrincipal !== undefined) report(`${label} lets everyone but ${JSON.stringify(s.NotPrincipal)} assume the role (Allow with NotPrincipal): name the principals in Principal instead.`);
      if (s.NotAction !== undefined) report(`${label} allows NotAction ${JSON.stringify(s.NotAction)}, which grants every other action: allow sts:AssumeRole in Action instead.`);
      const extra = actionsOf(s).filter((a) => !TRUST_ACTIONS.includes(a.toLowerCase()));
      if (extra.length) report(`${label} allows ${extra.map((a) => `"${a}"`).join(", ")}: a trust policy allows only sts:AssumeRole (and sts:TagSession, sts:SetSourceIdentity); list those.`);
      const accounts = principals(s).filter(isAccountRoot).map((p) => p.value);
      if (serviceRole && accounts.length) {
        report(`${label} lets every principal of account ${accounts.join(", ")} assume a service role (it also trusts ${all.flatMap(trustedServices).join(", ")}): anyone there with sts:AssumeRole on it gets the service's permissions; remove the account principal.`);
      }
    });
  }),
};

/** The services that use a role, by what refers to it: an execution role, a state machine's role, ... */
const ROLE_USERS: { type: string; property: string; service: string; what: string }[] = [
  { type: T.function, property: "role", service: "lambda.amazonaws.com", what: "Lambda function" },
  { type: T.stateMachine, property: "roleArn", service: "states.amazonaws.com", what: "state machine" },
  { type: T.apiGatewayAccount, property: "cloudwatchRoleArn", service: "apigateway.amazonaws.com", what: "API Gateway account (CloudWatch role)" },
  { type: T.eventTarget, property: "roleArn", service: "events.amazonaws.com", what: "EventBridge rule target" },
];

export const trustMatchesUse: StackValidationPolicy = {
  name: "iam-role-trust-matches-use",
  description: "A role that a Lambda function, a state machine, the API Gateway account or an EventBridge target uses trusts exactly the services that use it.",
  remediationSteps: "Trust the service that uses the role, and only it: `lambda.amazonaws.com` for a function's execution role, `states.amazonaws.com` for a state machine's. Give each service its own role instead of one role trusted by several.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const uses = new Map<PolicyResource, { service: string; who: string }[]>();
    for (const user of ROLE_USERS) {
      for (const r of stack.of(user.type)) {
        const role = stack.roleByRef(r.props[user.property]);
        if (role) uses.set(role, [...(uses.get(role) ?? []), { service: user.service, who: `${user.what} "${physical(r.props, r.name)}"` }]);
      }
    }
    for (const [role, users] of uses) {
      const name = physical(role.props, role.name);
      const trusted = new Set(trustStatements(role.props).flatMap(trustedServices));
      const needed = new Set(users.map((u) => u.service));
      for (const service of needed) {
        if (trusted.has(service)) continue;
        const who = users.filter((u) => u.service === service).map((u) => u.who).join(", ");
        report(`Role "${name}" is used by ${who} but its trust policy does not let ${service} assume it: AWS rejects the resource (the role cannot be assumed); add { Effect: "Allow", Principal: { Service: "${service}" }, Action: "sts:AssumeRole" }.`, role.urn);
      }
      for (const service of trusted) {
        if (needed.has(service)) continue;
        report(`Role "${name}" is used by ${users.map((u) => u.who).join(", ")} but its trust policy also lets ${service} assume it: anything that service runs for anyone in the account could act with this role's permissions; remove ${service} from the trust policy.`, role.urn);
      }
    }
  },
};

export const leastPrivilegePolicies = [noWildcardActions, noWildcardResources, noBroadManagedPolicies, oneRolePerFunction, noPublicPrincipal, trustRestricted, trustMatchesUse];
