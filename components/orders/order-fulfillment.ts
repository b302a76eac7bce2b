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
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ordersApi } from "../../functions/orders/api/definition";
import { handleFailedFulfillment } from "../../functions/orders/dlq/definition";
import { fulfillOrder } from "../../functions/orders/fulfillment/definition";
import { storeOrder } from "../../functions/orders/store/definition";
import { validateOrder } from "../../functions/orders/validate/definition";
import { DLQ_RETENTION_SECONDS, EncryptedQueue, VISIBILITY_TIMEOUT_FACTOR } from "../lib/encrypted-queue";
import type { LinkTarget } from "../lib/grants";
import { ServiceKey, accountContext, cloudWatchLogsKeyUser } from "../lib/keys";
import { physicalName } from "../lib/naming";
import { tableProtection } from "../lib/tables";
import type { DataClass } from "../lib/tables";
import type { StackSettings } from "../lib/settings";
import type { Transform } from "../lib/transform";
import { transformed } from "../lib/transform";
import { TypedFunction } from "../lib/typed-function";
import type { WatchedSystem } from "../monitoring/watched";
import { OrderApi, executionLogGroupPattern } from "./api";
import type { OrderApiArgs } from "./api";
import { OrderWorkflow } from "./workflow";
import type { OrderWorkflowArgs } from "./workflow";

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
  transform?: NonNullable<OrderWorkflowArgs["transform"]> &
    NonNullable<OrderApiArgs["transform"]> & {
      /** Every table of the unit (`args.name` tells which). */
      table?: Transform<aws.dynamodb.TableArgs>;
      /** The fulfillment queue, its DLQ and the DLQ-failures queue (`args.name` tells which). */
      queue?: Transform<aws.sqs.QueueArgs>;
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
  /** Encrypts the tables, the queues and every log group of the unit. */
  readonly key: ServiceKey;
  /** `dofs-<stack>-orders`: key `order_id`, index `customer_id-created_at`. */
  readonly ordersTable: aws.dynamodb.Table;
  /** `dofs-<stack>-failed-orders`: one row per `FAILED` order, key `order_id`. */
  readonly failedOrdersTable: aws.dynamodb.Table;
  /** `dofs-<stack>-idempotency`: `Idempotency-Key` → order id, expiring after a day. */
  readonly idempotencyTable: aws.dynamodb.Table;
  readonly fulfillmentQueue: EncryptedQueue;
  readonly fulfillmentDlq: EncryptedQueue;
  /** Where the DLQ handler's own failures are parked (no consumer). */
  readonly dlqFailuresQueue: EncryptedQueue;
  readonly functions: OrderFunctions;
  readonly workflow: OrderWorkflow;
  readonly api: OrderApi;
  /** `https://<api id>.execute-api.<region>.amazonaws.com/<stage>`. */
  readonly apiUrl: pulumi.Output<string>;

  private readonly prefix: string;
  private readonly settings: StackSettings;
  private readonly transform: NonNullable<OrderFulfillmentArgs["transform"]>;

  constructor(name: string, args: OrderFulfillmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:OrderFulfillment", name, {}, opts);
    this.settings = args.settings;
    this.prefix = args.namePrefix ?? `dofs-${args.settings.stack}`;
    this.transform = args.transform ?? {};
    const stageName = args.stageName ?? args.settings.stack;

    const { accountId, partition } = accountContext();
    this.key = new ServiceKey(`${name}-key`, {
      description:
        `Encrypts ${this.prefix} orders: tables, fulfillment queues and log groups. Step Functions writes the fulfillment queue ` +
        "through the state machine's IAM role (kms:GenerateDataKey and kms:Decrypt granted there); CloudWatch Logs is the one service principal",
      alias: `${this.prefix}-orders`,
      // CloudWatch Logs encrypts the functions', the workflow's and the API's log groups with it.
      serviceUsers: [
        cloudWatchLogsKeyUser(args.settings.region, accountId, partition, [
          `/aws/lambda/${this.prefix}-*`,
          `/aws/vendedlogs/states/${this.prefix}-*`,
          `/aws/apigateway/${this.prefix}-*`,
          executionLogGroupPattern(stageName),
        ]),
      ],
    }, { parent: this });

    this.ordersTable = this.createTable(`${name}-orders`, "orders", "order_id", {
      attributes: [{ name: "customer_id", type: "S" }, { name: "created_at", type: "S" }],
      globalSecondaryIndexes: [{ name: "customer_id-created_at", hashKey: "customer_id", rangeKey: "created_at", projectionType: "ALL" }],
    });
    this.failedOrdersTable = this.createTable(`${name}-failed-orders`, "failed-orders", "order_id");
    // Idempotency keys expire after a day: the one table that holds no ledger.
    this.idempotencyTable = this.createTable(`${name}-idempotency`, "idempotency", "idempotency_key", {
      ttl: { attributeName: "expires_at", enabled: true },
    }, "ephemeral");

    const queues = this.createQueues(name);
    this.fulfillmentQueue = queues.queue;
    this.fulfillmentDlq = queues.dlq;
    this.dlqFailuresQueue = queues.dlqFailures;

    const table = (t: aws.dynamodb.Table): LinkTarget => ({ arn: t.arn, name: t.name, kmsKeyArn: this.key.arn });
    const common = { settings: args.settings, namePrefix: this.prefix, logKmsKeyArn: this.key.arn };
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
      links: { orders: table(this.ordersTable), source: this.fulfillmentQueue.link(), deadLetter: this.fulfillmentDlq.link() },
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
        source: this.fulfillmentDlq.link(),
        deadLetter: this.dlqFailuresQueue.link(),
      },
      sqs: { maxReceiveCount: args.settings.maxReceiveCount },
    }, parent);

    this.workflow = new OrderWorkflow(`${name}-workflow`, {
      ...common,
      validate,
      store,
      fulfillmentQueue: this.fulfillmentQueue,
      kmsKeyArn: this.key.arn,
      formerParent: this,
      transform: args.transform,
    }, parent);

    const api = new TypedFunction(`${name}-api`, {
      ...common,
      definition: ordersApi,
      // API Gateway gives up after 29 s; the function must stop before it does.
      timeoutSeconds: args.settings.apiTimeoutSeconds,
      links: { orders: table(this.ordersTable), idempotency: table(this.idempotencyTable), workflow: { arn: this.workflow.stateMachine.arn } },
    }, parent);
    this.functions = { api, validate, store, fulfillment, deadLetter };

    this.api = new OrderApi(name, { ...common, handler: api, stageName, formerParent: this, transform: args.transform }, parent);
    this.apiUrl = this.api.url;

    this.registerOutputs({
      apiUrl: this.apiUrl,
      ordersTable: this.ordersTable.name,
      failedOrdersTable: this.failedOrdersTable.name,
      stateMachineArn: this.workflow.stateMachine.arn,
      fulfillmentQueueUrl: this.fulfillmentQueue.url,
      fulfillmentDlqUrl: this.fulfillmentDlq.url,
    });
  }

  /** What the stack's Monitoring watches of DOFS: the API, the workflow, the queues and functions. */
  watched(): WatchedSystem {
    return {
      title: "OrderFulfillment",
      businessMetrics: "orders",
      apis: { orders: { name: this.api.restApi.name, stage: this.api.stage.stageName } },
      stateMachines: { workflow: this.workflow.stateMachine.arn },
      // The fulfillment DLQ is part of the normal failure path (orders-dlq turns each message into a
      // FAILED order), so it is watched like a working queue: an old message means orders-dlq is not
      // draining it. Only dlq-failures holds messages that failed for good.
      sourceQueues: { fulfillment: this.fulfillmentQueue.queueName, "fulfillment-dlq": this.fulfillmentDlq.queueName },
      deadLetterQueues: { "dlq-failures": this.dlqFailuresQueue.queueName },
      functions: Object.fromEntries(Object.entries(this.functions).map(([label, f]) => [label, f.functionName])),
    };
  }

  /** A table of the unit: a ledger (deletion-protected and `protect`ed, tables.ts) unless its items all expire. */
  private createTable(
    resourceName: string,
    table: string,
    hashKey: string,
    extra: { attributes?: aws.types.input.dynamodb.TableAttribute[]; globalSecondaryIndexes?: aws.types.input.dynamodb.TableGlobalSecondaryIndex[]; ttl?: aws.types.input.dynamodb.TableTtl } = {},
    dataClass: DataClass = "ledger",
  ): aws.dynamodb.Table {
    const protection = tableProtection(this.settings, dataClass);
    return new aws.dynamodb.Table(resourceName, transformed<aws.dynamodb.TableArgs>({
      name: physicalName(this.prefix, table, 255),
      billingMode: "PAY_PER_REQUEST",
      hashKey,
      attributes: [{ name: hashKey, type: "S" }, ...(extra.attributes ?? [])],
      ...(extra.globalSecondaryIndexes ? { globalSecondaryIndexes: extra.globalSecondaryIndexes } : {}),
      ...(extra.ttl ? { ttl: extra.ttl } : {}),
      serverSideEncryption: { enabled: true, kmsKeyArn: this.key.arn },
      pointInTimeRecovery: { enabled: true },
      ...protection.args,
    }, this.transform.table), { parent: this, ...protection.opts });
  }

  /** Fulfillment queue → DLQ (after maxReceiveCount) → DLQ-failures queue (the DLQ handler's own dead letters). */
  private createQueues(name: string): { queue: EncryptedQueue; dlq: EncryptedQueue; dlqFailures: EncryptedQueue } {
    const { settings } = this;
    const common = { kmsKeyArn: this.key.arn, formerParent: this, transform: { queue: this.transform.queue } };
    const visibilityTimeoutSeconds = VISIBILITY_TIMEOUT_FACTOR * settings.functionTimeoutSeconds;
    const dlqFailures = new EncryptedQueue(`${name}-fulfillment-dlq-failures`, {
      ...common,
      name: physicalName(this.prefix, "fulfillment-dlq-failures", 80),
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
    }, { parent: this });
    const dlq = new EncryptedQueue(`${name}-fulfillment-dlq`, {
      ...common,
      name: physicalName(this.prefix, "fulfillment-dlq", 80),
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
      visibilityTimeoutSeconds,
      // Backstop for the DLQ handler crashing or timing out on every receive; its handled failures
      // are sent there by the SQS runtime with their reason.
      deadLetter: { queue: dlqFailures, maxReceiveCount: settings.maxReceiveCount },
    }, { parent: this });
    const queue = new EncryptedQueue(`${name}-fulfillment`, {
      ...common,
      name: physicalName(this.prefix, "fulfillment", 80),
      messageRetentionSeconds: settings.queueRetentionSeconds,
      visibilityTimeoutSeconds,
      deadLetter: { queue: dlq, maxReceiveCount: settings.maxReceiveCount },
    }, { parent: this });
    return { queue, dlq, dlqFailures };
  }
}
