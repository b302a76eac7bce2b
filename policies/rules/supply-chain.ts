/**
 * Supply chain: what runs inside a function besides its own bundle. Its runtime must be one AWS
 * still supports (patched, and accepted by CreateFunction), and every layer must come from an
 * allowed publisher and from the function's own region (a layer runs in the function with its
 * role's permissions; Lambda attaches only layers of the function's region).
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_363;
 * Security Hub Lambda.2.
 */
import type { StackValidationPolicy, ResourceValidationPolicy } from "@pulumi/policy";
import { StackIndex, known, parseArn } from "../lib/stack";
import { T } from "../lib/types";
import { config, onTypes, physical } from "./common";

/**
 * The runtimes AWS supports for new functions: not deprecated on AWS's "Lambda runtimes" page
 * (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), as checked on 2026-12-02. Amazon
 * Linux 2 reached its end of support on 2026-06-30, taking java8.al2, java11, java17, python3.10,
 * python3.11 and provided.al2 with it (java8/11/17 live on as `.al2023` runtimes); nodejs20.x was
 * deprecated on 2026-04-30, dotnet8 on 2026-11-10. Next to go: nodejs22.x (this program's runtime)
 * and ruby3.3 in spring 2027. Keep the list current through the policy's `allowedRuntimes` config.
 */
export const SUPPORTED_RUNTIMES = [
  "nodejs22.x",
  "nodejs24.x",
  "python3.12",
  "python3.13",
  "python3.14",
  "java8.al2023",
  "java11.al2023",
  "java17.al2023",
  "java21",
  "java25",
  "dotnet10",
  "ruby3.3",
  "ruby3.4",
  "provided.al2023",
];

interface RuntimeConfig {
  allowedRuntimes: string[];
}

export const runtimeSupported: ResourceValidationPolicy = {
  name: "lambda-runtime-supported",
  description: "Every Lambda function (.zip) uses a runtime AWS supports for new functions (the policy's allowedRuntimes).",
  remediationSteps: "Set `runtime` to a supported runtime (TypedFunction uses nodejs22.x). AWS stops patching a deprecated runtime and then refuses to create, later to update, functions on it; update `allowedRuntimes` as AWS's deprecation schedule moves.",
  configSchema: {
    properties: {
      allowedRuntimes: { type: "array", items: { type: "string" }, default: SUPPORTED_RUNTIMES, description: "Runtime identifiers accepted (AWS's supported runtimes by default)." },
    },
  },
  validateResource: onTypes([T.function], (props, args, report) => {
    if (props.packageType === "Image") return; // a container image brings its own runtime
    const { allowedRuntimes } = config<RuntimeConfig>(args, { allowedRuntimes: SUPPORTED_RUNTIMES });
    const name = physical(props, args.name);
    const runtime = props.runtime;
    if (typeof runtime !== "string" || runtime === "") {
      report(`Function "${name}" has no runtime: AWS requires one for a .zip package; set runtime to one of ${allowedRuntimes.join(", ")}.`);
    } else if (!allowedRuntimes.includes(runtime)) {
      report(`Function "${name}" uses the runtime ${runtime}, which is not supported for new functions (allowed: ${allowedRuntimes.join(", ")}): AWS no longer patches it and blocks creating functions on it; move to a supported runtime.`);
    }
  }),
};

/** The ADOT publishers: the collector layers (901920570463) and the JavaScript distro (615299751070). */
export const ADOT_LAYER_ACCOUNTS = ["901920570463", "615299751070"];

interface LayerConfig {
  allowedAccounts: string[];
  region: string;
}

export const layerProvenance: StackValidationPolicy = {
  name: "lambda-layer-provenance",
  description: "Every Lambda layer comes from an allowed publisher account (the policy's allowedAccounts, or the function's own account) and from the function's region.",
  remediationSteps: "Use the layer version ARN its publisher publishes in the function's region (stack setting otelLayerArn: arn:aws:lambda:<region>:901920570463:layer:aws-otel-collector-...). To trust another publisher, add its account to `allowedAccounts` after reviewing what the layer runs; `region` pins the expected region when function ARNs are not known yet (a first preview).",
  configSchema: {
    properties: {
      allowedAccounts: { type: "array", items: { type: "string", pattern: "^\\d{12}$" }, default: ADOT_LAYER_ACCOUNTS, description: "Accounts whose layers may run in the functions (besides the function's own account)." },
      region: { type: "string", default: "", description: "The stacks' region; empty: each function's region, read from its ARN." },
    },
  },
  validateStack: (args, report) => {
    const { allowedAccounts, region: configured } = config<LayerConfig>(args, { allowedAccounts: ADOT_LAYER_ACCOUNTS, region: "" });
    for (const fn of new StackIndex(args.resources).of(T.function)) {
      const name = physical(fn.props, fn.name);
      const own = parseArn(known(() => fn.props.arn));
      const region = configured || own?.region;
      for (const layer of (fn.props.layers as string[] | undefined) ?? []) {
        const arn = parseArn(layer);
        if (!arn || arn.service !== "lambda" || !arn.resource.startsWith("layer:")) {
          report(`Function "${name}" lists "${layer}", which is not a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>): fix the ARN.`, fn.urn);
          continue;
        }
        if (!allowedAccounts.includes(arn.account) && arn.account !== own?.account) {
          report(`Function "${name}" runs layer ${layer}, published by account ${arn.account}, which is not an allowed publisher (${allowedAccounts.join(", ")}): a layer runs inside the function with its role's permissions; use the layer from its publisher's account, or review it and add ${arn.account} to allowedAccounts.`, fn.urn);
        }
        if (region && arn.region !== region) {
          report(`Function "${name}" runs in ${region} but its layer ${layer} is published in ${arn.region}: Lambda attaches only layers of the function's own region (CreateFunction fails); use the layer version ARN published in ${region}.`, fn.urn);
        }
      }
    }
  },
};

export const supplyChainPolicies = [runtimeSupported, layerProvenance];
