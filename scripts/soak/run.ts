/**
 * One soak run against a stack's outputs: faults on (a local cloud with a control endpoint), the
 * workload driven, the stack settled, the invariants checked, faults off. `npm run soak` and the
 * test that runs a small soak in `npm test` both call `runSoak`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { StackOutputsFile } from "../../local/outputs";
import { clientConfig } from "../../local/outputs";
import { placeOrders, publishLanes } from "./drive";
import type { Check } from "./verify";
import { checkBus, checkOrders, settle } from "./verify";
import type { SoakSize } from "./workload";
import { planWorkload } from "./workload";

/**
 * The faults a local soak injects unless told otherwise: 11% of invocations and 10% of the
 * functions' DynamoDB calls fail, with some SQS and Step Functions 5xx.
 */
export const DEFAULT_SOAK_FAULTS = "functions=crash:0.03,timeout:0.02,throw:0.03,throttle:0.03;dynamodb=throttle:0.08,error:0.02;sqs=error:0.02;stepfunctions=error:0.02";

export interface SoakOptions extends SoakSize {
  /** Concurrent order clients. @default 16 */
  clients: number;
  /**
   * Fault spec for a local cloud (`local/faults/spec.ts`; `seed=` is added from `seed`); `false`
   * for none. Ignored (with a note) when the outputs name no fault control endpoint (a deployed stack).
   * @default DEFAULT_SOAK_FAULTS
   */
  faults: string | false;
  /** Give up settling after this long. @default 20 minutes */
  settleTimeoutMs: number;
  /** The stack's `fulfillmentSuccessRate`. @default 0.7 */
  successRate: number;
  /** Progress lines. @default console.log */
  log?: (line: string) => void;
}

export interface SoakReport {
  checks: Check[];
  /** Figures: throughput, times, retries, faults injected by kind. */
  figures: Record<string, string>;
  ok: boolean;
}

export async function runSoak(outputs: StackOutputsFile, options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? console.log;
  const sns = new SNSClient(clientConfig(outputs, "sns"));
  const sqs = new SQSClient(clientConfig(outputs, "sqs"));
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(outputs, "dynamodb")));
  const control = outputs.faultControlUrl;
  const figures: Record<string, string> = {};
  try {
    const workload = planWorkload(options);
    log(`soak ${workload.runId}: ${options.transactions} transactions over ${options.customers} customers, ${options.orders} orders from ${options.clients} clients (seed ${options.seed})`);
    if (options.faults !== false && control) {
      const spec = `${options.faults};seed=${options.seed}`;
      const answer = await fetch(control, { method: "PUT", body: spec });
      if (!answer.ok) throw new Error(`The fault control endpoint refused the spec: ${await answer.text()}`);
      log(`  faults: ${spec}`);
    } else if (options.faults !== false) log("  faults: none (the outputs name no fault control endpoint: a deployed stack)");

    const started = Date.now();
    const [bus, orders] = await Promise.all([
      publishLanes(sns, outputs.transactionTopicArn, workload, log),
      placeOrders(outputs.apiUrl, outputs.apiKey, workload.orders, options.clients, log),
    ]);
    log(`  published ${bus.published} messages in ${bus.seconds.toFixed(1)} s; placed ${orders.placed.length} orders in ${orders.seconds.toFixed(1)} s`);
    const orderIds = orders.placed.filter((p) => p.status === 200).map((p) => p.orderIds[0]!);
    const settled = await settle(outputs, { sqs, dynamo }, orderIds, options.settleTimeoutMs, log);
    const total = (Date.now() - started) / 1000;

    if (control) {
      const report = (await (await fetch(control)).json()) as { injected: Record<string, number> };
      const byKind = new Map<string, number>();
      for (const [key, n] of Object.entries(report.injected)) {
        const kind = key.replace(/^function:\S+ /, "function ");
        byKind.set(kind, (byKind.get(kind) ?? 0) + n);
      }
      figures["faults injected"] = [...byKind].map(([k, n]) => `${k} ${n}`).join(", ") || "none";
      await fetch(control, { method: "DELETE" });
    }
    const checks = [
      { name: "settled (source queues empty, orders final)", expected: "yes", actual: settled === undefined ? `no, after ${options.settleTimeoutMs / 1000} s` : `in ${settled.toFixed(1)} s`, ok: settled !== undefined },
      ...(await checkBus(outputs, { sqs, dynamo }, workload)),
      ...(await checkOrders(outputs, { sqs, dynamo }, orders.placed, options.successRate)),
    ];
    figures["bus publish rate"] = `${Math.round(bus.published / bus.seconds)} msg/s (${bus.retries} batch retries)`;
    figures["bus throughput, publish to settled"] = `${Math.round(options.transactions / total)} tx/s`;
    figures["orders placed"] = `${Math.round(orders.placed.length / orders.seconds)} orders/s, ${orders.retries} client retries`;
    figures["time to settle after the drive"] = settled === undefined ? "did not settle" : `${settled.toFixed(1)} s`;
    figures["total"] = `${total.toFixed(1)} s`;
    return { checks, figures, ok: checks.every((c) => c.ok) };
  } finally {
    if (control && options.faults !== false) await fetch(control, { method: "DELETE" }).catch(() => undefined);
    for (const client of [sns, sqs, dynamo]) client.destroy();
  }
}

/** The report as a table and a list of figures. */
export function formatReport(report: SoakReport): string {
  const widths = [Math.max(...report.checks.map((c) => c.name.length)), Math.max(8, ...report.checks.map((c) => c.expected.length)), Math.max(6, ...report.checks.map((c) => c.actual.length))];
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 2)).join(" | ")} |`;
  return [
    line(["check", "expected", "actual", "ok"]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|----|`,
    ...report.checks.map((c) => line([c.name, c.expected, c.actual, c.ok ? "ok" : "FAIL"])),
    "",
    ...Object.entries(report.figures).map(([k, v]) => `${k}: ${v}`),
    "",
    report.ok ? "soak: every invariant holds" : `soak: ${report.checks.filter((c) => !c.ok).length} invariant(s) violated`,
  ].join("\n");
}
