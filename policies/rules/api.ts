/**
 * API: every method is authorized (API key, IAM, Cognito or a Lambda authorizer) except CORS
 * preflight, and every REST method validates its request.
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_59,
 * CKV2_AWS_70, CKV_AWS_309, CKV2_AWS_53; Security Hub APIGateway.8. Not enforced, and why
 * (docs/policies.md): cfn_nag W59 (it wants an authorizer even where an API key is required).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { DEFAULTS, StackIndex, num } from "../lib/stack";
import { T } from "../lib/types";
import { onTypes, physical } from "./common";

export const methodAuthorization: ResourceValidationPolicy = {
  name: "apigateway-method-authorization",
  description: "Every API Gateway method or route requires authorization (API key, IAM, Cognito or a Lambda authorizer); only CORS preflight (OPTIONS) may be open.",
  remediationSteps: "Set `apiKeyRequired: true` (with a usage plan and key), or `authorization: \"AWS_IAM\"`, or `authorization: \"CUSTOM\"` with an authorizerId; for HTTP API routes set authorizationType.",
  validateResource: onTypes([T.method, T.route], (props, args, report) => {
    if (args.type === T.method) {
      const method = String(props.httpMethod ?? "");
      if (method === "OPTIONS") return;
      if ((props.authorization ?? "NONE") === "NONE" && props.apiKeyRequired !== true) {
        report(`Method ${method} on resource ${String(props.resourceId ?? "?")} is open to anyone: set apiKeyRequired to true, or authorization to "AWS_IAM", "COGNITO_USER_POOLS" or "CUSTOM" with an authorizer.`);
      }
      return;
    }
    const routeKey = String(props.routeKey ?? "");
    if (routeKey.startsWith("OPTIONS ")) return;
    if ((props.authorizationType ?? "NONE") === "NONE" && props.apiKeyRequired !== true) {
      report(`Route "${routeKey}" is open to anyone: set authorizationType to "AWS_IAM", "JWT" or "CUSTOM" with an authorizerId.`);
    }
  }),
};

export const requestValidation: ResourceValidationPolicy = {
  name: "apigateway-request-validation",
  description: "Every REST API method (except CORS preflight) has a request validator.",
  remediationSteps: "Create an aws.apigateway.RequestValidator (validateRequestBody for methods with a body model, validateRequestParameters for path/query parameters) and set the method's requestValidatorId.",
  validateResource: onTypes([T.method], (props, _args, report) => {
    const method = String(props.httpMethod ?? "");
    if (method === "OPTIONS") return;
    if (!props.requestValidatorId) {
      report(`Method ${method} on resource ${String(props.resourceId ?? "?")} has no request validator: set requestValidatorId to an aws.apigateway.RequestValidator (with requestModels for a body, requestParameters for path and query).`);
    }
  }),
};


/** How long API Gateway waits for an integration unless told otherwise (REST: 29 s; HTTP APIs: 30 s). */
export const INTEGRATION_TIMEOUT_MS = { rest: 29_000, http: 30_000 };

/** The function a Lambda integration invokes: `.../functions/<function ARN>/invocations`, or the function ARN itself (HTTP APIs). */
function invokedFunction(uri: unknown): string | undefined {
  if (typeof uri !== "string") return undefined;
  const match = /\/functions\/(arn:[^/]+:lambda:[^/]+:function:[^/]+)\/invocations$/.exec(uri);
  if (match) return match[1];
  return /^arn:[^:]+:lambda:[^:]+:\d+:function:/.test(uri) ? uri : undefined;
}

export const lambdaTimeoutBelowIntegration: StackValidationPolicy = {
  name: "lambda-api-timeout-below-integration-timeout",
  description: "A Lambda function behind API Gateway times out before its integration does (29 s for REST APIs unless raised, 30 s for HTTP APIs).",
  remediationSteps: "Give the function a timeout below the integration's (TypedFunction's timeoutSeconds; the stack setting apiTimeoutSeconds, at most 28, for the orders API). Otherwise a slow request answers 504 while the function runs on and may still act (start a workflow, write an order).",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const integrations = [
      ...stack.of(T.integration).map((i) => ({ i, uri: i.props.uri, kind: "rest" as const })),
      ...stack.of(T.httpIntegration).map((i) => ({ i, uri: i.props.integrationUri, kind: "http" as const })),
    ];
    for (const { i, uri, kind } of integrations) {
      const fn = stack.functionByRef(invokedFunction(uri));
      if (!fn) continue;
      const limitMs = num(i.props.timeoutMilliseconds, INTEGRATION_TIMEOUT_MS[kind]);
      const timeout = num(fn.props.timeout, DEFAULTS.functionTimeout);
      if (timeout * 1000 >= limitMs) {
        const most = Math.ceil(limitMs / 1000) - 1;
        report(`Function "${physical(fn.props, fn.name)}" may run ${timeout} s, but its API Gateway integration "${i.name}" gives up after ${limitMs / 1000} s: the client gets a 504 while the function runs on; set its timeout to at most ${most} s.`, i.urn);
      }
    }
  },
};

export const apiPolicies = [methodAuthorization, requestValidation, lambdaTimeoutBelowIntegration];
