/**
 * Evaluates the pack over a list of declared resources the way the Pulumi engine's analyzer does
 * (`@pulumi/policy` server.js): resource policies see each resource's inputs, stack policies see
 * every resource's outputs; props are wrapped in the same unknown-checking proxy; each policy's
 * level comes from the pack config, then the policy, then the pack default (advisory); `getConfig`
 * returns the policy's config with its schema defaults filled in (as the CLI does); a
 * `reportViolation(message, urn?)` call becomes one violation; `notApplicable()` skips the policy.
 *
 * No side effects: nothing here starts the analyzer server.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyConfigSchema,
  PolicyPackConfig,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { UnknownValueError, unknownCheckingProxy } from "@pulumi/policy";
import { unwrapSecrets } from "../runner/secrets";

/** One resource as the program declared it (the shape `runProgram` records). */
export interface DeclaredResource {
  type: string;
  name: string;
  /** Inputs, every Output resolved. What resource policies see. */
  inputs: Record<string, unknown>;
  /** Output state. What stack policies see. */
  state: Record<string, unknown>;
  id?: string;
  /** Its `protect` resource option (what policies read as `args.opts.protect`). @default false */
  protect?: boolean;
}

export interface Violation {
  policyName: string;
  description: string;
  /** The message the policy reported (the CLI prints it under the description). */
  message: string;
  enforcementLevel: EnforcementLevel;
  urn?: string;
  /** The resource the violation is about, when the urn names one. */
  resource?: { type: string; name: string };
}

export interface EvaluateOptions {
  stack?: string;
  project?: string;
  /** Like `--policy-pack-config`: policy → level, or `{ enforcementLevel?, ...config }`. */
  config?: PolicyPackConfig;
  /** The pack's default level. @default "advisory" (the SDK's default) */
  packEnforcementLevel?: EnforcementLevel;
}

export interface Evaluation {
  violations: Violation[];
  /** Policies that declared themselves not applicable, with the reason. */
  notApplicable: { policyName: string; reason?: string }[];
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` (parent types are not known to the mock runtime). */
export function urnOf(stack: string, project: string, r: { type: string; name: string }): string {
  return `urn:pulumi:${stack}::${project}::${r.type}::${r.name}`;
}

/** Secrets as the analyzer sees them: plain values (it deserializes with keepSecrets = false). */
export { unwrapSecrets } from "../runner/secrets";

class NotApplicable extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "Policy does not apply");
  }
}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

/** The policy's config: schema defaults, then the pack config's properties (never enforcementLevel). */
export function policyConfig(schema: PolicyConfigSchema | undefined, entry: PolicyPackConfig[string] | undefined): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema?.properties ?? {})) {
    if (prop && typeof prop === "object" && "default" in prop) defaults[key] = (prop as { default?: unknown }).default;
  }
  if (!entry || typeof entry === "string") return defaults;
  const { enforcementLevel: _level, ...props } = entry;
  return { ...defaults, ...props };
}

function levelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, options: EvaluateOptions): EnforcementLevel {
  const entry = options.config?.[policy.name];
  const configured = typeof entry === "string" ? entry : entry?.enforcementLevel;
  const level = configured || policy.enforcementLevel || options.packEnforcementLevel || "advisory";
  return level === "remediate" ? "mandatory" : level;
}

const isStackPolicy = (p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy => typeof (p as StackValidationPolicy).validateStack === "function";

const DEFAULT_OPTS: PolicyResourceOptions = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

/** The resource options policies see: the engine sends `protect` (and more the runner does not record). */
const optsOf = (r: DeclaredResource): PolicyResourceOptions => ({ ...DEFAULT_OPTS, protect: r.protect === true });

const typeOf = (resourceClass: unknown) => (resourceClass as { __pulumiType?: string }).__pulumiType;

/** Runs every policy over the resources and returns the violations, in policy order. */
export async function evaluatePolicies(policies: Policies, resources: DeclaredResource[], options: EvaluateOptions = {}): Promise<Evaluation> {
  const stack = options.stack ?? "dev";
  const project = options.project ?? "utility-serverless";
  const stackTags: ReadonlyMap<string, string> = new Map();
  const violations: Violation[] = [];
  const skipped: Evaluation["notApplicable"] = [];
  const byUrn = new Map(resources.map((r) => [urnOf(stack, project, r), r]));

  for (const policy of policies) {
    const enforcementLevel = levelOf(policy, options);
    if (enforcementLevel === "disabled") continue;
    const config = policyConfig(policy.configSchema, options.config?.[policy.name]);
    const getConfig = <T extends object>() => ({ ...config }) as T;
    const report = (ownUrn?: string) => (message: string, urn?: string) => {
      const at = ownUrn ?? urn;
      const r = at ? byUrn.get(at) : undefined;
      violations.push({ policyName: policy.name, description: policy.description, message, enforcementLevel, urn: at, resource: r && { type: r.type, name: r.name } });
    };
    const guard = async (run: () => Promise<void> | void) => {
      try {
        await run();
      } catch (e) {
        if (e instanceof NotApplicable) skipped.push({ policyName: policy.name, reason: e.reason });
        else if (e instanceof UnknownValueError) violations.push({ policyName: policy.name, description: policy.description, message: `can't run policy '${policy.name}' during preview: ${(e as Error).message}`, enforcementLevel: "advisory" });
        else throw new Error(`Error validating with policy '${policy.name}': ${(e as Error).message}`, { cause: e });
      }
    };

    if (isStackPolicy(policy)) {
      const stackResources: PolicyResource[] = resources.map((r) => {
        const props = unknownCheckingProxy(unwrapSecrets(r.state) as Record<string, unknown>) as Record<string, unknown>;
        return {
          type: r.type,
          name: r.name,
          urn: urnOf(stack, project, r),
          props,
          opts: optsOf(r),
          dependencies: [],
          propertyDependencies: {},
          isType: (cls) => typeOf(cls) === r.type,
          asType: ((cls: unknown) => (typeOf(cls) === r.type ? props : undefined)) as PolicyResource["asType"],
        };
      });
      const args: StackValidationArgs = { resources: stackResources, stackTags, getConfig, notApplicable };
      await guard(() => policy.validateStack(args, report()));
      continue;
    }

    const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const r of resources) {
      const urn = urnOf(stack, project, r);
      for (const validate of validations) {
        const props = unknownCheckingProxy(unwrapSecrets(r.inputs) as Record<string, unknown>) as Record<string, unknown>;
        const args: ResourceValidationArgs = {
          type: r.type,
          name: r.name,
          urn,
          props,
          opts: optsOf(r),
          stackTags,
          isType: (cls) => typeOf(cls) === r.type,
          asType: ((cls: unknown) => (typeOf(cls) === r.type ? props : undefined)) as ResourceValidationArgs["asType"],
          getConfig,
          notApplicable,
        };
        await guard(() => validate(args, report(urn)));
      }
    }
  }
  return { violations, notApplicable: skipped };
}
