/**
 * Who signed a request: the access key id in its SigV4 `Authorization` header, and whether the
 * signature is right for the secret this run issued with it. The check re-signs the request with
 * `@smithy/signature-v4` (what the AWS SDK itself signs with) over the headers the caller signed,
 * at the caller's `X-Amz-Date`, and compares the signatures.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Hash, Hmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";

/** The parts of `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...`. */
export interface SigV4Authorization {
  accessKeyId: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** The header's parts, or undefined when the request is not SigV4-signed. */
export function parseAuthorization(header: string | undefined): SigV4Authorization | undefined {
  const match = /^AWS4-HMAC-SHA256\s+Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(header?.trim() ?? "");
  if (!match) return undefined;
  const [, accessKeyId, region, service, signedHeaders, signature] = match;
  return { accessKeyId: accessKeyId!, region: region!, service: service!, signedHeaders: signedHeaders!.split(";"), signature: signature! };
}

/** The SHA-256 hash and HMAC SigV4 needs, on node:crypto (what @smithy/hash-node does). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === "string" ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** `20261202T103000Z` → Date. */
function amzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/** Signers by credentials, region and service: a signer caches its signing keys (four HMACs per day, region and service). */
const signers = new Map<string, SignatureV4>();
/** More distinct signers than this (the region and service come from the caller's header) start the cache afresh. */
const MAX_SIGNERS = 256;

function signerFor(accessKeyId: string, secretAccessKey: string, region: string, service: string): SignatureV4 {
  const key = `${accessKeyId}\n${secretAccessKey}\n${region}\n${service}`;
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size >= MAX_SIGNERS) signers.clear();
    signer = new SignatureV4({
      credentials: { accessKeyId, secretAccessKey },
      region,
      service,
      sha256: NodeSha256,
      uriEscapePath: true,
      // Sign exactly the headers the caller signed: botocore (the AWS CLI) sends no x-amz-content-sha256.
      applyChecksum: false,
    });
    signers.set(key, signer);
  }
  return signer;
}

/**
 * Whether `auth.signature` is the signature of this request under `secretAccessKey`.
 * @param url - The request's path and query, as received (`req.url`).
 */
export async function signatureMatches(
  request: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
  auth: SigV4Authorization,
  secretAccessKey: string,
): Promise<boolean> {
  const date = amzDate(String(request.headers["x-amz-date"] ?? ""));
  if (!date) return false;
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return false;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const url = new URL(request.url, "http://localhost");
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prior = query[k];
    query[k] = prior === undefined ? v : [...(Array.isArray(prior) ? prior : [prior]), v];
  }
  const signed = await signerFor(auth.accessKeyId, secretAccessKey, auth.region, auth.service).sign(
    { method: request.method, protocol: "http:", hostname: "localhost", path: url.pathname, query, headers, body: request.body },
    { signingDate: date, signingRegion: auth.region, signingService: auth.service },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization ?? ""))?.[1];
  return expected !== undefined && timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature));
}
