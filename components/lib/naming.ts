/**
 * Physical names: every resource is named `<prefix>-<name>` after the seeds
 * (`utility-customer-system-<stack>-...`, `dofs-<stack>-...`), and the name is checked against AWS's
 * limit for its type when the program runs, not when `pulumi up` reaches the API.
 */

/**
 * `<prefix>-<name>`, checked against AWS's length limit for the resource type: fails at program
 * start rather than at deploy time.
 */
export function physicalName(prefix: string, name: string, max: number, suffix = ""): string {
  const full = `${prefix}-${name}${suffix}`;
  if (full.length > max) throw new Error(`Name "${full}" is ${full.length} characters; AWS allows at most ${max} here`);
  return full;
}
