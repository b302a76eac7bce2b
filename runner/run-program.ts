/**
 * Runs the Pulumi program for a stack under the SDK's mock runtime and records every resource it
 * declares, in dependency order.
 *
 * This is how the program is verified without a Pulumi CLI: the infrastructure tests and the policy
 * runner read the recorded resources, and the local cloud passes its own `provision` callback to
 * create each resource in the emulators. Stack config comes from `Pulumi.<stack>.yaml` like the CLI
 * reads it, with overrides like `pulumi config set`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { PROJECT, parseStackSettings } from "../components/config";
import type { StackSettings } from "../components/config";
import { program } from "../components/program";
import { unwrapSecrets } from "./secrets";
import { qualifyConfigKeys, readStackConfig } from "./stack-config";

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
}

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
}

export interface ProvisionContext {
  region: string;
  accountId: string;
}

export interface ProgramRun {
  settings: StackSettings;
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
  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(
    {
      newResource: async (declared: MockResourceArgs): Promise<MockResourceResult> => {
        const args = { ...declared, inputs: unwrapSecrets(declared.inputs) };
        const result = await provision(args, context);
        const { urn, aliases } = identities.take(args.type, args.name);
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, id: result.id ?? "", state: result.state, urn, aliases });
        return result;
      },
      call: (args: MockCallArgs) => awsCallResult(args, context),
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

/** The part of the mock monitor's gRPC surface that sees each registration's parent and aliases. */
interface RegisteringMonitor {
  registerResource(req: RegisterRequest, callback: (...args: unknown[]) => void): void;
}
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getAliasesList(): Array<{ getUrn(): string; hasSpec(): boolean; getSpec(): AliasSpec | undefined }>;
}
interface AliasSpec {
  getName(): string;
  getType(): string;
  getParenturn(): string;
  getNoparent(): boolean;
}

/**
 * Computes each registration's engine URN and alias URNs. The mock monitor's own URNs carry only
 * the parent's type, so this keeps a map from them to the engine's full-chain URNs.
 */
class UrnRecorder {
  private readonly full = new Map<string, { urn: string; aliases: string[] }>();
  private readonly pending = new Map<string, Array<{ urn: string; aliases: string[] }>>();

  constructor(private readonly project: string, private readonly stack: string) {}

  /** Wraps the monitor's `registerResource` so every registration is seen before the mock's `newResource`. */
  attach(monitor: RegisteringMonitor): void {
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      const identity = this.identify(req);
      const key = `${req.getType()}::${req.getName()}`;
      this.pending.set(key, [...(this.pending.get(key) ?? []), identity]);
      register(req, (...results: unknown[]) => {
        const response = results[1] as { getUrn?: () => string } | undefined;
        if (response?.getUrn) this.full.set(response.getUrn(), identity);
        callback(...results);
      });
    };
  }

  /** The identity of the registration of `type`/`name` now being provisioned. */
  take(type: string, name: string): { urn: string; aliases: string[] } {
    const queue = this.pending.get(`${type}::${name}`) ?? [];
    const identity = queue.shift();
    if (!identity) throw new Error(`No registration seen for ${type} ${name}`);
    return identity;
  }

  private urn(qualifiedType: string, name: string): string {
    return `urn:pulumi:${this.stack}::${this.project}::${qualifiedType}::${name}`;
  }

  private qualified(parent: { urn: string; aliases: string[] } | undefined, type: string): string[] {
    if (!parent) return [type];
    return [parent.urn, ...parent.aliases].map((u) => `${u.split("::")[2]}$${type}`);
  }

  private identify(req: RegisterRequest): { urn: string; aliases: string[] } {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent() ? this.full.get(req.getParent()) : undefined;
    if (req.getParent() && !parent) throw new Error(`Parent ${req.getParent()} of ${type} ${name} was not seen`);
    const [own, ...inherited] = this.qualified(parent, type).map((t) => this.urn(t, name));
    const aliases = new Set(inherited);
    for (const alias of req.getAliasesList()) {
      const spec = alias.hasSpec() ? alias.getSpec() : undefined;
      if (!spec) {
        aliases.add(alias.getUrn());
        continue;
      }
      const aliasParent = spec.getNoparent() ? undefined : spec.getParenturn() ? this.full.get(spec.getParenturn()) : parent;
      if (spec.getParenturn() && !aliasParent) throw new Error(`Alias parent ${spec.getParenturn()} of ${type} ${name} was not seen`);
      for (const t of this.qualified(aliasParent, spec.getType() || type)) aliases.add(this.urn(t, spec.getName() || name));
    }
    aliases.delete(own!);
    return { urn: own!, aliases: [...aliases].sort() };
  }
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

/** What the AWS provider's data sources the program calls return, for an account and region. */
export function awsCallResult(args: MockCallArgs, { region, accountId }: ProvisionContext): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId, arn: `arn:aws:iam::${accountId}:user/local`, userId: "LOCAL", id: accountId };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getRegion:getRegion":
      return { name: region, region, id: region };
    default:
      return args.inputs as Record<string, unknown>;
  }
}

/**
 * The state AWS would return for a resource: its inputs plus the ARN, URL, id and names it would
 * compute. Used where nothing is created (tests, the policy runner) and as the local cloud's fallback.
 */
export function awsShapedState(args: MockResourceArgs, { region, accountId }: ProvisionContext): MockResourceResult {
  const inputs = args.inputs as Record<string, unknown>;
  const name = (inputs.name as string | undefined) ?? `${args.name}-${shortHash(args.name)}`;
  const arn = (service: string, resource: string, regional = true) => `arn:aws:${service}:${regional ? region : ""}:${regional ? accountId : accountId}:${resource}`;
  const state: Record<string, unknown> = { ...inputs, name };
  let id = name;
  switch (args.type) {
    case "aws:sns/topic:Topic":
      id = state.arn = arn("sns", name);
      break;
    case "aws:sns/topicSubscription:TopicSubscription":
      id = state.arn = `${inputs.topic as string}:${shortHash(args.name)}`;
      break;
    case "aws:sqs/queue:Queue":
      state.arn = arn("sqs", name);
      id = state.url = `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
      break;
    case "aws:dynamodb/table:Table":
      state.arn = arn("dynamodb", `table/${name}`);
      state.streamArn = undefined;
      break;
    case "aws:lambda/function:Function":
      state.arn = arn("lambda", `function:${name}`);
      state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn as string}/invocations`;
      state.qualifiedArn = `${state.arn as string}:$LATEST`;
      break;
    case "aws:iam/role:Role":
      state.arn = `arn:aws:iam::${accountId}:role/${name}`;
      break;
    case "aws:kms/key:Key":
      id = state.keyId = uuidFrom(args.name);
      state.arn = arn("kms", `key/${id}`);
      break;
    case "aws:kms/alias:Alias":
      state.arn = arn("kms", name);
      break;
    case "aws:cloudwatch/logGroup:LogGroup":
      state.arn = arn("logs", `log-group:${name}`);
      break;
    case "aws:sfn/stateMachine:StateMachine":
      id = state.arn = arn("states", `stateMachine:${name}`);
      break;
    case "aws:apigateway/restApi:RestApi":
      id = shortHash(args.name).slice(0, 10);
      state.rootResourceId = shortHash(`${args.name}/`).slice(0, 6);
      state.executionArn = arn("execute-api", id);
      state.arn = `arn:aws:apigateway:${region}::/restapis/${id}`;
      break;
    case "aws:lambda/eventSourceMapping:EventSourceMapping":
      id = state.uuid = uuidFrom(args.name);
      break;
    default:
      state.arn ??= arn(args.type.split(":")[1]?.split("/")[0] ?? "aws", name);
  }
  return { id, state };
}

function shortHash(text: string): string {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, "0").slice(0, 7);
}

function uuidFrom(text: string): string {
  const h = (shortHash(text) + shortHash(`${text}#2`) + shortHash(`${text}#3`) + shortHash(`${text}#4`) + shortHash(`${text}#5`)).slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
