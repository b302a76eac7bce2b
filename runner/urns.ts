/**
 * The URN the Pulumi engine would give each resource the program registers, and the alias URNs
 * `pulumi up` would match it to.
 *
 * The mock runtime's own URNs carry only the parent's type; the engine's carry every ancestor's
 * (`urn:pulumi:<stack>::<project>::<grandparent>$<parent>$<type>::<name>`). The program runner
 * attaches a `UrnRecorder` to the mock monitor so every recorded resource has the URN and aliases
 * a real deployment would see (`npm run graph`, the URN tests).
 */

/** A resource's engine URN and the other URNs `pulumi up` would match it to. */
export interface ResourceIdentity {
  /** `urn:pulumi:<stack>::<project>::<ancestor types$>type::name`. */
  urn: string;
  /** Alias URNs, sorted, without `urn` itself. */
  aliases: string[];
  /** Its `protect` resource option: `pulumi up` and `pulumi destroy` refuse to delete or replace it. */
  protect: boolean;
}

/** The part of the mock monitor's gRPC surface that sees each registration's parent and aliases. */
export interface RegisteringMonitor {
  registerResource(req: RegisterRequest, callback: (...args: unknown[]) => void): void;
}
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect(): boolean;
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
export class UrnRecorder {
  private readonly full = new Map<string, ResourceIdentity>();
  private readonly pending = new Map<string, ResourceIdentity[]>();

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
  take(type: string, name: string): ResourceIdentity {
    const queue = this.pending.get(`${type}::${name}`) ?? [];
    const identity = queue.shift();
    if (!identity) throw new Error(`No registration seen for ${type} ${name}`);
    return identity;
  }

  private urn(qualifiedType: string, name: string): string {
    return `urn:pulumi:${this.stack}::${this.project}::${qualifiedType}::${name}`;
  }

  private qualified(parent: ResourceIdentity | undefined, type: string): string[] {
    if (!parent) return [type];
    return [parent.urn, ...parent.aliases].map((u) => `${u.split("::")[2]}$${type}`);
  }

  private identify(req: RegisterRequest): ResourceIdentity {
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
    return { urn: own!, aliases: [...aliases].sort(), protect: req.getProtect() === true };
  }
}
