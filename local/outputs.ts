/**
 * The stack outputs file: what `pulumi stack output --json --show-secrets` prints for a deployed
 * stack, and what the local cloud writes to `.local/<stack>/outputs.json` (plus `region`,
 * `awsEndpoints` and `otlpEndpoint`). The tools and the integration suite read only this, so they work against both.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";

export const StackOutputsFile = z
  .object({
    region: z.string().optional(),
    /** AWS CLI service name (`sns`, `sqs`, `dynamodb`, `stepfunctions`) → endpoint URL; local cloud only. */
    awsEndpoints: z.record(z.string(), z.url()).optional(),
    /**
     * The local cloud's OTLP/HTTP receiver (the value for `OTEL_EXPORTER_OTLP_ENDPOINT`); local cloud
     * only, and only while it traces. `npm run tx` exports its publish span there.
     */
    otlpEndpoint: z.url().optional(),
    transactionTopicArn: z.string(),
    transactionQueueUrls: z.record(z.string(), z.string()),
    transactionDlqUrls: z.record(z.string(), z.string()),
    bankAccountsTable: z.string(),
    paymentsTable: z.string(),
    apiUrl: z.string().optional(),
    apiKey: z.string().optional(),
    ordersTable: z.string().optional(),
    failedOrdersTable: z.string().optional(),
    stateMachineArn: z.string().optional(),
    fulfillmentQueueUrl: z.string().optional(),
    fulfillmentDlqUrl: z.string().optional(),
  })
  .loose();
export type StackOutputsFile = z.infer<typeof StackOutputsFile>;

/** Where the local cloud writes a stack's outputs. */
export function localOutputsPath(stack: string): string {
  return path.resolve(__dirname, "..", ".local", stack, "outputs.json");
}

/**
 * Reads and validates an outputs file.
 * @param file - path to the JSON file. @default the local cloud's `.local/<stack>/outputs.json`
 * @param stack - used for the default path. @default "dev"
 */
export function readStackOutputs(file?: string, stack = "dev"): StackOutputsFile {
  const target = file ?? localOutputsPath(stack);
  if (!fs.existsSync(target)) {
    throw new Error(
      file
        ? `Outputs file ${file} does not exist (pulumi stack output --json --show-secrets --stack <stack> > ${file})`
        : `No local cloud outputs at ${path.relative(process.cwd(), target)}: start it with \`npm start\` (or pass --outputs <file>)`,
    );
  }
  const parsed = StackOutputsFile.safeParse(JSON.parse(fs.readFileSync(target, "utf8")));
  if (!parsed.success) throw new Error(`${target} is not a stack outputs file: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/**
 * SDK client settings for a stack: the local endpoints and dummy credentials when the outputs come
 * from the local cloud, the default AWS configuration otherwise.
 */
export function clientConfig(outputs: StackOutputsFile, service: "sns" | "sqs" | "dynamodb" | "stepfunctions") {
  const endpoint = outputs.awsEndpoints?.[service];
  return {
    region: outputs.region,
    ...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  };
}
