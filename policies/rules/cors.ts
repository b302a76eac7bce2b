/**
 * CORS on REST APIs: once an API lets browser pages on other origins call it, it does so
 * everywhere, or pages break in ways only a browser shows.
 *
 * An API allows origins when it has a preflight (`OPTIONS`) method or a gateway response that sets
 * `Access-Control-Allow-Origin`. Then:
 * - every resource with a method answers preflights: an `OPTIONS` method without authorization or
 *   API key (browsers send neither on a preflight), integrated as `MOCK` (API Gateway answers it
 *   itself, no function runs), whose integration response sets `Access-Control-Allow-Origin`
 *   (static, or through `$context.responseOverride` in its template). Without it the browser
 *   refuses every non-simple request to that resource before sending it;
 * - `DEFAULT_4XX` and `DEFAULT_5XX` are declared, and every gateway response of the API sets
 *   `Access-Control-Allow-Origin` (and `Vary: Origin` unless it is `'*'`). Without it a page cannot
 *   read why it was refused (a missing key, throttling, a malformed body): it sees a network error.
 *   A declared response type does not inherit DEFAULT_4XX's headers, so each one is checked.
 *
 * Coverage: no checkov, cfn_nag or Security Hub control checks CORS completeness.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { StackIndex } from "../lib/stack";
import { T } from "../lib/types";
import { GATEWAY_RESPONSE_TYPE } from "./gateway-responses";

const METHOD_RESPONSE = "aws:apigateway/methodResponse:MethodResponse";
const INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse";
const ALLOW_ORIGIN = "Access-Control-Allow-Origin";

const str = (value: unknown) => (typeof value === "string" ? value : "");
const record = (value: unknown) => (value && typeof value === "object" ? (value as Record<string, unknown>) : {});

/** A gateway response's mapping for a header, its name matched case-insensitively. */
function gatewayHeader(response: PolicyResource, name: string): string | undefined {
  const key = Object.keys(record(response.props.responseParameters)).find((k) => k.toLowerCase() === `gatewayresponse.header.${name.toLowerCase()}`);
  return key === undefined ? undefined : str(record(response.props.responseParameters)[key]);
}

/** Does this integration response set Access-Control-Allow-Origin, statically or in its template? */
function setsAllowOrigin(response: PolicyResource): boolean {
  const statically = Object.keys(record(response.props.responseParameters)).some((k) => k.toLowerCase() === `method.response.header.${ALLOW_ORIGIN.toLowerCase()}`);
  const templated = Object.values(record(response.props.responseTemplates)).some((t) => str(t).includes(`$context.responseOverride.header.${ALLOW_ORIGIN}`));
  return statically || templated;
}

export const corsComplete: StackValidationPolicy = {
  name: "apigateway-cors-complete",
  description:
    "A REST API that allows origins (a preflight method or a gateway response with Access-Control-Allow-Origin) answers preflights on every resource with a MOCK OPTIONS method open to browsers, and every gateway response, DEFAULT_4XX and DEFAULT_5XX included, carries Access-Control-Allow-Origin (with Vary: Origin unless it is '*').",
  remediationSteps:
    "Declare the preflight of each resource with components/orders/cors.ts `createPreflight` (OPTIONS, authorization NONE, no API key, MOCK integration, 200 method and integration responses that set the CORS headers), and give every aws.apigateway.Response of the API, DEFAULT_4XX and DEFAULT_5XX included, the `gatewayresponse.header.*` mappings of `gatewayResponseCorsParameters`.",
  validateStack: (args, report) => {
    const stack = new StackIndex(args.resources);
    const apis = new Set([...stack.of(T.method).map((m) => str(m.props.restApi)), ...stack.of(GATEWAY_RESPONSE_TYPE).map((r) => str(r.props.restApiId))]);
    for (const api of apis) {
      const methods = stack.of(T.method).filter((m) => str(m.props.restApi) === api);
      const responses = stack.of(GATEWAY_RESPONSE_TYPE).filter((r) => str(r.props.restApiId) === api);
      const preflights = methods.filter((m) => str(m.props.httpMethod) === "OPTIONS");
      if (preflights.length === 0 && !responses.some((r) => gatewayHeader(r, ALLOW_ORIGIN) !== undefined)) continue;

      const resources = [...new Set(methods.filter((m) => str(m.props.httpMethod) !== "OPTIONS").map((m) => str(m.props.resourceId)))];
      for (const resourceId of resources) {
        const called = methods.filter((m) => str(m.props.resourceId) === resourceId).map((m) => str(m.props.httpMethod)).join(", ");
        const preflight = preflights.find((m) => str(m.props.resourceId) === resourceId);
        if (!preflight) {
          report(`REST API ${api} allows origins, but resource ${resourceId} (${called}) has no OPTIONS method: browsers refuse every call to it that needs a preflight.`);
          continue;
        }
        if (str(preflight.props.authorization || "NONE") !== "NONE" || preflight.props.apiKeyRequired === true) {
          report(`The OPTIONS method of resource ${resourceId} requires authorization or an API key, which a browser's preflight never sends: set authorization NONE and apiKeyRequired false.`, preflight.urn);
        }
        const onPreflight = (type: string) => stack.of(type).filter((r) => str(r.props.resourceId) === resourceId && str(r.props.httpMethod) === "OPTIONS");
        const integration = onPreflight(T.integration)[0];
        if (integration?.props.type !== "MOCK") {
          report(`The OPTIONS method of resource ${resourceId} is integrated as ${str(integration?.props.type) || "nothing"}: make it a MOCK integration, so API Gateway answers preflights itself.`, preflight.urn);
        }
        if (!onPreflight(INTEGRATION_RESPONSE).some(setsAllowOrigin) || onPreflight(METHOD_RESPONSE).length === 0) {
          report(`The preflight of resource ${resourceId} never sets ${ALLOW_ORIGIN}: declare its 200 method response and an integration response that sets it.`, preflight.urn);
        }
      }

      for (const type of ["DEFAULT_4XX", "DEFAULT_5XX"]) {
        if (!responses.some((r) => r.props.responseType === type)) report(`REST API ${api} allows origins but declares no ${type} gateway response: AWS's own ${type.slice(-3)} answers carry no CORS headers, so pages cannot read them.`);
      }
      for (const response of responses) {
        const allowOrigin = gatewayHeader(response, ALLOW_ORIGIN);
        if (allowOrigin === undefined) report(`Gateway response ${str(response.props.responseType)} of REST API ${api} has no ${ALLOW_ORIGIN} header: a page sees a network error instead of the answer.`, response.urn);
        else if (allowOrigin !== "'*'" && gatewayHeader(response, "Vary") === undefined) report(`Gateway response ${str(response.props.responseType)} of REST API ${api} sets ${ALLOW_ORIGIN} to ${allowOrigin} without Vary: Origin: a cache may hand one origin's answer to another.`, response.urn);
      }
    }
  },
};

export const corsPolicies = [corsComplete];
