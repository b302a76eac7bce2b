/**
 * IAM in the local cloud: every AWS call a function, the state machine, API Gateway or SNS makes is
 * evaluated against the roles and resource policies the program declares before it reaches an
 * emulator, and refused as AWS would refuse it.
 * - `policy.ts`, `evaluate.ts`: policy documents and AWS's evaluation logic;
 * - `model.ts`: roles, identity and resource policies, encryption keys, from the program's resources;
 * - `credentials.ts`: the local credentials of each role session; `sigv4.ts`: who signed a request;
 * - `requests.ts`: which action on which resource (and which implied KMS actions) a call is;
 * - `errors.ts`: the refusal in each service's protocol; `usage.ts`, `report.ts`: the usage report.
 * The gateway in front of the emulators (`local/faults/service-proxy.ts`) asks `guard` per request.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { DeclaredResource } from "../../runner/run-program";
import { sessionPrincipal } from "./credentials";
import { CredentialRegistry } from "./credentials";
import type { ErrorAnswer } from "./errors";
import { accessDeniedAnswer, actionAsWritten, signatureMismatchAnswer } from "./errors";
import type { AuthorizationRequest, CallerPrincipal, Decision } from "./evaluate";
import { denialMessage, evaluate } from "./evaluate";
import { IamModel } from "./model";
import { parsePolicy } from "./policy";
import type { ActionRequest, AuthorizedService, CallParameters } from "./requests";
import { actionRequests } from "./requests";
import { parseAuthorization, signatureMatches } from "./sigv4";
import type { Grant } from "./usage";
import { UsageRecorder } from "./usage";

export { CredentialRegistry } from "./credentials";
export type { AuthorizedService } from "./requests";

export interface LocalIamOptions {
  /** Evaluate and refuse; false lets every call through unrecorded (`--no-iam`). @default true */
  enabled?: boolean;
  account: string;
  region: string;
  /** Receives one line per refused call. */
  log: (line: string) => void;
  /** Where the usage is written (`iam-usage.json` beside the outputs file). @default nowhere */
  usageFile?: string;
}

/** A refused request: AWS's message, and what would allow it. */
export interface Refusal {
  message: string;
  /** The refused action is a KMS action the call implies. */
  kms: boolean;
  action: string;
  resource: string;
  missing: string;
}

/** Most decisions remembered (the resource names come from the callers' parameters); then the cache starts afresh. */
const MAX_DECISIONS = 10_000;

export class LocalIam {
  readonly enabled: boolean;
  readonly credentials = new CredentialRegistry();
  readonly usage: UsageRecorder;
  private model: IamModel;
  /**
   * Decisions by principal, action, resource and context: a decision depends on nothing else but
   * the model's policies, so the cache is emptied whenever they change (`load`, a queue policy set
   * through SQS). Every call still goes through `authorize` (usage, refusal logs); only the policy
   * evaluation, a few wildcard matches per statement of every applicable document, is remembered.
   */
  private readonly decisions = new Map<string, Decision>();
  /** The text each queue's policy was last read from (SNS deliveries pass it on every message). */
  private readonly queuePolicyTexts = new Map<string, string>();

  constructor(private readonly options: LocalIamOptions) {
    this.enabled = options.enabled ?? true;
    this.usage = new UsageRecorder(options.usageFile, this.enabled);
    this.model = new IamModel(options.account, options.region);
  }

  /** Reads the roles and policies from the program's resources (after the program ran). */
  load(resources: DeclaredResource[]): void {
    this.model = IamModel.fromResources(resources, this.options.account, this.options.region);
    this.decisions.clear();
    this.queuePolicyTexts.clear();
    if (!this.enabled) return;
    for (const role of this.model.roles.values()) {
      const grants: Grant[] = role.policies.flatMap((doc) =>
        doc.statements.filter((s) => s.Effect === "Allow" && s.Action).map((s) => ({ ...(s.Sid ? { sid: s.Sid } : {}), actions: s.Action!, resources: s.Resource ?? ["*"] })),
      );
      this.usage.declare(role.arn, role.name, grants);
    }
    this.usage.flush();
  }

  /**
   * `localRoleCredentials` of the outputs file: function name → the credentials that act as its
   * role session, so a person can make the call the function would (`aws ... --endpoint-url`).
   */
  functionCredentials(): Record<string, { roleArn: string; accessKeyId: string; secretAccessKey: string }> {
    const functions = this.credentials.all().filter((c) => this.model.functionRoles.get(c.sessionName) === c.roleArn);
    return Object.fromEntries(functions.map((c) => [c.sessionName, { roleArn: c.roleArn, accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }]));
  }

  /** The role a function runs as. */
  functionRole(functionName: string): string | undefined {
    return this.model.functionRoles.get(functionName);
  }

  /** The role a state machine runs as. */
  stateMachineRole(stateMachineArn: string): string | undefined {
    return this.model.stateMachineRoles.get(stateMachineArn);
  }

  /**
   * Evaluates what a role session asks, stopping at the first refusal (logged and recorded).
   * @returns undefined when everything is allowed.
   */
  authorize(principal: CallerPrincipal, requests: ActionRequest[], service?: AuthorizedService, caller = principalLabel(principal)): Refusal | undefined {
    if (!this.enabled) return undefined;
    const context = { "aws:SecureTransport": "true", "aws:PrincipalAccount": this.options.account };
    for (const request of requests) {
      const steps: AuthorizationRequest[] = [{ principal, action: request.action, resource: request.resource, context }];
      for (const action of request.kms?.actions ?? []) {
        steps.push({ principal, action, resource: request.kms!.keyArn, context: { ...context, "kms:ViaService": `${service ?? "lambda"}.${this.options.region}.amazonaws.com`, "kms:CallerAccount": this.options.account } });
      }
      for (const step of steps) {
        const kms = step.action.startsWith("kms:") && !request.action.startsWith("kms:");
        const decision = this.decide(step);
        const key = principal.kind === "role" ? principal.roleArn : principal.service;
        if (decision.allowed) {
          this.usage.allowed(key, caller, step.action, step.resource);
          continue;
        }
        const written = service ? actionAsWritten(service, step.action) : step.action;
        const message = denialMessage(step, decision.reason, written);
        const missing = missingPermission(step, decision, this.model);
        this.usage.denied(key, { caller, action: step.action, resource: step.resource, message, missing });
        this.options.log(`[iam] denied ${caller}: ${message}. ${missing}`);
        return { message, kms, action: step.action, resource: step.resource, missing };
      }
    }
    return undefined;
  }

  /**
   * The gateway's question for one HTTP call to an emulator: undefined lets it through, else the
   * answer to send instead (a refusal, or a signature that does not match). Requests not signed
   * with credentials this run issued act as administrator.
   */
  async guard(service: AuthorizedService, operation: string, request: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }, parameters: () => CallParameters): Promise<ErrorAnswer | undefined> {
    if (!this.enabled) return undefined;
    const auth = parseAuthorization(String(request.headers.authorization ?? ""));
    const issued = auth ? this.credentials.lookup(auth.accessKeyId) : undefined;
    if (!auth || !issued) return undefined;
    if (!(await signatureMatches(request, auth, issued.secretAccessKey))) return signatureMismatchAnswer(service);
    const principal = sessionPrincipal(issued.roleArn, issued.sessionName);
    const refusal = this.authorize(principal, actionRequests(this.model, service, operation, parameters()), service, issued.sessionName);
    return refusal ? accessDeniedAnswer(service, refusal.message, refusal.kms) : undefined;
  }

  /**
   * Whether SNS may deliver from `topicArn` to the queue: the queue policy must let
   * `sns.amazonaws.com` send from the topic, and the key of an encrypted queue must let SNS
   * generate and decrypt data keys. Returns why not, or undefined.
   * @param queuePolicy - The queue's policy as the queue holds it now (a `SetQueueAttributes` takes
   *   effect, as on AWS). @default the policy the program declared
   */
  snsDeliveryRefusal(queueArn: string, topicArn: string, queuePolicy?: string): string | undefined {
    if (!this.enabled) return undefined;
    if (queuePolicy !== undefined && this.queuePolicyTexts.get(queueArn) !== queuePolicy) {
      try {
        this.model.resourcePolicies.set(queueArn, parsePolicy(queuePolicy, `queue policy of ${queueArn}`));
      } catch (error) {
        return `the queue policy cannot be read (${error instanceof Error ? error.message : String(error)})`;
      }
      this.queuePolicyTexts.set(queueArn, queuePolicy);
      this.decisions.clear();
    }
    const principal: CallerPrincipal = { kind: "service", service: "sns.amazonaws.com" };
    const keyArn = this.model.encryptionKeys.get(queueArn);
    const requests: ActionRequest[] = [{ action: "sqs:SendMessage", resource: queueArn, ...(keyArn ? { kms: { keyArn, actions: ["kms:GenerateDataKey", "kms:Decrypt"] } } : {}) }];
    return this.authorizeService(principal, requests, { "aws:SourceArn": topicArn, "aws:SourceAccount": topicArn.split(":")[4] ?? "" }, `sns.amazonaws.com for ${topicArn.split(":").pop()}`)?.message;
  }

  /** Whether API Gateway may invoke the function for `sourceArn` (its Lambda permissions). */
  apiGatewayInvokeRefusal(functionArn: string, sourceArn: string): Refusal | undefined {
    if (!this.enabled) return undefined;
    const principal: CallerPrincipal = { kind: "service", service: "apigateway.amazonaws.com" };
    return this.authorizeService(principal, [{ action: "lambda:InvokeFunction", resource: functionArn }], { "aws:SourceArn": sourceArn, "aws:SourceAccount": this.options.account }, "apigateway.amazonaws.com");
  }

  /** Writes the usage file. */
  flush(): void {
    this.usage.flush();
  }

  /** Waits for the usage write in flight, then writes the file a last time (the cloud stops). */
  close(): Promise<void> {
    return this.usage.close();
  }

  private authorizeService(principal: CallerPrincipal, requests: ActionRequest[], context: Record<string, string>, caller: string): Refusal | undefined {
    const service = principal.kind === "service" ? principal.service : "";
    for (const request of requests) {
      const steps: AuthorizationRequest[] = [{ principal, action: request.action, resource: request.resource, context }];
      for (const action of request.kms?.actions ?? []) steps.push({ principal, action, resource: request.kms!.keyArn, context });
      for (const step of steps) {
        const decision = this.decide(step);
        if (decision.allowed) {
          this.usage.allowed(service, caller, step.action, step.resource);
          continue;
        }
        const message = denialMessage(step, decision.reason);
        const missing = missingPermission(step, decision, this.model);
        this.usage.denied(service, { caller, action: step.action, resource: step.resource, message, missing });
        this.options.log(`[iam] denied ${caller}: ${message}. ${missing}`);
        return { message, kms: step.action.startsWith("kms:"), action: step.action, resource: step.resource, missing };
      }
    }
    return undefined;
  }

  private decide(step: AuthorizationRequest): Decision {
    const key = JSON.stringify([step.principal, step.action, step.resource, step.context ?? null]);
    const known = this.decisions.get(key);
    if (known) return known;
    const role = step.principal.kind === "role" ? this.model.roles.get(step.principal.roleArn) : undefined;
    const resource = this.model.resourcePolicies.get(step.resource);
    const decision = evaluate(step, { identity: role?.policies ?? [], ...(resource ? { resource } : {}), resourcePolicyRequired: step.action.startsWith("kms:") });
    if (this.decisions.size >= MAX_DECISIONS) this.decisions.clear();
    this.decisions.set(key, decision);
    return decision;
  }
}

function principalLabel(principal: CallerPrincipal): string {
  return principal.kind === "role" ? (principal.sessionArn.split("/").pop() ?? principal.sessionArn) : principal.service;
}

/** The statement that would allow a refused request, and where it belongs. */
export function missingPermission(step: AuthorizationRequest, decision: Extract<Decision, { allowed: false }>, model: IamModel): string {
  if (decision.reason.startsWith("explicit-deny")) return `Explicit deny: ${decision.deniedBy ?? "a Deny statement"} (remove it or narrow it).`;
  const { principal } = step;
  if (decision.reason === "no-identity-allow" && principal.kind === "role") {
    const role = model.roles.get(principal.roleArn);
    return `Missing in role ${role?.name ?? principal.roleArn}'s policy: ${JSON.stringify({ Effect: "Allow", Action: step.action, Resource: step.resource })}`;
  }
  const who = principal.kind === "role" ? { AWS: principal.roleArn } : { Service: principal.service };
  const sourceArn = step.context?.["aws:SourceArn"];
  const statement = { Effect: "Allow", Principal: who, Action: step.action, Resource: step.action.startsWith("kms:") ? "*" : step.resource, ...(sourceArn ? { Condition: { ArnEquals: { "aws:SourceArn": sourceArn } } } : {}) };
  const where = step.action.startsWith("kms:") ? `key policy of ${step.resource}` : step.action.startsWith("lambda:") ? `function policy (a Lambda permission) of ${step.resource}` : `resource policy of ${step.resource}`;
  return `Missing in the ${where}: ${JSON.stringify(statement)}`;
}
