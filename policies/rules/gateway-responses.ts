/**
 * API Gateway gateway responses: their templates are simple substitution, never VTL.
 *
 * "A GatewayResponse mapping template isn't processed by the Velocity Template Language (VTL)
 * engine ... supporting only simple variable substitution" (AWS, API Gateway developer guide,
 * x-amazon-apigateway-gateway-responses.responseTemplates). A template that calls `$util`, uses a
 * directive (`#set`, `#if`, `#foreach`, ...) or reads `$input` deploys fine and is then sent to
 * clients as literal text, typically as invalid JSON; the mock runtime and most local emulators
 * evaluate it and hide the problem.
 *
 * Coverage: no checkov or cfn_nag rule; Serverless Lens REL (predictable error responses).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { onTypes } from "./common";

/** `aws.apigateway.Response` (a REST API's gateway response). */
export const GATEWAY_RESPONSE_TYPE = "aws:apigateway/response:Response";

/** What only the VTL engine would evaluate, with how to name it in a message. */
const VTL_CONSTRUCTS: [RegExp, string][] = [
  [/\$!?\{?util\./, "$util"],
  [/\$!?\{?input\./, "$input"],
  [/#\{?(set|if|elseif|else|end|foreach|macro|define|parse|include|evaluate|break|stop)\b/, "VTL directives (#set, #if, #foreach, ...)"],
];

export const gatewayResponseNoVtl: ResourceValidationPolicy = {
  name: "apigateway-gateway-response-no-vtl",
  description: "API Gateway gateway response templates use only simple `$context`/`$stageVariables` substitution: no `$util`, `$input` or VTL directives, which AWS does not evaluate there.",
  remediationSteps:
    "Write the template as static JSON with substitutions only: `$context.error.messageString` (the message, already a quoted JSON string: `{\"message\":$context.error.messageString}`), `\"$context.requestId\"`, `\"$context.error.responseType\"`. Put detail that needs escaping, like `$context.error.validationErrorString`, in the stage's access log format instead.",
  validateResource: onTypes([GATEWAY_RESPONSE_TYPE], (props, _args, report) => {
    const templates = (props.responseTemplates ?? {}) as Record<string, unknown>;
    for (const [contentType, template] of Object.entries(templates)) {
      if (typeof template !== "string") continue;
      const found = VTL_CONSTRUCTS.filter(([pattern]) => pattern.test(template)).map(([, what]) => what);
      if (found.length === 0) continue;
      report(
        `Gateway response ${String(props.responseType ?? "?")} (${contentType}) uses ${found.join(", ")}, which API Gateway does not evaluate in gateway responses (simple variable substitution only): clients would get the template text literally. ` +
          "Use static JSON with $context variables, e.g. {\"message\":$context.error.messageString,\"requestId\":\"$context.requestId\"}.",
      );
    }
  }),
};

export const gatewayResponsePolicies = [gatewayResponseNoVtl];
