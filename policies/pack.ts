/**
 * The policy pack, without side effects: its name, its policies and each one's enforcement level.
 * `index.ts` serves it to the Pulumi CLI; `run.ts` and the tests evaluate it directly.
 *
 * Levels: `mandatory` for security and for anything AWS would reject or silently break at deploy or
 * run time; `advisory` only where the rule is a judgement call. Every policy must appear in
 * ENFORCEMENT (a test checks it), so adding a policy means deciding its level here.
 */
import type { EnforcementLevel, Policies, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { actionCataloguePolicies } from "./rules/action-catalogue";
import { apiPolicies } from "./rules/api";
import { corsPolicies } from "./rules/cors";
import { deployTimePolicies } from "./rules/deploy-time";
import { encryptionPolicies } from "./rules/encryption";
import { gatewayResponsePolicies } from "./rules/gateway-responses";
import { leastPrivilegePolicies } from "./rules/least-privilege";
import { observabilityPolicies } from "./rules/observability";
import { resiliencePolicies } from "./rules/resilience";
import { alarmPolicies } from "./rules/alarms";
import { supplyChainPolicies } from "./rules/supply-chain";

export const PACK_NAME = "utility-serverless-guardrails";
export const PACK_VERSION = "0.1.0";
export const PACK_DESCRIPTION = "Guardrails for the utility serverless program: encryption, least privilege, resilience, observability, supply chain, API protection and the deploy-time failures AWS would hit.";

/** Policies by theme, in the order the catalogue (docs/policies.md) lists them. */
export const THEMES = {
  encryption: encryptionPolicies,
  "least-privilege": [...leastPrivilegePolicies, ...actionCataloguePolicies],
  resilience: resiliencePolicies,
  observability: [...observabilityPolicies, ...alarmPolicies],
  "supply-chain": supplyChainPolicies,
  api: [...apiPolicies, ...gatewayResponsePolicies, ...corsPolicies],
  "deploy-time": deployTimePolicies,
} as const;

export const ENFORCEMENT: Record<string, EnforcementLevel> = {
  // Encryption
  "sns-topic-encrypted-with-cmk": "mandatory",
  "sqs-queue-encrypted-with-cmk": "mandatory",
  "dynamodb-table-encrypted-with-cmk": "mandatory",
  "kms-key-rotation-enabled": "mandatory",
  // A disabled key stops everything it encrypts; a short window loses data before anyone notices.
  "kms-key-enabled": "mandatory",
  "kms-key-deletion-window": "mandatory",
  "cloudwatch-log-group-encrypted-with-cmk": "mandatory",
  "queue-topic-policy-denies-insecure-transport": "mandatory",
  "queue-topic-has-resource-policy": "mandatory",
  // Least privilege
  "iam-no-wildcard-actions": "mandatory",
  "iam-no-wildcard-resources": "mandatory",
  "iam-no-broad-managed-policies": "mandatory",
  "lambda-one-role-per-function": "mandatory",
  "resource-policy-no-public-principal": "mandatory",
  "iam-role-trust-restricted": "mandatory",
  "iam-role-trust-matches-use": "mandatory",
  // A misspelt action or a resource of the wrong type grants nothing: the function fails on AWS with AccessDenied.
  "iam-actions-exist": "mandatory",
  "iam-resources-fit-actions": "mandatory",
  "iam-actions-fit-resources": "mandatory",
  // Resilience
  "sqs-queue-has-dlq": "mandatory",
  "sqs-dlq-retention-covers-source": "mandatory",
  "sns-fifo-queue-behind-fifo-topic": "mandatory",
  // Six is AWS's rule of thumb, not a limit: the factor is configurable and the level advisory.
  "sqs-visibility-timeout-factor": "advisory",
  "lambda-esm-reports-batch-item-failures": "mandatory",
  "dynamodb-table-pitr-enabled": "mandatory",
  // A replaced or destroyed stack would delete the ledger; opting out needs a reason on the table.
  "dynamodb-table-deletion-protection": "mandatory",
  "dynamodb-ledger-table-protected": "mandatory",
  // SNS discards what it cannot deliver without one; a slow failure path must not outlive the execution.
  "sns-subscription-has-dlq": "mandatory",
  "sfn-execution-timeout-covers-retries": "mandatory",
  // Observability
  "lambda-otel-layer": "mandatory",
  "lambda-active-tracing": "mandatory",
  "lambda-explicit-timeout": "mandatory",
  "log-group-retention": "mandatory",
  "lambda-has-log-group": "mandatory",
  "sfn-logging-and-tracing": "mandatory",
  "apigateway-stage-access-logging": "mandatory",
  "apigateway-stage-xray-tracing": "mandatory",
  "apigateway-stage-execution-logging": "mandatory",
  "apigateway-stage-throttling": "mandatory",
  // An alarm nobody hears, or a failure nobody alarms on, is the same silence.
  "cloudwatch-alarm-actions-enabled": "mandatory",
  "cloudwatch-alarm-coverage": "mandatory",
  // Supply chain: AWS refuses deprecated runtimes and layers of another region; another account's layer runs foreign code.
  "lambda-runtime-supported": "mandatory",
  "lambda-layer-provenance": "mandatory",
  // Failures reported through batchItemFailures are invisible to Lambda's Errors metric.
  "sqs-consumer-queue-alarmed": "mandatory",
  // API
  "apigateway-method-authorization": "mandatory",
  "apigateway-request-validation": "mandatory",
  // AWS would send the template to clients as literal text.
  "apigateway-gateway-response-no-vtl": "mandatory",
  // A half-configured CORS breaks browser clients in ways only a browser shows.
  "apigateway-cors-complete": "mandatory",
  // API Gateway answers 504 while the function runs on (and acts).
  "lambda-api-timeout-below-integration-timeout": "mandatory",
  // Deploy-time and run-time failures
  "aws-name-valid": "mandatory",
  "fifo-name-suffix": "mandatory",
  "lambda-sqs-event-source-settings-valid": "mandatory",
  "lambda-sqs-visibility-exceeds-function-timeout": "mandatory",
  "sns-filter-policy-valid": "mandatory",
  "policy-document-has-version": "mandatory",
  "sqs-dlq-matches-source-type": "mandatory",
  "cloudwatch-log-retention-allowed-value": "mandatory",
  "lambda-sqs-trigger-role-can-consume": "mandatory",
  "sns-sqs-subscription-queue-policy-allows-topic": "mandatory",
  "kms-key-policy-allows-delivering-services": "mandatory",
  "kms-key-usable-by-roles": "mandatory",
  "sns-fifo-topic-throughput-scope-set": "mandatory",
};

function withLevel<P extends ResourceValidationPolicy | StackValidationPolicy>(policy: P): P {
  const level = ENFORCEMENT[policy.name];
  if (!level) throw new Error(`Policy "${policy.name}" has no enforcement level in policies/pack.ts ENFORCEMENT`);
  return { ...policy, enforcementLevel: level };
}

/** Every policy of the pack, with its enforcement level. */
export const policies: Policies = Object.values(THEMES).flat().map(withLevel);
