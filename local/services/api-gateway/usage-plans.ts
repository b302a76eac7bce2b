/**
 * API keys and usage plans, for methods with `apiKeyRequired`: the `x-api-key` header must be an
 * enabled key of a usage plan that includes this API and stage (else 403 `{"message":"Forbidden"}`),
 * and the plan's rate and burst limits are enforced per key (429 `{"message":"Too Many
 * Requests"}`). Quotas are not emulated.
 */
import { HttpError } from "./gateway-responses";
import type { ApiKey, UsagePlan } from "./rest-api";

/** The API keys and usage plans the provisioners declared (the registry's maps). */
export interface UsagePlanDeclarations {
  readonly apiKeys: ReadonlyMap<string, ApiKey>;
  readonly usagePlans: ReadonlyMap<string, UsagePlan>;
  /** API key id → usage plan ids. */
  readonly planKeys: ReadonlyMap<string, ReadonlySet<string>>;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The throttling state of every usage plan and key. */
export class UsagePlanThrottle {
  private readonly buckets = new Map<string, Bucket>();

  /** Token bucket per usage plan and key: `burstLimit` tokens, refilled at `rateLimit` per second. */
  take(plan: UsagePlan, key: ApiKey): boolean {
    if (plan.rateLimit === undefined && plan.burstLimit === undefined) return true;
    const rate = plan.rateLimit ?? Number.POSITIVE_INFINITY;
    const burst = Math.max(1, plan.burstLimit ?? Math.ceil(rate));
    const id = `${plan.id} ${key.id}`;
    const now = Date.now();
    const bucket = this.buckets.get(id) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/**
 * Admits a request to a method that requires an API key, spending one token of the key's plan.
 * @param apiKeyValue - The request's `x-api-key` header.
 * @returns The key the request used (the proxy event names it).
 * @throws {HttpError} 403 `INVALID_API_KEY`, or 429 `THROTTLED`.
 */
export function admitApiKey(declared: UsagePlanDeclarations, throttle: UsagePlanThrottle, apiId: string, stageName: string, apiKeyValue: string | undefined): ApiKey {
  const apiKey = [...declared.apiKeys.values()].find((k) => k.enabled && k.value === apiKeyValue);
  const plans = apiKey ? [...(declared.planKeys.get(apiKey.id) ?? [])].map((id) => declared.usagePlans.get(id)).filter((p): p is UsagePlan => !!p) : [];
  const plan = plans.find((p) => p.apiStages.some((s) => s.apiId === apiId && s.stage === stageName));
  if (!apiKey || !plan) throw new HttpError(403, "INVALID_API_KEY", "Forbidden", "ForbiddenException");
  if (!throttle.take(plan, apiKey)) throw new HttpError(429, "THROTTLED", "Too Many Requests", "TooManyRequestsException");
  return apiKey;
}
