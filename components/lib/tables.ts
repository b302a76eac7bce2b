/**
 * What keeps a DynamoDB table when a stack is replaced or destroyed: deletion protection (AWS refuses
 * DeleteTable) and, for a table whose records do not expire (a ledger), Pulumi's `protect` option
 * (`pulumi up` refuses to replace it, `pulumi destroy` to delete it).
 *
 * A stack whose data is disposable (dev) opts out with the stack setting `tableProtectionOptOut`,
 * whose value is the reason: the tables then carry it as the `DeletionProtectionOptOut` tag, which
 * the policy pack requires for an unprotected table (dynamodb-table-deletion-protection,
 * dynamodb-ledger-table-protected). Every table also says what it holds in its `DataClass` tag.
 */
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./settings";

/** What a table holds: records kept for good (`ledger`), or items that all expire (`ephemeral`, TTL on). */
export type DataClass = "ledger" | "ephemeral";

/** Tag keys the policy pack reads (policies/rules/resilience.ts has the same names). */
export const TABLE_TAGS = { dataClass: "DataClass", optOut: "DeletionProtectionOptOut" } as const;

/**
 * The args and resource options that protect a table, per the stack's settings.
 * @example const { args, opts } = tableProtection(settings, "ledger"); new aws.dynamodb.Table(name, { ...tableArgs, ...args }, { parent, ...opts })
 */
export function tableProtection(settings: Pick<StackSettings, "tableProtectionOptOut">, dataClass: DataClass): {
  args: Pick<aws.dynamodb.TableArgs, "deletionProtectionEnabled" | "tags">;
  opts: Pick<pulumi.CustomResourceOptions, "protect">;
} {
  const optOut = settings.tableProtectionOptOut;
  return {
    args: {
      deletionProtectionEnabled: !optOut,
      tags: { [TABLE_TAGS.dataClass]: dataClass, ...(optOut ? { [TABLE_TAGS.optOut]: optOut } : {}) },
    },
    opts: { protect: !optOut && dataClass === "ledger" },
  };
}
