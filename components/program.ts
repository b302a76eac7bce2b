/**
 * The whole program as a function of the stack's settings: both units and the stack outputs
 * (DESIGN.md, "Stack outputs"). `index.ts` runs it for `pulumi up`; the tests, the policy runner and
 * the local cloud run it under the mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./lib/settings";
import { FifoTransactionBus } from "./transactions/fifo-transaction-bus";
import { Monitoring } from "./monitoring";
import { OrderFulfillment } from "./orders/order-fulfillment";

/** The stack outputs. Names and shapes are a contract: add, never rename. */
export interface StackOutputs {
  region: string;
  transactionTopicArn: pulumi.Output<string>;
  transactionQueueUrls: pulumi.Output<Record<string, string>>;
  transactionDlqUrls: pulumi.Output<Record<string, string>>;
  bankAccountsTable: pulumi.Output<string>;
  paymentsTable: pulumi.Output<string>;
  /** DOFS API base URL, e.g. `https://<id>.execute-api.<region>.amazonaws.com/<stack>`. */
  apiUrl: pulumi.Output<string>;
  /** DOFS API key value (secret): send it as `x-api-key`. */
  apiKey: pulumi.Output<string>;
  ordersTable: pulumi.Output<string>;
  failedOrdersTable: pulumi.Output<string>;
  stateMachineArn: pulumi.Output<string>;
  fulfillmentQueueUrl: pulumi.Output<string>;
  fulfillmentDlqUrl: pulumi.Output<string>;
  /** CloudWatch dashboard of both flows. */
  dashboardUrl: pulumi.Output<string>;
  /** The (encrypted) SNS topic every alarm notifies. */
  alarmTopicArn: pulumi.Output<string>;
}

export function program(settings: StackSettings): StackOutputs {
  const bus = new FifoTransactionBus("transactions", { settings });
  const orders = new OrderFulfillment("orders", { settings });
  const monitoring = new Monitoring("monitoring", {
    namePrefix: `utility-serverless-${settings.stack}`,
    region: settings.region,
    namespace: settings.metricsNamespace,
    alarmEmail: settings.alarmEmail,
    systems: { transactions: bus.watched(), orders: orders.watched() },
  });
  return {
    region: settings.region,
    transactionTopicArn: bus.topic.arn,
    transactionQueueUrls: bus.queueUrls,
    transactionDlqUrls: bus.deadLetterQueueUrls,
    bankAccountsTable: bus.bankAccountsTable.name,
    paymentsTable: bus.paymentsTable.name,
    apiUrl: orders.apiUrl,
    apiKey: pulumi.secret(orders.api.apiKey.value),
    ordersTable: orders.ordersTable.name,
    failedOrdersTable: orders.failedOrdersTable.name,
    stateMachineArn: orders.workflow.stateMachine.arn,
    fulfillmentQueueUrl: orders.fulfillmentQueue.url,
    fulfillmentDlqUrl: orders.fulfillmentDlq.url,
    dashboardUrl: monitoring.dashboardUrl,
    alarmTopicArn: monitoring.alarmTopic.arn,
  };
}
