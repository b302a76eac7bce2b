/**
 * Customer managed KMS keys with the key policies their run-time users need.
 *
 * IAM grants (the functions' roles) work through the account statement; AWS services that encrypt
 * on their own behalf (SNS delivering to an encrypted queue, CloudWatch alarms publishing to an
 * encrypted topic) are not IAM principals of the account and must be named in the key policy: SNS
 * cannot deliver to a queue whose key it may not use, and the AWS managed `aws/sqs` key never lets it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** A service principal allowed to use the key, limited to the account's own resources. */
export type KeyServiceUser = {
  /** e.g. `sns.amazonaws.com`. */
  service: string;
  /** KMS actions the service performs. @default ["kms:GenerateDataKey", "kms:Decrypt"] */
  actions?: string[];
} & (
  | {
      /**
       * ARN pattern of the account's resources acting through the service: the statement is limited
       * to them (`aws:SourceArn`) and to this account (`aws:SourceAccount`). Leave it out only where
       * AWS documents the statement without those conditions (CloudWatch alarms and EventBridge rules
       * publishing to an encrypted topic); the topic policy then carries them.
       * @default no conditions
       */
      sourceArnLike?: pulumi.Input<string>;
    }
  | {
      /**
       * The statement's whole condition, for a service that does not send aws:SourceArn (CloudWatch
       * Logs: `kms:EncryptionContext:aws:logs:arn`). See `cloudWatchLogsKeyUser`.
       */
      condition: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
    }
);

/**
 * CloudWatch Logs as a key user: the statement AWS documents for encrypting log groups with a
 * customer managed key ("Encrypt log data in CloudWatch Logs using AWS KMS"): the regional service
 * principal, the envelope actions, and an `ArnLike` condition on the encryption context CloudWatch
 * Logs sends (`kms:EncryptionContext:aws:logs:arn`, the log group's ARN), so the key encrypts only
 * the named log groups.
 *
 * @param logGroupNames - log group names (patterns with `*`), e.g. `/aws/lambda/dofs-dev-*`.
 * @example cloudWatchLogsKeyUser("us-east-1", accountId, partition, ["/aws/lambda/dofs-dev-*"])
 */
export function cloudWatchLogsKeyUser(region: string, accountId: pulumi.Input<string>, partition: pulumi.Input<string>, logGroupNames: string[]): KeyServiceUser {
  return {
    service: `logs.${region}.amazonaws.com`,
    actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    condition: {
      ArnLike: { "kms:EncryptionContext:aws:logs:arn": logGroupNames.map((name) => pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:${name}`) },
    },
  };
}

export interface ServiceKeyArgs {
  /** What the key protects. */
  description: string;
  /** Alias without the `alias/` prefix. */
  alias: string;
  /** Services allowed to use the key at run time. @default [] */
  serviceUsers?: KeyServiceUser[];
  /** Days before a scheduled deletion completes (7..30). @default 30 */
  deletionWindowInDays?: number;
}

/** The account id and partition, from the provider (mocked in tests, local in the local cloud). */
export function accountContext(): { accountId: pulumi.Output<string>; partition: pulumi.Output<string> } {
  return { accountId: aws.getCallerIdentityOutput().accountId, partition: aws.getPartitionOutput().partition };
}

/** A symmetric customer managed key with rotation on, and its alias. */
export class ServiceKey extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly alias: aws.kms.Alias;
  /** The key's ARN. */
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: ServiceKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("utility:serverless:ServiceKey", name, {}, opts);
    const { accountId, partition } = accountContext();
    const policy = pulumi.all([accountId, partition]).apply(([account, part]) =>
      pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            // The account administers the key; IAM policies (the functions' roles) grant its use.
            Sid: "AccountAdministersKeyAndDelegatesToIam",
            Effect: "Allow",
            Principal: { AWS: `arn:${part}:iam::${account}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          ...(args.serviceUsers ?? []).map((user) => ({
            Sid: `Allow${user.service.split(".")[0]!.replace(/^./, (c) => c.toUpperCase())}ToUseKey`,
            Effect: "Allow",
            Principal: { Service: user.service },
            Action: user.actions ?? ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: "*",
            ...("condition" in user
              ? { Condition: user.condition }
              : user.sourceArnLike !== undefined
                ? { Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": user.sourceArnLike } } }
                : {}),
          })),
        ],
      }),
    );
    this.key = new aws.kms.Key(`${name}-key`, {
      description: args.description,
      enableKeyRotation: true,
      deletionWindowInDays: args.deletionWindowInDays ?? 30,
      policy,
    }, { parent: this });
    this.alias = new aws.kms.Alias(`${name}-alias`, { name: `alias/${args.alias}`, targetKeyId: this.key.keyId }, { parent: this });
    this.arn = this.key.arn;
    this.registerOutputs({ arn: this.arn });
  }
}

/** A policy statement denying every request to `resource` that is not sent over TLS. */
export function denyInsecureTransport(actionPrefix: "sqs" | "sns", resource: pulumi.Input<string>) {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: `${actionPrefix}:*`,
    Resource: resource,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}
