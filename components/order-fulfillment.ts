/**
 * OrderFulfillment (DOFS): an order API in front of a Step Functions workflow and a fulfillment
 * queue.
 *
 * ```
 * client ─x-api-key─▶ API Gateway (REST, regional; model-validated POST /order, GET /order/{id})
 *                        └─▶ orders-api ─StartExecution─▶ order workflow (Step Functions)
 *                               validate (orders-validate) ─▶ store (orders-store) ─▶ sqs:sendMessage
 *                                                                                      │
 *   fulfillment queue ─▶ orders-fulfillment ─▶ FULFILLED          (retries with backoff)│
 *          └─ after maxReceiveCount ─▶ fulfillment DLQ ─▶ orders-dlq ─▶ FAILED + failed_orders row
 *                                           └─ its own failures ─▶ dlq-failures queue (no consumer; for an operator)
 * ```
 *
 * Everything is named `dofs-<stack>-...` and encrypted with the unit's own customer managed key.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ordersApi } from "../functions/orders/api/definition";
import { handleFailedFulfillment } from "../functions/orders/dlq/definition";
import { fulfillOrder } from "../functions/orders/fulfillment/definition";
import { storeOrder } from "../functions/orders/store/definition";
import { validateOrder } from "../functions/orders/validate/definition";
import type { StackSettings } from "./config";
import type { WatchedSystem } from "./monitoring";
import { DLQ_RETENTION_SECONDS, VISIBILITY_TIMEOUT_FACTOR } from "./fifo-transaction-bus";
import type { LinkTarget, PolicyStatement } from "./grants";
import { ServiceKey, accountContext, denyInsecureTransport } from "./kms";
import { GATEWAY_RESPONSE_TEMPLATES, orderRequestJsonSchema } from "./order-api-model";
import { orderWorkflowDefinition } from "./order-workflow";
import { TypedFunction, XRAY_ACTIONS, physicalName } from "./typed-function";

/**
 * Actions Step Functions needs to deliver execution logs to CloudWatch Logs. They are the "vended
 * logs" delivery APIs, which have no resource-level permissions: IAM accepts only `Resource: "*"`
 * for them (AWS, "IAM policies for logging using CloudWatch Logs" in the Step Functions guide).
 */
export const STATE_MACHINE_LOG_DELIVERY_ACTIONS = [
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
];

/** X-Ray actions of a traced state machine; like Lambda's, they accept only `Resource: "*"`. */
export const STATE_MACHINE_XRAY_ACTIONS = [...XRAY_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets"];

/**
 * The access log line of the API stage: one JSON object per request.
 *
 * Access log formats are simple substitution too (no VTL, no escaping). The fields before the last
 * hold ids, times, numbers, statuses and codes that API Gateway produces itself. The last,
 * `validationError`, is `$context.error.validationErrorString`: the request validator's detail
 * (which field, and why), which the gateway responses cannot carry (see order-api-model.ts). It is
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

export interface OrderFulfillmentArgs {
  /** The stack's validated settings (success rate, API limits, workflow type, maxReceiveCount, ...). */
  settings: StackSettings;
  /**
   * Prefix of every physical name.
   * @default `dofs-<stack>`
   * @example "dofs-staging" → table "dofs-staging-orders"
   */
  namePrefix?: string;
  /**
   * The API stage name (the last path segment of the API URL).
   * @default the stack name
   */
  stageName?: string;
  /**
   * Escape hatch: adjust the underlying resources' args before they are created.
   * @default {}
   * @example { stateMachine: (args) => { args.tags = { team: "orders" }; } }
   */
  transform?: {
    stateMachine?: (args: aws.sfn.StateMachineArgs) => void;
    restApi?: (args: aws.apigateway.RestApiArgs) => void;
    usagePlan?: (args: aws.apigateway.UsagePlanArgs) => void;
    /** Both API methods (`args.httpMethod` tells which). */
    method?: (args: aws.apigateway.MethodArgs) => void;
  };
}

/** The unit's functions. */
export interface OrderFunctions {
  api: TypedFunction<typeof ordersApi>;
  validate: TypedFunction<typeof validateOrder>;
  store: TypedFunction<typeof storeOrder>;
  fulfillment: TypedFunction<typeof fulfillOrder>;
  deadLetter: TypedFunction<typeof handleFailedFulfillment>;
}

export class OrderFulfillment extends pulumi.ComponentResource {
  /** Encrypts the tables and the queues. */
  readonly key: ServiceKey;
  /** `dofs-<stack>-orders`: key `order_id`, index `customer_id-created_at`. */
  readonly ordersTable: aws.dynamodb.Table;
  /** `dofs-<stack>-failed-orders`: one row per `FAILED` order, key `order_id`. */
  readonly failedOrdersTable: aws.dynamodb.Table;
  /** `dofs-<stack>-idempotency`: `Idempotency-Key` → order id, expiring after a day. */
  readonly idempotencyTable: aws.dynamodb.Table;
  readonly fulfillmentQueue: aws.sqs.Queue;
  readonly fulfillmentDlq: aws.sqs.Queue;
  /** Where the DLQ handler's own failures are parked (no consumer). */
  readonly dlqFailuresQueue: aws.sqs.Queue;
  readonly functions: OrderFunctions;
  readonly stateMachine: aws.sfn.StateMachine;
  readonly stateMachineRole: aws.iam.Role;
  readonly stateMachinePolicy: aws.iam.RolePolicy;
  readonly restApi: aws.apigateway.RestApi;
  readonly stage: aws.apigateway.Stage;
  readonly apiKey: aws.apigateway.ApiKey;
  readonly usagePlan: aws.apigateway.UsagePlan;
  /** `https://<api id>.execute-api.<region>.amazonaws.com/<stage>`. */
  readonly apiUrl: pulumi.Output<string>;

  private readonly prefix: string;
  private readonly settings: StackSettings;

  constructor(name: string, args: OrderFulfillmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:OrderFulfillment", name, {}, opts);
    this.settings = args.settings;
    this.prefix = args.namePrefix ?? `dofs-${args.settings.stack}`;
    const stageName = args.stageName ?? args.settings.stack;

    this.key = new ServiceKey(`${name}-key`, {
      description:
        `Encrypts ${this.prefix} orders: tables and fulfillment queues. Step Functions writes the fulfillment queue ` +
        "through the state machine's IAM role (kms:GenerateDataKey and kms:Decrypt granted there), so no service principal is needed here",
      alias: `${this.prefix}-orders`,
    }, { parent: this });

    this.ordersTable = this.createTable(`${name}-orders`, "orders", "order_id", {
      attributes: [{ name: "customer_id", type: "S" }, { name: "created_at", type: "S" }],
      globalSecondaryIndexes: [{ name: "customer_id-created_at", hashKey: "customer_id", rangeKey: "created_at", projectionType: "ALL" }],
    });
    this.failedOrdersTable = this.createTable(`${name}-failed-orders`, "failed-orders", "order_id");
    this.idempotencyTable = this.createTable(`${name}-idempotency`, "idempotency", "idempotency_key", {
      ttl: { attributeName: "expires_at", enabled: true },
    });

    const queues = this.createQueues(name);
    this.fulfillmentQueue = queues.queue;
    this.fulfillmentDlq = queues.dlq;
    this.dlqFailuresQueue = queues.dlqFailures;

    const table = (t: aws.dynamodb.Table): LinkTarget => ({ arn: t.arn, name: t.name, kmsKeyArn: this.key.arn });
    const queue = (q: aws.sqs.Queue): LinkTarget => ({ arn: q.arn, url: q.url, kmsKeyArn: this.key.arn });
    const common = { settings: args.settings, namePrefix: this.prefix };
    const parent = { parent: this };

    const validate = new TypedFunction(`${name}-validate`, { ...common, definition: validateOrder, links: {} }, parent);
    const store = new TypedFunction(`${name}-store`, {
      ...common,
      definition: storeOrder,
      links: { orders: table(this.ordersTable), failedOrders: table(this.failedOrdersTable) },
    }, parent);
    const fulfillment = new TypedFunction(`${name}-fulfillment`, {
      ...common,
      definition: fulfillOrder,
      links: { orders: table(this.ordersTable), source: queue(this.fulfillmentQueue), deadLetter: queue(this.fulfillmentDlq) },
      // Only the rate: the outcome overrides are a test hook the deployed stack never sets.
      functionSettings: { fulfillmentSuccessRate: args.settings.fulfillmentSuccessRate },
      sqs: { maxReceiveCount: args.settings.maxReceiveCount },
    }, parent);
    const deadLetter = new TypedFunction(`${name}-dlq-handler`, {
      ...common,
      definition: handleFailedFulfillment,
      links: {
        orders: table(this.ordersTable),
        failedOrders: table(this.failedOrdersTable),
        source: queue(this.fulfillmentDlq),
        deadLetter: queue(this.dlqFailuresQueue),
      },
      sqs: { maxReceiveCount: args.settings.maxReceiveCount },
    }, parent);

    const workflow = this.createStateMachine(name, validate, store, args.transform?.stateMachine);
    this.stateMachine = workflow.stateMachine;
    this.stateMachineRole = workflow.role;
    this.stateMachinePolicy = workflow.policy;

    const api = new TypedFunction(`${name}-api`, {
      ...common,
      definition: ordersApi,
      links: { orders: table(this.ordersTable), idempotency: table(this.idempotencyTable), workflow: { arn: this.stateMachine.arn } },
    }, parent);
    this.functions = { api, validate, store, fulfillment, deadLetter };

    const gateway = this.createApi(name, api, stageName, args.transform);
    this.restApi = gateway.restApi;
    this.stage = gateway.stage;
    this.apiKey = gateway.apiKey;
    this.usagePlan = gateway.usagePlan;
    this.apiUrl = pulumi.interpolate`https://${this.restApi.id}.execute-api.${args.settings.region}.amazonaws.com/${this.stage.stageName}`;

    this.registerOutputs({
      apiUrl: this.apiUrl,
      ordersTable: this.ordersTable.name,
      failedOrdersTable: this.failedOrdersTable.name,
      stateMachineArn: this.stateMachine.arn,
      fulfillmentQueueUrl: this.fulfillmentQueue.url,
      fulfillmentDlqUrl: this.fulfillmentDlq.url,
    });
  }

  /** What the stack's Monitoring watches of DOFS: the API, the workflow, the queues and functions. */
  watched(): WatchedSystem {
    return {
      title: "OrderFulfillment",
      businessMetrics: "orders",
      apis: { orders: { name: this.restApi.name, stage: this.stage.stageName } },
      stateMachines: { workflow: this.stateMachine.arn },
      // The fulfillment DLQ is part of the normal failure path (orders-dlq turns each message into a
      // FAILED order), so it is watched like a working queue: an old message means orders-dlq is not
      // draining it. Only dlq-failures holds messages that failed for good.
      sourceQueues: { fulfillment: this.fulfillmentQueue.name, "fulfillment-dlq": this.fulfillmentDlq.name },
      deadLetterQueues: { "dlq-failures": this.dlqFailuresQueue.name },
      functions: Object.fromEntries(Object.entries(this.functions).map(([label, f]) => [label, f.functionName])),
    };
  }

  private createTable(
    resourceName: string,
    table: string,
    hashKey: string,
    extra: { attributes?: aws.types.input.dynamodb.TableAttribute[]; globalSecondaryIndexes?: aws.types.input.dynamodb.TableGlobalSecondaryIndex[]; ttl?: aws.types.input.dynamodb.TableTtl } = {},
  ): aws.dynamodb.Table {
    return new aws.dynamodb.Table(resourceName, {
      name: physicalName(this.prefix, table, 255),
      billingMode: "PAY_PER_REQUEST",
      hashKey,
      attributes: [{ name: hashKey, type: "S" }, ...(extra.attributes ?? [])],
      ...(extra.globalSecondaryIndexes ? { globalSecondaryIndexes: extra.globalSecondaryIndexes } : {}),
      ...(extra.ttl ? { ttl: extra.ttl } : {}),
      serverSideEncryption: { enabled: true, kmsKeyArn: this.key.arn },
      pointInTimeRecovery: { enabled: true },
    }, { parent: this });
  }

  /** Fulfillment queue → DLQ (after maxReceiveCount) → DLQ-failures queue (the DLQ handler's own dead letters). */
  private createQueues(name: string): { queue: aws.sqs.Queue; dlq: aws.sqs.Queue; dlqFailures: aws.sqs.Queue } {
    const { settings } = this;
    const parent = { parent: this };
    const encrypted = { kmsMasterKeyId: this.key.arn, kmsDataKeyReusePeriodSeconds: 300 };
    const visibilityTimeoutSeconds = VISIBILITY_TIMEOUT_FACTOR * settings.functionTimeoutSeconds;

    const dlqFailures = new aws.sqs.Queue(`${name}-fulfillment-dlq-failures`, {
      name: physicalName(this.prefix, "fulfillment-dlq-failures", 80),
      ...encrypted,
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
    }, parent);
    const dlq = new aws.sqs.Queue(`${name}-fulfillment-dlq`, {
      name: physicalName(this.prefix, "fulfillment-dlq", 80),
      ...encrypted,
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
      visibilityTimeoutSeconds,
      // Backstop for the DLQ handler crashing or timing out on every receive; its handled failures
      // are sent there by the SQS runtime with their reason.
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: dlqFailures.arn, maxReceiveCount: settings.maxReceiveCount }),
    }, parent);
    const queue = new aws.sqs.Queue(`${name}-fulfillment`, {
      name: physicalName(this.prefix, "fulfillment", 80),
      ...encrypted,
      messageRetentionSeconds: settings.queueRetentionSeconds,
      visibilityTimeoutSeconds,
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: settings.maxReceiveCount }),
    }, parent);

    new aws.sqs.RedriveAllowPolicy(`${name}-fulfillment-dlq-redrive-allow`, {
      queueUrl: dlq.url,
      redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [queue.arn] }),
    }, parent);
    new aws.sqs.RedriveAllowPolicy(`${name}-fulfillment-dlq-failures-redrive-allow`, {
      queueUrl: dlqFailures.url,
      redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [dlq.arn] }),
    }, parent);
    for (const [suffix, q] of [["fulfillment", queue], ["fulfillment-dlq", dlq], ["fulfillment-dlq-failures", dlqFailures]] as const) {
      new aws.sqs.QueuePolicy(`${name}-${suffix}-policy`, {
        queueUrl: q.url,
        policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [denyInsecureTransport("sqs", q.arn)] }),
      }, parent);
    }
    return { queue, dlq, dlqFailures };
  }

  /** The role's statements: exactly the workflow's Tasks, its queue and key, log delivery and tracing. */
  static stateMachineStatements(args: {
    functionArns: pulumi.Input<string>[];
    queueArn: pulumi.Input<string>;
    keyArn: pulumi.Input<string>;
  }): PolicyStatement[] {
    return [
      { Sid: "InvokeWorkflowFunctions", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: args.functionArns },
      { Sid: "SendToFulfillmentQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: args.queueArn },
      // The queue is encrypted with the unit's key and Step Functions sends as this role (IAM), so
      // the role needs the envelope actions on that key.
      { Sid: "FulfillmentQueueKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: args.keyArn },
      { Sid: "LogDelivery", Effect: "Allow", Action: STATE_MACHINE_LOG_DELIVERY_ACTIONS, Resource: "*" },
      { Sid: "Tracing", Effect: "Allow", Action: STATE_MACHINE_XRAY_ACTIONS, Resource: "*" },
    ];
  }

  private createStateMachine(
    name: string,
    validate: TypedFunction,
    store: TypedFunction,
    transform?: (args: aws.sfn.StateMachineArgs) => void,
  ): { stateMachine: aws.sfn.StateMachine; role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const { settings } = this;
    const parent = { parent: this };
    const { accountId, partition } = accountContext();
    const machineName = physicalName(this.prefix, "order-workflow", 80);

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-workflow-logs`, {
      // The /aws/vendedlogs/ prefix keeps the log delivery resource policy small (AWS's advice).
      name: `/aws/vendedlogs/states/${machineName}`,
      retentionInDays: settings.logRetentionDays,
    }, parent);

    const role = new aws.iam.Role(`${name}-workflow-role`, {
      name: physicalName(this.prefix, "order-workflow", 64),
      description: `Execution role of the ${machineName} state machine only`,
      assumeRolePolicy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { Service: "states.amazonaws.com" },
          Action: "sts:AssumeRole",
          // Only this account's state machine of this name may assume it (confused deputy).
          Condition: {
            StringEquals: { "aws:SourceAccount": accountId },
            ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${partition}:states:${settings.region}:${accountId}:stateMachine:${machineName}` },
          },
        }],
      }),
    }, parent);
    const policy = new aws.iam.RolePolicy(`${name}-workflow-policy`, {
      role: role.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: OrderFulfillment.stateMachineStatements({
          functionArns: [validate.function.arn, store.function.arn],
          queueArn: this.fulfillmentQueue.arn,
          keyArn: this.key.arn,
        }),
      }),
    }, parent);

    const definition = pulumi
      .all([validate.function.arn, store.function.arn, this.fulfillmentQueue.url])
      .apply(([validateFunctionArn, storeFunctionArn, fulfillmentQueueUrl]) =>
        JSON.stringify(orderWorkflowDefinition({ validateFunctionArn, storeFunctionArn, fulfillmentQueueUrl, taskTimeoutSeconds: settings.functionTimeoutSeconds + 5 })),
      );
    const machineArgs: aws.sfn.StateMachineArgs = {
      name: machineName,
      type: settings.stateMachineType,
      roleArn: role.arn,
      definition,
      // Execution data holds customer ids and items: kept out of the logs (it is in the history).
      loggingConfiguration: { logDestination: pulumi.interpolate`${logGroup.arn}:*`, includeExecutionData: false, level: "ALL" },
      tracingConfiguration: { enabled: true },
    };
    transform?.(machineArgs);
    const stateMachine = new aws.sfn.StateMachine(`${name}-workflow`, machineArgs, { parent: this, dependsOn: [policy, logGroup] });
    return { stateMachine, role, policy };
  }

  private createApi(
    name: string,
    api: TypedFunction,
    stageName: string,
    transform: OrderFulfillmentArgs["transform"],
  ): { restApi: aws.apigateway.RestApi; stage: aws.apigateway.Stage; apiKey: aws.apigateway.ApiKey; usagePlan: aws.apigateway.UsagePlan } {
    const { settings } = this;
    const parent = { parent: this };

    const restApiArgs: aws.apigateway.RestApiArgs = {
      name: physicalName(this.prefix, "api", 255),
      description: "DOFS: POST /order, GET /order/{id}",
      endpointConfiguration: { types: "REGIONAL" },
    };
    transform?.restApi?.(restApiArgs);
    const restApi = new aws.apigateway.RestApi(`${name}-api`, restApiArgs, parent);

    const orderResource = new aws.apigateway.Resource(`${name}-order-resource`, { restApi: restApi.id, parentId: restApi.rootResourceId, pathPart: "order" }, parent);
    const orderIdResource = new aws.apigateway.Resource(`${name}-order-id-resource`, { restApi: restApi.id, parentId: orderResource.id, pathPart: "{id}" }, parent);

    // The model checks the body's shape only; the value rules are the handler's (order-api-model.ts).
    const model = new aws.apigateway.Model(`${name}-order-model`, {
      restApi: restApi.id,
      name: "OrderRequest",
      description: "POST /order body shape (generated from the zod OrderShape; the handler checks the values)",
      contentType: "application/json",
      schema: JSON.stringify(orderRequestJsonSchema()),
    }, parent);
    const bodyValidator = new aws.apigateway.RequestValidator(`${name}-body-validator`, {
      restApi: restApi.id,
      name: "body",
      validateRequestBody: true,
      validateRequestParameters: false,
    }, parent);
    const paramsValidator = new aws.apigateway.RequestValidator(`${name}-params-validator`, {
      restApi: restApi.id,
      name: "parameters",
      validateRequestBody: false,
      validateRequestParameters: true,
    }, parent);

    const postOrderArgs: aws.apigateway.MethodArgs = {
      restApi: restApi.id,
      resourceId: orderResource.id,
      httpMethod: "POST",
      authorization: "NONE",
      apiKeyRequired: true,
      requestModels: { "application/json": model.name },
      requestValidatorId: bodyValidator.id,
    };
    const getOrderArgs: aws.apigateway.MethodArgs = {
      restApi: restApi.id,
      resourceId: orderIdResource.id,
      httpMethod: "GET",
      authorization: "NONE",
      apiKeyRequired: true,
      requestParameters: { "method.request.path.id": true },
      requestValidatorId: paramsValidator.id,
    };
    transform?.method?.(postOrderArgs);
    transform?.method?.(getOrderArgs);
    const postOrder = new aws.apigateway.Method(`${name}-post-order`, postOrderArgs, parent);
    const getOrder = new aws.apigateway.Method(`${name}-get-order`, getOrderArgs, parent);
    const integrations = [postOrder, getOrder].map(
      (method, i) =>
        new aws.apigateway.Integration(`${name}-${i === 0 ? "post" : "get"}-order-integration`, {
          restApi: restApi.id,
          resourceId: method.resourceId,
          httpMethod: method.httpMethod,
          type: "AWS_PROXY",
          integrationHttpMethod: "POST",
          uri: api.function.invokeArn,
        }, parent),
    );

    // The gateway may invoke the API function for exactly these two routes of this stage.
    for (const [suffix, route] of [["post-order", "POST/order"], ["get-order", "GET/order/*"]] as const) {
      new aws.lambda.Permission(`${name}-${suffix}-permission`, {
        action: "lambda:InvokeFunction",
        function: api.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${restApi.executionArn}/${stageName}/${route}`,
      }, parent);
    }

    // Gateway-made errors answer JSON like the function does. Simple substitution only (AWS
    // evaluates no VTL in gateway responses): see order-api-model.ts.
    const gatewayResponses = Object.entries(GATEWAY_RESPONSE_TEMPLATES).map(([responseType, template]) =>
      new aws.apigateway.Response(`${name}-${responseType.toLowerCase().replaceAll("_", "-")}`, {
        restApiId: restApi.id,
        responseType,
        responseTemplates: { "application/json": template },
      }, parent),
    );

    // A deployment is a snapshot: the stage serves it until a new one is created. So the trigger
    // hashes everything that defines the deployed API, as deployed values (a replaced function's
    // new invoke ARN, a method's key requirement, a validator, a template), not just constants.
    const definition = pulumi.all([
      [postOrder, getOrder].map((m) =>
        pulumi.all([m.id, m.httpMethod, m.authorization, m.apiKeyRequired, m.requestValidatorId, m.requestParameters, m.requestModels])),
      integrations.map((i) => pulumi.all([i.id, i.httpMethod, i.type, i.integrationHttpMethod, i.uri])),
      [bodyValidator, paramsValidator].map((v) => pulumi.all([v.id, v.validateRequestBody, v.validateRequestParameters])),
      pulumi.all([model.name, model.contentType, model.schema]),
      gatewayResponses.map((r) => pulumi.all([r.responseType, r.statusCode, r.responseTemplates, r.responseParameters])),
    ]);
    const deployment = new aws.apigateway.Deployment(`${name}-deployment`, {
      restApi: restApi.id,
      description: "DOFS API",
      triggers: { redeployment: definition.apply((values) => createHash("sha256").update(JSON.stringify(values)).digest("hex")) },
    }, { parent: this, dependsOn: [postOrder, getOrder, ...integrations, ...gatewayResponses] });

    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-api-access-logs`, {
      name: `/aws/apigateway/${physicalName(this.prefix, "api", 255)}/${stageName}`,
      retentionInDays: settings.logRetentionDays,
    }, parent);
    const stage = new aws.apigateway.Stage(`${name}-stage`, {
      restApi: restApi.id,
      deployment: deployment.id,
      stageName,
      xrayTracingEnabled: true,
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    }, parent);

    const apiKey = new aws.apigateway.ApiKey(`${name}-api-key`, {
      name: physicalName(this.prefix, "api-key", 1024),
      description: "DOFS API key (stack output apiKey)",
      enabled: true,
    }, parent);
    const usagePlanArgs: aws.apigateway.UsagePlanArgs = {
      name: physicalName(this.prefix, "usage-plan", 255),
      description: "Throttles the DOFS API (apiRateLimit, apiBurstLimit)",
      apiStages: [{ apiId: restApi.id, stage: stage.stageName }],
      throttleSettings: { rateLimit: settings.apiRateLimit, burstLimit: settings.apiBurstLimit },
    };
    transform?.usagePlan?.(usagePlanArgs);
    const usagePlan = new aws.apigateway.UsagePlan(`${name}-usage-plan`, usagePlanArgs, parent);
    new aws.apigateway.UsagePlanKey(`${name}-usage-plan-key`, { keyId: apiKey.id, keyType: "API_KEY", usagePlanId: usagePlan.id }, parent);
    return { restApi, stage, apiKey, usagePlan };
  }
}
