/**
 * The whole program as a function of the stack's settings: both units and the stack outputs
 * (DESIGN.md, "Stack outputs"). `index.ts` runs it for `pulumi up`; the tests, the policy runner and
 * the local cloud run it under the mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./lib/settings";
import { FifoTransactionBus } from "./transactions/fifo-transaction-bus";
import { Monitoring } from "./monitoring/monitoring";
import { OrderFulfillment } from "./orders/order-fulfillment";
import type { StackOutputValues } from "./outputs";

/**
 * The stack outputs as the program returns them: every key of the contract (`StackOutputsSchema`,
 * `outputs.ts`, where each is documented), each a Pulumi input of its resolved type.
 */
export type StackOutputs = { [K in keyof StackOutputValues]: pulumi.Input<StackOutputValues[K]> };

/** Declares both units and their monitoring for a stack, and returns the stack outputs. */
export function program(settings: StackSettings): StackOutputs {
  const bus = new FifoTransactionBus("transactions", { settings });
  const orders = new OrderFulfillment("orders", { settings });
  const monitoring = new Monitoring("monitoring", {
    namePrefix: `utility-serverless-${settings.stack}`,
    region: settings.region,
    namespace: settings.metricsNamespace,
    alarmEmail: settings.alarmEmail,
    okNotifications: settings.alarmOkNotifications,
    systems: { transactions: bus.watched(), orders: orders.watched() },
  });
  return {
    region: settings.region,
    transactionTopicArn: bus.topic.arn,
    transactionQueueUrls: bus.queueUrls,
    transactionDlqUrls: bus.deadLetterQueueUrls,
    transactionSubscriptionDlqUrls: bus.subscriptionDeadLetterQueueUrls,
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
