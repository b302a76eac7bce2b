/**
 * Runs the Pulumi program for a stack under the SDK's mock runtime and records every resource it
 * declares, in dependency order.
 *
 * This is how the program is verified without a Pulumi CLI: the infrastructure tests and the policy
 * runner read the recorded resources, and the local cloud passes its own `provision` callback to
 * create each resource in the emulators. Stack config comes from `Pulumi.<stack>.yaml` like the CLI
 * reads it, with overrides like `pulumi config set` (`stack-config.ts`); each resource's engine URN,
 * aliases and `protect` option come from `urns.ts`, and the default provisioner from
 * `aws-shaped-state.ts`.
 *
 * Transforms: the SDK's mock monitor does not run resource transforms (the `Mocks` interface says so:
 * "implementations that want to exercise them can record the transform here and call it from
 * newResource"). So the runner does what the engine does: each resource's own `transforms` option,
 * then every stack transform (`pulumi.runtime.registerResourceTransform`, or `RunProgramOptions
 * .transforms`), each given the resource's type, name, resolved props and options, and each result
 * replacing them before the resource is provisioned and recorded.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import type { ResourceTransform } from "@pulumi/pulumi";
import { PROJECT, parseStackSettings } from "../components/lib/settings";
import type { StackSettings } from "../components/lib/settings";
import { program } from "../components/program";
import { awsCallResult, awsShapedState } from "./aws-shaped-state";
import type { ProvisionContext } from "./aws-shaped-state";
import { unwrapSecrets } from "./secrets";
import { qualifyConfigKeys, readStackConfig } from "./stack-config";
import { UrnRecorder } from "./urns";
import type { RegisteringMonitor } from "./urns";

/** One resource as the program declared it, and the state the provisioner returned. */
export interface DeclaredResource {
  /** Type token, e.g. `aws:sqs/queue:Queue`. */
  type: string;
  /** Logical name. */
  name: string;
  /** Inputs with every Output resolved. */
  inputs: Record<string, unknown>;
  /** Physical id. */
  id: string;
  /** Output state (inputs plus computed attributes such as `arn` and `url`). */
  state: Record<string, unknown>;
  /**
   * The URN the Pulumi engine gives it: `urn:pulumi:<stack>::<project>::<parent types$>type::name`,
   * with every ancestor's type in the chain (the mock monitor keeps only the parent's).
   */
  urn: string;
  /**
   * Every other URN `pulumi up` would match it to: its own `aliases` and those it inherits from an
   * aliased ancestor, resolved like the engine does. A URN here is updated in place, not replaced.
   */
  aliases: string[];
  /** Its `protect` resource option (after transforms): `pulumi up`/`destroy` refuse to delete or replace it. */
  protect: boolean;
}

/** How `runProgram` runs the program: which stack, which overrides, and how resources are provisioned. */
export interface RunProgramOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is read. @default "dev" */
  stack?: string;
  /**
   * Config overrides, like `pulumi config set`: `key` means `<project>:key`; `aws:region` is itself.
   * Values are strings (JSON for numbers, booleans, lists).
   * @default {}
   */
  config?: Record<string, string>;
  /** The account id resources get. @default "123456789012" */
  accountId?: string;
  /**
   * Creates one resource and returns its id and state. The default returns AWS-shaped ARNs, URLs
   * and names without creating anything (`awsShapedState`).
   */
  provision?: (args: MockResourceArgs, context: ProvisionContext) => Promise<MockResourceResult> | MockResourceResult;
  /**
   * Stack transforms, as if registered with `pulumi.runtime.registerResourceTransform` before the
   * program runs: applied to every resource as it is declared (see the module comment).
   * @default []
   * @example [async ({ type, props, opts }) => (type === "aws:kms/key:Key" ? { props: { ...props, isEnabled: false }, opts } : undefined)]
   */
  transforms?: ResourceTransform[];
}

/** What one run of the program declared. */
export interface ProgramRun {
  /** The stack's validated settings the program ran with. */
  settings: StackSettings;
  /** Every resource, in the order it was provisioned (dependency order). */
  resources: DeclaredResource[];
  /** Stack outputs, resolved (secrets in plain text, as `--show-secrets` prints them). */
  outputs: Record<string, unknown>;
}

/**
 * Runs the program for a stack and returns its settings, resources and outputs.
 *
 * @throws StackConfigError when the stack's config does not validate.
 */
export async function runProgram(options: RunProgramOptions = {}): Promise<ProgramRun> {
  const stack = options.stack ?? "dev";
  const accountId = options.accountId ?? "123456789012";
  const config = { ...readStackConfig(stack), ...qualifyConfigKeys(options.config ?? {}) };
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) if (key.startsWith(`${PROJECT}:`)) raw[key.slice(PROJECT.length + 1)] = value;
  const region = config["aws:region"];
  const settings = parseStackSettings(raw, stack, region);
  const context: ProvisionContext = { region: settings.region, accountId };
  const provision = options.provision ?? ((args: MockResourceArgs) => awsShapedState(args, context));

  const resources: DeclaredResource[] = [];
  const identities = new UrnRecorder(PROJECT, stack);
  const stackTransforms: ResourceTransform[] = [...(options.transforms ?? [])];
  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(
    {
      newResource: async (declared: MockResourceArgs): Promise<MockResourceResult> => {
        const { urn, aliases, protect: declaredProtect } = identities.take(declared.type, declared.name);
        const transformed = await applyTransforms([...(declared.transforms ?? []), ...stackTransforms], {
          custom: declared.custom ?? true,
          type: declared.type,
          name: declared.name,
          props: unwrapSecrets(declared.inputs) as Record<string, unknown>,
          opts: { protect: declaredProtect },
        });
        const args = { ...declared, inputs: transformed.props };
        const result = await provision(args, context);
        const protect = transformed.opts.protect === true;
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, id: result.id ?? "", state: result.state, urn, aliases, protect });
        return result;
      },
      call: (args: MockCallArgs) => awsCallResult(args, context),
      registerTransform: (transform: ResourceTransform) => void stackTransforms.push(transform),
    },
    PROJECT,
    stack,
    false,
  );
  identities.attach(pulumi.runtime.getMonitor() as unknown as RegisteringMonitor);

  const declared = program(settings);
  const outputs = (await resolve(declared)) as Record<string, unknown>;
  await settle(resources);
  return { settings, resources, outputs };
}

/** Runs transforms in order, each on the previous one's result, as the engine does. */
async function applyTransforms(
  transforms: ResourceTransform[],
  args: { custom: boolean; type: string; name: string; props: Record<string, unknown>; opts: pulumi.ResourceOptions },
): Promise<{ props: Record<string, unknown>; opts: pulumi.ResourceOptions }> {
  let { props, opts } = args;
  for (const transform of transforms) {
    const result = await transform({ custom: args.custom, type: args.type, name: args.name, props, opts });
    if (result) ({ props, opts } = result as { props: Record<string, unknown>; opts: pulumi.ResourceOptions });
  }
  return { props, opts };
}

/** Resolves a structure of Outputs to plain values. */
async function resolve(value: unknown): Promise<unknown> {
  const output = pulumi.output(value) as unknown as pulumi.Output<unknown>;
  return new Promise((done) => output.apply((v) => done(v)));
}

/** Waits until no more resources are being registered (some, like policies, feed no output). */
async function settle(resources: DeclaredResource[]): Promise<void> {
  let count = -1;
  let stableRounds = 0;
  while (stableRounds < 3) {
    await new Promise((r) => setTimeout(r, 10));
    stableRounds = resources.length === count ? stableRounds + 1 : 0;
    count = resources.length;
  }
}

