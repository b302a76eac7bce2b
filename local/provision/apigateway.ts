/**
 * API Gateway (REST): the RestApi, its resources, methods, integrations (with their method and
 * integration responses), models, request validators, stages, API keys, usage plans and gateway
 * responses go into the local API Gateway
 * registry (local/services/api-gateway/), which serves each API on its own port. Stages return
 * their local invoke URL (`http://127.0.0.1:<port>/<stage>`), so `apiUrl` is a real address.
 */
import { randomBytes } from "node:crypto";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import { INTEGRATION_TIMEOUT_MS, compileModelSchema, methodKey } from "../services/api-gateway";
import type { LocalDeployment } from "./context";
import { asNumber, asRecord, asString, plainInputs, randomId } from "./context";

/** A reference input: an id string, or a resource reference (`{ urn, id }`). */
function refId(value: unknown): string {
  if (typeof value === "string") return value;
  const id = asRecord(value).id;
  if (typeof id === "string") return id;
  throw new Error(`Expected a resource id, got ${JSON.stringify(value)}`);
}

function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(asRecord(value)).map(([k, v]) => [k, String(v)]));
}

type Handler = (inputs: Record<string, unknown>, deployment: LocalDeployment, base: MockResourceResult, args: MockResourceArgs) => Promise<MockResourceResult> | MockResourceResult;

const handlers: Record<string, Handler> = {
  "aws:apigateway/restApi:RestApi": async (inputs, deployment, base) => {
    const id = randomId();
    const rootResourceId = randomId();
    const name = asString(inputs.name) ?? (base.state.name as string);
    if (inputs.body !== undefined) deployment.options.log(`[api ${name}] an OpenAPI body is not emulated locally; declare resources and methods instead`);
    await deployment.apis.createApi(id, name, rootResourceId);
    const { region, accountId } = deployment.options;
    return {
      id,
      state: {
        ...base.state,
        id,
        name,
        rootResourceId,
        arn: `arn:aws:apigateway:${region}::/restapis/${id}`,
        executionArn: `arn:aws:execute-api:${region}:${accountId}:${id}`,
        createdDate: new Date().toISOString(),
      },
    };
  },
  "aws:apigateway/resource:Resource": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const id = randomId();
    api.resources.set(id, { id, parentId: refId(inputs.parentId), pathPart: String(inputs.pathPart) });
    return { id, state: { ...base.state, id, path: deployment.apis.resourcePath(api, id) } };
  },
  "aws:apigateway/method:Method": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const resourceId = refId(inputs.resourceId);
    const httpMethod = String(inputs.httpMethod).toUpperCase();
    api.methods.set(methodKey(resourceId, httpMethod), {
      resourceId,
      httpMethod,
      apiKeyRequired: inputs.apiKeyRequired === true,
      authorization: asString(inputs.authorization) ?? "NONE",
      requestModels: stringMap(inputs.requestModels),
      requestParameters: Object.fromEntries(Object.entries(asRecord(inputs.requestParameters)).map(([k, v]) => [k, v === true])),
      requestValidatorId: inputs.requestValidatorId === undefined ? undefined : refId(inputs.requestValidatorId),
    });
    if (!["NONE", "AWS_IAM"].includes(asString(inputs.authorization) ?? "NONE")) {
      deployment.options.log(`[api ${api.name}] ${httpMethod}: authorization ${String(inputs.authorization)} is not emulated locally (requests are not authorized)`);
    }
    const id = `agm-${api.id}-${resourceId}-${httpMethod}`;
    return { id, state: { ...base.state, id } };
  },
  "aws:apigateway/integration:Integration": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const resourceId = refId(inputs.resourceId);
    const httpMethod = String(inputs.httpMethod).toUpperCase();
    api.integrations.set(methodKey(resourceId, httpMethod), {
      resourceId,
      httpMethod,
      type: asString(inputs.type) ?? "AWS_PROXY",
      uri: asString(inputs.uri),
      timeoutMilliseconds: asNumber(inputs.timeoutMilliseconds) ?? INTEGRATION_TIMEOUT_MS,
      requestTemplates: stringMap(inputs.requestTemplates),
    });
    const id = `agi-${api.id}-${resourceId}-${httpMethod}`;
    return { id, state: { ...base.state, id } };
  },
  "aws:apigateway/methodResponse:MethodResponse": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const resourceId = refId(inputs.resourceId);
    const httpMethod = String(inputs.httpMethod).toUpperCase();
    const statusCode = String(inputs.statusCode);
    const headers = Object.fromEntries(
      Object.entries(asRecord(inputs.responseParameters))
        .filter(([k]) => k.startsWith("method.response.header."))
        .map(([k, v]) => [k.slice("method.response.header.".length), v === true]),
    );
    api.methodResponses.set(`${methodKey(resourceId, httpMethod)} ${statusCode}`, { statusCode, headers });
    const id = `agmr-${api.id}-${resourceId}-${httpMethod}-${statusCode}`;
    return { id, state: { ...base.state, id } };
  },
  "aws:apigateway/integrationResponse:IntegrationResponse": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const resourceId = refId(inputs.resourceId);
    const httpMethod = String(inputs.httpMethod).toUpperCase();
    const statusCode = String(inputs.statusCode);
    const key = methodKey(resourceId, httpMethod);
    const responses = (api.integrationResponses.get(key) ?? []).filter((r) => r.statusCode !== statusCode);
    responses.push({ statusCode, selectionPattern: asString(inputs.selectionPattern), responseParameters: stringMap(inputs.responseParameters), responseTemplates: stringMap(inputs.responseTemplates) });
    api.integrationResponses.set(key, responses);
    const id = `agir-${api.id}-${resourceId}-${httpMethod}-${statusCode}`;
    return { id, state: { ...base.state, id } };
  },
  "aws:apigateway/model:Model": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const name = String(inputs.name);
    let validate: (value: unknown) => string[];
    try {
      validate = compileModelSchema(inputs.schema ?? "{}");
    } catch (error) {
      throw new Error(`Model ${name}: the local cloud cannot compile its JSON schema: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    api.models.set(name, { name, contentType: asString(inputs.contentType) ?? "application/json", validate });
    const id = randomId();
    return { id, state: { ...base.state, id, name } };
  },
  "aws:apigateway/requestValidator:RequestValidator": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const id = randomId(6);
    api.validators.set(id, { id, validateRequestBody: inputs.validateRequestBody === true, validateRequestParameters: inputs.validateRequestParameters === true });
    return { id, state: { ...base.state, id } };
  },
  "aws:apigateway/deployment:Deployment": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const id = randomId();
    return { id, state: { ...base.state, id, createdDate: new Date().toISOString(), executionArn: `arn:aws:execute-api:${deployment.region}:${deployment.options.accountId}:${api.id}/` } };
  },
  "aws:apigateway/stage:Stage": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApi));
    const stageName = String(inputs.stageName);
    api.stages.set(stageName, { stageName, variables: stringMap(inputs.variables) });
    const { region, accountId } = deployment.options;
    const id = `ags-${api.id}-${stageName}`;
    return {
      id,
      state: {
        ...base.state,
        id,
        invokeUrl: deployment.apis.invokeUrl(api.id, stageName),
        executionArn: `arn:aws:execute-api:${region}:${accountId}:${api.id}/${stageName}`,
        arn: `arn:aws:apigateway:${region}::/restapis/${api.id}/stages/${stageName}`,
      },
    };
  },
  "aws:apigateway/apiKey:ApiKey": (inputs, deployment, base) => {
    const id = randomId();
    const value = asString(inputs.value) ?? randomBytes(30).toString("base64url").slice(0, 40);
    deployment.apis.apiKeys.set(id, { id, value, enabled: inputs.enabled !== false });
    return { id, state: { ...base.state, id, value, arn: `arn:aws:apigateway:${deployment.region}::/apikeys/${id}` } };
  },
  "aws:apigateway/usagePlan:UsagePlan": (inputs, deployment, base) => {
    const id = randomId(6);
    const throttle = asRecord(inputs.throttleSettings);
    const apiStages = (Array.isArray(inputs.apiStages) ? inputs.apiStages : []).map((s) => {
      const stage = asRecord(s);
      return { apiId: refId(stage.apiId), stage: String(stage.stage) };
    });
    if (inputs.quotaSettings !== undefined) deployment.options.log(`[api] usage plan ${String(inputs.name ?? id)}: quotas are not emulated locally (rate and burst limits are)`);
    deployment.apis.usagePlans.set(id, { id, apiStages, rateLimit: asNumber(throttle.rateLimit), burstLimit: asNumber(throttle.burstLimit) });
    return { id, state: { ...base.state, id, arn: `arn:aws:apigateway:${deployment.region}::/usageplans/${id}` } };
  },
  "aws:apigateway/usagePlanKey:UsagePlanKey": (inputs, deployment, base) => {
    const keyId = refId(inputs.keyId);
    const planId = refId(inputs.usagePlanId);
    const plans = deployment.apis.planKeys.get(keyId) ?? new Set<string>();
    plans.add(planId);
    deployment.apis.planKeys.set(keyId, plans);
    const key = deployment.apis.apiKeys.get(keyId);
    return { id: keyId, state: { ...base.state, id: keyId, value: key?.value } };
  },
  "aws:apigateway/response:Response": (inputs, deployment, base) => {
    const api = deployment.apis.api(refId(inputs.restApiId));
    const type = String(inputs.responseType);
    api.gatewayResponses.set(type, {
      statusCode: asNumber(inputs.statusCode),
      templates: stringMap(inputs.responseTemplates),
      headers: Object.fromEntries(
        Object.entries(stringMap(inputs.responseParameters))
          .filter(([k]) => k.startsWith("gatewayresponse.header."))
          .map(([k, v]) => [k.slice("gatewayresponse.header.".length), v]),
      ),
    });
    const id = `aggr-${api.id}-${type}`;
    return { id, state: { ...base.state, id } };
  },
};

/** The API Gateway types served locally. */
export const API_GATEWAY_TYPES = Object.keys(handlers);

export async function provisionApiGateway(args: MockResourceArgs, deployment: LocalDeployment): Promise<MockResourceResult> {
  const handler = handlers[args.type];
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  if (!handler) return base;
  return handler(inputs, deployment, base, args);
}
