/**
 * The stack's settings: one zod schema, read once at program start.
 *
 * Every setting has its default here and only here (Pulumi.yaml documents them, and a test keeps the
 * two in step). A wrong or missing value stops the program with a message that names the key, the
 * stack and what is expected, before any resource is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { EXPRESS_MAX_SECONDS, orderWorkflowTimeoutSeconds } from "../orders/workflow-definition";
import { TRANSACTION_TYPES } from "../transactions/routes";

/** The Pulumi project name: config keys are `<project>:<key>`. */
export const PROJECT = "utility-serverless";

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * The ADOT collector layer (OTLP receiver on localhost:4318), published by AWS per region. Regions
 * not listed here need `otelLayerArn` set explicitly.
 */
export const OTEL_COLLECTOR_LAYERS: Record<string, string> = {
  "us-east-1": "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5",
  "us-east-2": "arn:aws:lambda:us-east-2:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5",
};

const seconds = (max: number) => z.number().int().min(1).max(max);

/**
 * One origin a browser page may call the order API from: `http` or `https`, a host (lower-case
 * letters, digits, dots and dashes, or a bracketed IPv6 address) and an optional port, nothing
 * else; exactly as a browser sends it in `Origin` (no path, no trailing slash, no default port),
 * since CORS compares origins as text. Or `*`: any origin.
 */
export const CorsOrigin = z.string().superRefine((value, context) => {
  if (value === "*") return;
  const shape = /^(https?):\/\/([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;
  if (!shape.test(value)) {
    context.addIssue({ code: "custom", message: `"${value}" is not an origin: write scheme://host[:port] with http or https, a lower-case host and nothing after it (no path, no trailing slash), or "*"` });
    return;
  }
  const origin = new URL(value).origin;
  if (origin !== value) context.addIssue({ code: "custom", message: `"${value}" is not how a browser sends this origin: write ${origin}` });
});

/** API Gateway's integration timeout (REST API, regional, default quota): a slower Lambda answers 504 while it goes on. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29;

/** The largest `functionTimeoutSeconds` whose derived order workflow timeout fits an EXPRESS workflow. */
export function maxExpressFunctionTimeoutSeconds(): number {
  let best = 0;
  for (let t = 1; t <= 900 && orderWorkflowTimeoutSeconds(t) <= EXPRESS_MAX_SECONDS; t++) best = t;
  return best;
}

/** The schema of every stack setting, with its default. */
export const StackSettingsSchema = z.object({
  /** Transaction types routed on this stack (each has its queue, DLQ and consumer). */
  transactionTypes: z
    .array(z.enum(TRANSACTION_TYPES))
    .min(1)
    .refine((types) => new Set(types).size === types.length, "must not repeat a type")
    .default([...TRANSACTION_TYPES]),
  /**
   * Receives before a failing message is dead-lettered: on this receive the bus's consumers
   * dead-letter it themselves with its reason (their queues' redrive policies allow 3 more, as a
   * backstop); the fulfillment queue's redrive policy moves it after this many.
   */
  maxReceiveCount: z.number().int().min(1).max(1000).default(5),
  /** Messages per Lambda batch from a FIFO queue (SQS FIFO allows at most 10). */
  batchSize: z.number().int().min(1).max(10).default(10),
  /** Concurrent consumer invocations per queue (event source mapping maximum concurrency, 2..1000). */
  maxConcurrency: z.number().int().min(2).max(1000).default(5),
  /** Memory of every function, in MB (128..10240). */
  functionMemoryMb: z.number().int().min(128).max(10240).default(256),
  /** Timeout of every function but the API's, in seconds (1..900). */
  functionTimeoutSeconds: seconds(900).default(30),
  /**
   * Timeout of the API function, in seconds (1..28): below API Gateway's 29 s integration timeout,
   * so the function never runs on (and starts a workflow) after the client got a 504.
   */
  apiTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1, `must be below API Gateway's ${API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} s integration timeout (at most ${API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1})`)
    .default(10),
  /** Log group retention in days; one of CloudWatch's allowed values. */
  logRetentionDays: z
    .number()
    .int()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .default(14),
  /** How long a transaction queue keeps an unprocessed message, in seconds (60..1209600). */
  queueRetentionSeconds: z.number().int().min(60).max(1_209_600).default(345_600),
  /** The OTEL collector layer ARN; defaults to the ADOT collector layer of the stack's region. */
  otelLayerArn: z
    .string()
    .regex(/^arn:aws:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/, "must be a Lambda layer version ARN")
    .optional(),
  /** The largest single payment accepted, in the account currency (at most 2 decimals). */
  paymentLimit: z.number().positive().max(1_000_000_000).default(10_000),
  /** SNS/SQS FIFO high-throughput mode (per-message-group deduplication and throughput limits). */
  highThroughput: z.boolean().default(false),
  /**
   * Secret key of the keyed (HMAC-SHA256) bank account fingerprint, at least 32 characters. Set with
   * `pulumi config set --secret accountFingerprintKey "$(openssl rand -hex 32)"`.
   */
  accountFingerprintKey: z.string().min(32, "must be at least 32 characters (openssl rand -hex 32)"),
  /** Share of orders the simulated fulfillment succeeds for (0..1). */
  fulfillmentSuccessRate: z.number().min(0).max(1).default(0.7),
  /** API Gateway usage plan: steady requests per second. */
  apiRateLimit: z.number().positive().max(10_000).default(50),
  /** API Gateway usage plan: burst. */
  apiBurstLimit: z.number().int().min(1).max(5_000).default(100),
  /** Step Functions workflow type for the order state machine. */
  stateMachineType: z.enum(["STANDARD", "EXPRESS"]).default("STANDARD"),
  /** CloudWatch metrics namespace (EMF) for business and technical metrics. */
  metricsNamespace: z.string().min(1).max(255).default("OTEL/UtilityCustomer/Enhanced"),
  /** Optional e-mail address subscribed to the alarm topic. */
  alarmEmail: z.email().optional(),
  /**
   * Why this stack's tables may be deleted with it: when set, tables get no deletion protection and
   * ledger tables no Pulumi `protect`, and each table carries this reason as its
   * `DeletionProtectionOptOut` tag (which the policy pack requires for an unprotected table). Only
   * for stacks whose data is disposable (dev); a tag value, so letters, digits, spaces and `_.:/=+-@`.
   */
  tableProtectionOptOut: z
    .string()
    .regex(/^[\p{L}\p{N} _.:/=+\-@]{10,256}$/u, "must be the reason, 10..256 letters, digits, spaces or _.:/=+-@ (it becomes a tag value)")
    .optional(),
  /**
   * When an alarm's return to OK is notified: `after-alarm` (only when it was in ALARM before:
   * no "OK" mail for alarms that never fired, e.g. on the first deploy), `always` (CloudWatch's
   * `okActions`, on every transition to OK) or `never`.
   */
  alarmOkNotifications: z.enum(["after-alarm", "always", "never"]).default("after-alarm"),
  /**
   * Origins whose web pages may call the order API (CORS): each `scheme://host[:port]`, or `["*"]`
   * for any origin. Empty: no CORS at all (no preflight methods, no CORS headers), so browsers
   * refuse every cross-origin call.
   */
  corsAllowOrigins: z
    .array(CorsOrigin)
    .refine((origins) => new Set(origins).size === origins.length, "must not repeat an origin")
    .refine((origins) => !origins.includes("*") || origins.length === 1, 'must be ["*"] alone: "*" already allows every origin')
    .default([]),
}).superRefine((settings, context) => {
  // An EXPRESS execution stops at 300 s: the workflow's derived timeout (its slowest retry path,
  // from the Task timeouts, themselves from functionTimeoutSeconds) must fit, or a slow failure
  // would end the execution before RecordFailure and leave the order PENDING.
  if (settings.stateMachineType !== "EXPRESS") return;
  const needed = orderWorkflowTimeoutSeconds(settings.functionTimeoutSeconds);
  if (needed <= EXPRESS_MAX_SECONDS) return;
  context.addIssue({
    code: "custom",
    path: ["stateMachineType"],
    message:
      `an EXPRESS execution runs at most ${EXPRESS_MAX_SECONDS} s, but the order workflow's slowest retry path takes up to ${needed} s ` +
      `with functionTimeoutSeconds ${settings.functionTimeoutSeconds}: set functionTimeoutSeconds to at most ${maxExpressFunctionTimeoutSeconds()}, or use STANDARD`,
  });
});

/** Validated settings, plus the stack and region they belong to. */
export type StackSettings = z.infer<typeof StackSettingsSchema> & {
  stack: string;
  region: string;
  otelLayerArn: string;
};

/** Settings whose values never appear in an error message (`pulumi config` holds them decrypted). */
export const SECRET_SETTINGS = new Set(["accountFingerprintKey"]);

/** Raised when the stack's configuration does not validate. Names every offending key. */
export class StackConfigError extends Error {
  override name = "StackConfigError";
}

/**
 * Validates raw config values (as `pulumi config` holds them: strings, or JSON for numbers,
 * booleans and lists) for `stack` in `region`.
 *
 * @param raw - config key (without the project prefix) → raw string value; missing keys take defaults.
 * @param stack - the stack name, for error messages.
 * @param region - the stack's `aws:region`; picks the default OTEL layer.
 * @throws StackConfigError naming each wrong or missing key and what it expects.
 */
export function parseStackSettings(raw: Record<string, string | undefined>, stack: string, region: string | undefined): StackSettings {
  const problems: string[] = [];
  if (!region) problems.push(`aws:region is missing: set it with \`pulumi config set aws:region us-east-2 --stack ${stack}\``);

  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    values[key] = decode(key, value);
  }
  const unknownKeys = Object.keys(values).filter((k) => !(k in StackSettingsSchema.shape));
  for (const key of unknownKeys) problems.push(`${PROJECT}:${key} is not a setting of this program (known: ${Object.keys(StackSettingsSchema.shape).join(", ")})`);

  const parsed = StackSettingsSchema.safeParse(values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.length ? issue.path.map(String).join(".") : "(root)";
      const got = issue.path[0] !== undefined ? values[String(issue.path[0])] : undefined;
      const shown = SECRET_SETTINGS.has(String(issue.path[0])) ? "[secret]" : JSON.stringify(got);
      problems.push(got === undefined ? `${PROJECT}:${key} is missing: ${issue.message}` : `${PROJECT}:${key} is ${shown}: ${issue.message}`);
    }
  }
  const otelLayerArn = parsed.success ? (parsed.data.otelLayerArn ?? (region ? OTEL_COLLECTOR_LAYERS[region] : undefined)) : undefined;
  if (parsed.success && region && !otelLayerArn) {
    problems.push(`${PROJECT}:otelLayerArn is missing: no default OTEL collector layer is known for ${region}; set the layer version ARN for that region`);
  }
  // Lambda only attaches layers of its own region: a copied ARN would fail at CreateFunction.
  const layerRegion = otelLayerArn?.split(":")[3];
  if (parsed.success && region && layerRegion && layerRegion !== region) {
    problems.push(`${PROJECT}:otelLayerArn is in ${layerRegion}, but the stack deploys to ${region}: Lambda only attaches layers of its own region`);
  }
  if (problems.length || !parsed.success || !region || !otelLayerArn) {
    throw new StackConfigError(`Invalid configuration for stack "${stack}":\n  - ${problems.join("\n  - ")}`);
  }
  return { ...parsed.data, stack, region, otelLayerArn };
}

/**
 * Config values are strings; numbers, booleans and lists arrive as JSON text. A value its setting
 * accepts as a string stays a string (a namespace "12345", a secret of digits); anything else is
 * read as JSON.
 */
function decode(key: string, value: string): unknown {
  const setting = (StackSettingsSchema.shape as Record<string, z.ZodType | undefined>)[key];
  if (setting?.safeParse(value).success) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Reads and validates the current stack's settings through Pulumi config. */
export function loadStackSettings(): StackSettings {
  // allConfig() rather than Config.get(): it also shows misspelt keys, which are then reported.
  const all = pulumi.runtime.allConfig();
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(`${PROJECT}:`)) raw[key.slice(PROJECT.length + 1)] = value;
  }
  return parseStackSettings(raw, pulumi.getStack(), all["aws:region"]);
}
