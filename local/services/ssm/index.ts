/**
 * SSM Parameter Store for the local cloud: the `GetParameter` action of the AWS JSON 1.1 protocol
 * (`X-Amz-Target: AmazonSSM.GetParameter`), on 127.0.0.1, serving exactly the parameters the program
 * declares (`aws.ssm.Parameter`, provisioned by `local/provision/ssm.ts`). No npm package emulates
 * SSM (the registry has none but plugins of other frameworks), so this is ours, and as small as
 * what the functions use: Powertools Parameters' `SSMProvider.get(name, { decrypt })`.
 *
 * As AWS answers:
 * - `Name` is the parameter's name or ARN, optionally with a `:<version>` selector;
 * - a `SecureString` read without `WithDecryption: true` returns ciphertext (base64; here an opaque
 *   digest, since nothing is encrypted locally), its value only with it;
 * - an unknown name is `ParameterNotFound`, an unknown version `ParameterVersionNotFound`, a missing
 *   `Name` a `ValidationException`; any other action is `UnknownOperationException`.
 * Access is not checked (no IAM locally): the policy pack and the grant tests check the role's
 * `ssm:GetParameter` and `kms:Decrypt`.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** A parameter as the program declared it. */
export interface LocalParameter {
  name: string;
  arn: string;
  type: "String" | "StringList" | "SecureString";
  value: string;
  /** The KMS key of a SecureString. */
  keyId?: string;
  dataType?: string;
}

interface Stored extends LocalParameter {
  version: number;
  lastModified: Date;
}

class SsmError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The local Parameter Store: `put` what the program declares, clients read it over HTTP. */
export class SsmService {
  private readonly parameters = new Map<string, Stored>();

  constructor(
    private readonly server: http.Server,
    readonly endpoint: string,
  ) {}

  /** Declares (or updates, as a new version) a parameter. */
  put(parameter: LocalParameter): void {
    const previous = this.parameters.get(parameter.name);
    this.parameters.set(parameter.name, { ...parameter, version: (previous?.version ?? 0) + 1, lastModified: new Date() });
  }

  /** Answers one action (exported for tests of the protocol without HTTP). */
  answer(action: string, body: Record<string, unknown>): Record<string, unknown> {
    if (action !== "GetParameter") throw new SsmError("UnknownOperationException", `The action ${action} is not served by the local Parameter Store (GetParameter only)`);
    const requested = body.Name;
    if (typeof requested !== "string" || requested === "") {
      throw new SsmError("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
    }
    const { name, version } = parseName(requested);
    const parameter = this.parameters.get(name) ?? [...this.parameters.values()].find((p) => p.arn === name);
    if (!parameter) throw new SsmError("ParameterNotFound", `Parameter ${requested} not found.`);
    if (version !== undefined && version !== parameter.version) throw new SsmError("ParameterVersionNotFound", `Systems Manager could not find version ${version} of ${parameter.name}.`);
    const decrypt = body.WithDecryption === true;
    const value = parameter.type === "SecureString" && !decrypt ? ciphertext(parameter) : parameter.value;
    return {
      Parameter: {
        Name: parameter.name,
        Type: parameter.type,
        Value: value,
        Version: parameter.version,
        ...(version !== undefined ? { Selector: `:${version}` } : {}),
        LastModifiedDate: parameter.lastModified.getTime() / 1000,
        ARN: parameter.arn,
        DataType: parameter.dataType ?? "text",
      },
    };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}

/** `name`, `name:3` or `arn:...:parameter/name:3`. */
function parseName(requested: string): { name: string; version?: number } {
  const match = /^(.*):(\d+)$/.exec(requested);
  // An ARN has colons of its own: only a trailing `:<digits>` after the parameter's path is a version.
  if (match && (!requested.startsWith("arn:") || match[1]!.includes(":parameter/"))) return { name: match[1]!, version: Number(match[2]) };
  return { name: requested };
}

/** What AWS returns for an undecrypted SecureString: base64 ciphertext (here an opaque digest: it reveals nothing). */
function ciphertext(parameter: Stored): string {
  return createHash("sha256").update(`${parameter.keyId ?? "aws/ssm"}\0${parameter.version}\0${parameter.value}`).digest("base64");
}

/** Starts the local Parameter Store on 127.0.0.1 (a free port unless given). */
export async function startSsm(options: { port?: number } = {}): Promise<SsmService> {
  const started: { service?: SsmService } = {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": createHash("sha1").update(String(Math.random())).digest("hex").slice(0, 32) });
        res.end(JSON.stringify(payload));
      };
      try {
        const target = String(req.headers["x-amz-target"] ?? "");
        if (req.method !== "POST" || !target.startsWith("AmazonSSM.")) throw new SsmError("UnknownOperationException", "Expected a POST with X-Amz-Target: AmazonSSM.<action>");
        let body: unknown = {};
        const text = Buffer.concat(chunks).toString("utf8");
        if (text.trim()) {
          try {
            body = JSON.parse(text);
          } catch {
            throw new SsmError("SerializationException", "Request body is not valid JSON");
          }
        }
        send(200, started.service!.answer(target.slice("AmazonSSM.".length), (body ?? {}) as Record<string, unknown>));
      } catch (error) {
        if (error instanceof SsmError) send(400, { __type: error.code, message: error.message });
        else send(500, { __type: "InternalServerError", message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  started.service = new SsmService(server, `http://127.0.0.1:${port}`);
  return started.service;
}
