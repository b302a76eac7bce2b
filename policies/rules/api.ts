/**
 * API: every method is authorized (API key, IAM, Cognito or a Lambda authorizer) except CORS
 * preflight, and every REST method validates its request.
 *
 * Coverage (the mapping in docs/policies.md; a test holds this header to it): checkov CKV_AWS_59,
 * CKV2_AWS_70, CKV_AWS_309, CKV2_AWS_53; Security Hub APIGateway.8. Not enforced, and why
 * (docs/policies.md): cfn_nag W59 (it wants an authorizer even where an API key is required).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { T } from "../lib/types";
import { onTypes } from "./common";

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

export const apiPolicies = [methodAuthorization, requestValidation];
