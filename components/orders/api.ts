/**
 * OrderApi: the DOFS REST API in front of the orders-api function.
 *
 * ```
 * client ─x-api-key─▶ API Gateway (regional) ─┬─ POST /order       (body model: OrderRequest shape) ─┐
 *                     usage plan (throttling) └─ GET /order/{id}  (path parameter required) ────────┴─▶ orders-api (AWS_PROXY)
 * ```
 *
 * The gateway checks the key and the body's shape and answers its own errors as JSON
 * (`api-model.ts`); the function checks the values. Every request is access-logged and traced.
 * With `corsAllowOrigins`, both resources answer preflights and every gateway response carries
 * the CORS headers (`cors.ts`).
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/aliases";
import { physicalName } from "../lib/naming";
import type { StackSettings } from "../lib/settings";
import type { Transform } from "../lib/transform";
import { transformed } from "../lib/transform";
import type { TypedFunction } from "../lib/typed-function";
import { GATEWAY_RESPONSE_TEMPLATES, orderRequestJsonSchema } from "./api-model";
import { createPreflight, gatewayResponseCorsParameters } from "./cors";
import type { Preflight } from "./cors";

/**
 * The access log line of the API stage: one JSON object per request.
 *
 * Access log formats are simple substitution too (no VTL, no escaping). The fields before the last
 * hold ids, times, numbers, statuses and codes that API Gateway produces itself. The last,
 * `validationError`, is `$context.error.validationErrorString`: the request validator's detail
 * (which field, and why), which the gateway responses cannot carry (see api-model.ts). It is
 * raw text with double quotes and the client's own input, e.g. `[object has missing required
 * properties (["items"])]`, and AWS offers no escaped form of it: on a refused body it makes the
 * line invalid JSON. It cannot be made safe, so it is the last field: everything before it reads
 * the same on every line, and a reader that needs the detail takes the text after
 * `"validationError":"` up to the final `"}`.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  extendedRequestId: "$context.extendedRequestId",
  ip: "$context.identity.sourceIp",
  apiKeyId: "$context.identity.apiKeyId",
  requestTime: "$context.requestTime",
  httpMethod: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  status: "$context.status",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  integrationStatus: "$context.integration.status",
  integrationError: "$context.integration.error",
  errorType: "$context.error.responseType",
  // Must stay last (see above).
  validationError: "$context.error.validationErrorString",
});

/**
 * The log group API Gateway writes a REST stage's execution logs to: `API-Gateway-Execution-Logs_<rest
 * api id>/<stage>`. API Gateway creates it itself (no retention, no key) unless it exists.
 */
export const executionLogGroupName = (restApiId: pulumi.Input<string>, stageName: string) => pulumi.interpolate`API-Gateway-Execution-Logs_${restApiId}/${stageName}`;
/** The execution log groups of a stage name, for any REST API (the key is created before the API exists). */
export const executionLogGroupPattern = (stageName: string) => `API-Gateway-Execution-Logs_*/${stageName}`;

/**
 * The stage's execution logging (method settings for every method): errors only, per-method
 * metrics, and never data tracing, which would write whole requests and responses (customer ids,
 * items) into the logs.
 */
export const EXECUTION_LOGGING = { loggingLevel: "ERROR", metricsEnabled: true, dataTraceEnabled: false } as const;

export interface OrderApiArgs {
  /** The stack's settings: throttling (`apiRateLimit`, `apiBurstLimit`), log retention and CORS (`corsAllowOrigins`). */
  settings: StackSettings;
  /**
   * Prefix of every physical name.
   * @example "dofs-dev" → API "dofs-dev-api"
   */
  namePrefix: string;
  /** The function behind both routes (Lambda proxy integration). */
  handler: TypedFunction;
  /**
   * ARN of the key that encrypts the access and execution log groups (the unit's key, whose policy
   * admits CloudWatch Logs for them).
   * @default none (CloudWatch Logs' own encryption; the policy pack requires a key)
   */
  logKmsKeyArn?: pulumi.Input<string>;
  /**
   * The stage name: the last path segment of the API URL.
   * @example "dev" → `https://<id>.execute-api.<region>.amazonaws.com/dev`
   */
  stageName: string;
  /**
   * The component its resources were declared under before this component existed (their old
   * URNs stay as aliases, so a deployed stack updates in place).
   * @default none
   */
  formerParent?: pulumi.Resource;
  /**
   * Escape hatch: adjust the underlying resources' args before they are created.
   * @default {}
   * @example { usagePlan: (args) => { args.quotaSettings = { limit: 10_000, period: "DAY" }; } }
   */
  transform?: {
    restApi?: Transform<aws.apigateway.RestApiArgs>;
    usagePlan?: Transform<aws.apigateway.UsagePlanArgs>;
    /** Both API methods (`args.httpMethod` tells which). */
    method?: Transform<aws.apigateway.MethodArgs>;
  };
}

/** One route: its method and its integration with the handler. */
interface Route {
  method: aws.apigateway.Method;
  integration: aws.apigateway.Integration;
}

/**
 * Named after its unit (e.g. `orders`): its resources keep the logical names they had when the
 * unit declared them itself (`orders-api`, `orders-stage`, ...).
 */
export class OrderApi extends pulumi.ComponentResource {
  readonly restApi: aws.apigateway.RestApi;
  readonly stage: aws.apigateway.Stage;
  /** Execution logging of every method of the stage (`EXECUTION_LOGGING`). */
  readonly methodSettings: aws.apigateway.MethodSettings;
  /** The key clients send as `x-api-key` (stack output `apiKey`). */
  readonly apiKey: aws.apigateway.ApiKey;
  readonly usagePlan: aws.apigateway.UsagePlan;
  /** `https://<api id>.execute-api.<region>.amazonaws.com/<stage>`. */
  readonly url: pulumi.Output<string>;

  private readonly child: pulumi.CustomResourceOptions;

  constructor(private readonly unit: string, private readonly args: OrderApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:OrderApi", unit, {}, opts);
    this.child = childOf(this, args.formerParent);
    this.restApi = new aws.apigateway.RestApi(`${unit}-api`, transformed<aws.apigateway.RestApiArgs>({
      name: physicalName(args.namePrefix, "api", 255),
      description: "DOFS: POST /order, GET /order/{id}",
      endpointConfiguration: { types: "REGIONAL" },
    }, args.transform?.restApi), this.child);

    const { routes, validators, model, resources } = this.createRoutes();
    this.permitGateway();
    const preflights = this.createPreflights(resources);
    const gatewayResponses = this.createGatewayResponses();
    const deployment = this.createDeployment(routes, validators, model, gatewayResponses, preflights);
    this.stage = this.createStage(deployment);
    this.methodSettings = this.createExecutionLogging();
    ({ apiKey: this.apiKey, usagePlan: this.usagePlan } = this.createKeyAndUsagePlan());
    this.url = pulumi.interpolate`https://${this.restApi.id}.execute-api.${args.settings.region}.amazonaws.com/${this.stage.stageName}`;
    this.registerOutputs({ url: this.url });
  }

  /** `/order` (POST, body model) and `/order/{id}` (GET, path parameter), both behind the API key. */
  private createRoutes(): {
    routes: Route[];
    validators: aws.apigateway.RequestValidator[];
    model: aws.apigateway.Model;
    resources: { order: aws.apigateway.Resource; orderId: aws.apigateway.Resource };
  } {
    const { unit, restApi, child } = this;
    const orderResource = new aws.apigateway.Resource(`${unit}-order-resource`, { restApi: restApi.id, parentId: restApi.rootResourceId, pathPart: "order" }, child);
    const orderIdResource = new aws.apigateway.Resource(`${unit}-order-id-resource`, { restApi: restApi.id, parentId: orderResource.id, pathPart: "{id}" }, child);

    // The model checks the body's shape only; the value rules are the handler's (api-model.ts).
    const model = new aws.apigateway.Model(`${unit}-order-model`, {
      restApi: restApi.id,
      name: "OrderRequest",
      description: "POST /order body shape (generated from the zod OrderShape; the handler checks the values)",
      contentType: "application/json",
      schema: JSON.stringify(orderRequestJsonSchema()),
    }, child);
    const validator = (suffix: string, name: string, body: boolean) =>
      new aws.apigateway.RequestValidator(`${unit}-${suffix}`, { restApi: restApi.id, name, validateRequestBody: body, validateRequestParameters: !body }, child);
    const bodyValidator = validator("body-validator", "body", true);
    const paramsValidator = validator("params-validator", "parameters", false);

    const routes = [
      this.createRoute("post-order", {
        restApi: restApi.id,
        resourceId: orderResource.id,
        httpMethod: "POST",
        authorization: "NONE",
        apiKeyRequired: true,
        requestModels: { "application/json": model.name },
        requestValidatorId: bodyValidator.id,
      }),
      this.createRoute("get-order", {
        restApi: restApi.id,
        resourceId: orderIdResource.id,
        httpMethod: "GET",
        authorization: "NONE",
        apiKeyRequired: true,
        requestParameters: { "method.request.path.id": true },
        requestValidatorId: paramsValidator.id,
      }),
    ];
    return { routes, validators: [bodyValidator, paramsValidator], model, resources: { order: orderResource, orderId: orderIdResource } };
  }

  /** With allowed origins, each resource answers preflights for its own methods (none without). */
  private createPreflights(resources: { order: aws.apigateway.Resource; orderId: aws.apigateway.Resource }): Preflight[] {
    const origins = this.args.settings.corsAllowOrigins;
    if (origins.length === 0) return [];
    return [
      createPreflight(`${this.unit}-order`, { restApi: this.restApi.id, resourceId: resources.order.id, methods: ["POST"], origins }, this.child),
      createPreflight(`${this.unit}-order-id`, { restApi: this.restApi.id, resourceId: resources.orderId.id, methods: ["GET"], origins }, this.child),
    ];
  }

  private createRoute(label: string, methodArgs: aws.apigateway.MethodArgs): Route {
    const method = new aws.apigateway.Method(`${this.unit}-${label}`, transformed(methodArgs, this.args.transform?.method), this.child);
    const integration = new aws.apigateway.Integration(`${this.unit}-${label}-integration`, {
      restApi: this.restApi.id,
      resourceId: method.resourceId,
      httpMethod: method.httpMethod,
      type: "AWS_PROXY",
      integrationHttpMethod: "POST",
      uri: this.args.handler.function.invokeArn,
    }, this.child);
    return { method, integration };
  }

  /** The gateway may invoke the handler for exactly these two routes of this stage. */
  private permitGateway(): void {
    for (const [label, route] of [["post-order", "POST/order"], ["get-order", "GET/order/*"]] as const) {
      new aws.lambda.Permission(`${this.unit}-${label}-permission`, {
        action: "lambda:InvokeFunction",
        function: this.args.handler.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.restApi.executionArn}/${this.args.stageName}/${route}`,
      }, this.child);
    }
  }

  /**
   * Gateway-made errors answer JSON like the function does. Simple substitution only (AWS evaluates
   * no VTL in gateway responses): see api-model.ts. With allowed origins each carries the CORS
   * headers, so a page can read why it was refused (a response type declared here does not inherit
   * DEFAULT_4XX's headers, so every one of them carries them).
   */
  private createGatewayResponses(): aws.apigateway.Response[] {
    const cors = gatewayResponseCorsParameters(this.args.settings.corsAllowOrigins);
    return Object.entries(GATEWAY_RESPONSE_TEMPLATES).map(([responseType, template]) =>
      new aws.apigateway.Response(`${this.unit}-${responseType.toLowerCase().replaceAll("_", "-")}`, {
        restApiId: this.restApi.id,
        responseType,
        responseTemplates: { "application/json": template },
        ...(Object.keys(cors).length ? { responseParameters: cors } : {}),
      }, this.child),
    );
  }

  /**
   * A deployment is a snapshot: the stage serves it until a new one is created. So the trigger
   * hashes everything that defines the deployed API, as deployed values (a replaced function's new
   * invoke ARN, a method's key requirement, a validator, a template), not just constants.
   */
  private createDeployment(
    routes: Route[],
    validators: aws.apigateway.RequestValidator[],
    model: aws.apigateway.Model,
    gatewayResponses: aws.apigateway.Response[],
    preflights: Preflight[],
  ): aws.apigateway.Deployment {
    const methods = routes.map((r) => r.method);
    const integrations = routes.map((r) => r.integration);
    const preflightParts = preflights.flatMap((p) => [p.method, p.integration, p.methodResponse, p.integrationResponse]);
    const parts: pulumi.Input<unknown>[] = [
      methods.map((m) => pulumi.all([m.id, m.httpMethod, m.authorization, m.apiKeyRequired, m.requestValidatorId, m.requestParameters, m.requestModels])),
      integrations.map((i) => pulumi.all([i.id, i.httpMethod, i.type, i.integrationHttpMethod, i.uri])),
      validators.map((v) => pulumi.all([v.id, v.validateRequestBody, v.validateRequestParameters])),
      pulumi.all([model.name, model.contentType, model.schema]),
      gatewayResponses.map((r) => pulumi.all([r.responseType, r.statusCode, r.responseTemplates, r.responseParameters])),
    ];
    // Only with CORS: a stack without it keeps the hash (and the deployment) it had.
    if (preflights.length) {
      parts.push(preflights.map((p) => pulumi.all([p.method.id, p.integration.type, p.integration.requestTemplates, p.methodResponse.responseParameters, p.integrationResponse.responseParameters, p.integrationResponse.responseTemplates])));
    }
    const definition = pulumi.all(parts);
    return new aws.apigateway.Deployment(`${this.unit}-deployment`, {
      restApi: this.restApi.id,
      description: "DOFS API",
      triggers: { redeployment: definition.apply((values) => createHash("sha256").update(JSON.stringify(values)).digest("hex")) },
    }, { ...this.child, dependsOn: [...methods, ...integrations, ...gatewayResponses, ...preflightParts] });
  }

  /** The stage, X-Ray traced, with one JSON access log line per request. */
  private createStage(deployment: aws.apigateway.Deployment): aws.apigateway.Stage {
    const { settings, namePrefix, stageName } = this.args;
    const accessLogs = new aws.cloudwatch.LogGroup(`${this.unit}-api-access-logs`, {
      name: `/aws/apigateway/${physicalName(namePrefix, "api", 255)}/${stageName}`,
      retentionInDays: settings.logRetentionDays,
      ...(this.args.logKmsKeyArn ? { kmsKeyId: this.args.logKmsKeyArn } : {}),
    }, this.child);
    return new aws.apigateway.Stage(`${this.unit}-stage`, {
      restApi: this.restApi.id,
      deployment: deployment.id,
      stageName,
      xrayTracingEnabled: true,
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    }, this.child);
  }

  /**
   * Execution logs at ERROR with per-method metrics, into a log group declared here first (with
   * retention and the unit's key), so API Gateway never creates it without them.
   */
  private createExecutionLogging(): aws.apigateway.MethodSettings {
    const { settings, stageName } = this.args;
    const executionLogs = new aws.cloudwatch.LogGroup(`${this.unit}-api-execution-logs`, {
      name: executionLogGroupName(this.restApi.id, stageName),
      retentionInDays: settings.logRetentionDays,
      ...(this.args.logKmsKeyArn ? { kmsKeyId: this.args.logKmsKeyArn } : {}),
    }, this.child);
    return new aws.apigateway.MethodSettings(`${this.unit}-stage-settings`, {
      restApi: this.restApi.id,
      stageName: this.stage.stageName,
      methodPath: "*/*",
      settings: { ...EXECUTION_LOGGING },
    }, { ...this.child, dependsOn: [executionLogs] });
  }

  /** The API key and the usage plan that throttles it (`apiRateLimit`, `apiBurstLimit`). */
  private createKeyAndUsagePlan(): { apiKey: aws.apigateway.ApiKey; usagePlan: aws.apigateway.UsagePlan } {
    const { settings, namePrefix } = this.args;
    const apiKey = new aws.apigateway.ApiKey(`${this.unit}-api-key`, {
      name: physicalName(namePrefix, "api-key", 1024),
      description: "DOFS API key (stack output apiKey)",
      enabled: true,
    }, this.child);
    const usagePlan = new aws.apigateway.UsagePlan(`${this.unit}-usage-plan`, transformed<aws.apigateway.UsagePlanArgs>({
      name: physicalName(namePrefix, "usage-plan", 255),
      description: "Throttles the DOFS API (apiRateLimit, apiBurstLimit)",
      apiStages: [{ apiId: this.restApi.id, stage: this.stage.stageName }],
      throttleSettings: { rateLimit: settings.apiRateLimit, burstLimit: settings.apiBurstLimit },
    }, this.args.transform?.usagePlan), this.child);
    new aws.apigateway.UsagePlanKey(`${this.unit}-usage-plan-key`, { keyId: apiKey.id, keyType: "API_KEY", usagePlanId: usagePlan.id }, this.child);
    return { apiKey, usagePlan };
  }
}
