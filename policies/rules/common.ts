/** Small helpers shared by the rule files. */
import type { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

export type Props = Record<string, unknown>;

/** A resource validation that runs only for the given type tokens. */
export function onTypes(types: readonly string[], validate: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
  return (args, report) => {
    if (types.includes(args.type)) validate(args.props, args, report);
  };
}

/** A policy's config with its schema defaults filled in (the CLI fills them too; this keeps direct calls right). */
export function config<C extends object>(args: { getConfig<T extends object>(): T }, defaults: C): C {
  return { ...defaults, ...(args.getConfig<Partial<C>>() ?? {}) } as C;
}

/** The physical name of a resource for messages, or its logical name. */
export const physical = (props: Props, fallback: string) => (typeof props.name === "string" ? props.name : fallback);

/** Does a name match any of the regexes in an allow-list config? */
export const matchesAny = (name: string, patterns: readonly string[]) => patterns.some((p) => new RegExp(p).test(name));
