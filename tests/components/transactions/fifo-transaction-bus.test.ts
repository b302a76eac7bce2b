/**
 * The FifoTransactionBus as the program declares it for a stack, under Pulumi's mock runtime:
 * every resource and the inputs that matter.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { policyOf, runStack } from "../../support/program";

type Run = Awaited<ReturnType<typeof runStack>>;
let run: Run;
const prefix = "utility-customer-system-dev";
const account = "123456789012";
const region = "us-east-2";
const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
const keyArn = () => run.find("aws:kms/key:Key", "transactions-key-key").state.arn as string;

beforeAll(async () => {
  run = await runStack({ stack: "dev" });
});

describe("topic", () => {
  it("is FIFO, KMS-encrypted with the bus key, dedups by id not content, and denies non-TLS", () => {
    const topic = run.find("aws:sns/topic:Topic", "transactions-topic");
    expect(topic.inputs).toMatchObject({
      name: `${prefix}-transaction-processing.fifo`,
      fifoTopic: true,
      contentBasedDeduplication: false,
      kmsMasterKeyId: keyArn(),
    });
    // Always set: "Topic" when high throughput is off, so turning it off resets a topic that had it on.
    expect(topic.inputs.fifoThroughputScope).toBe("Topic");
    const policy = policyOf(run.find("aws:sns/topicPolicy:TopicPolicy", "transactions-topic-policy"));
    expect(policy.Version).toBe("2012-10-17");
    expect(policy.Statement).toContainEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "sns:*",
      Resource: topic.state.arn,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });

  it("switches to high-throughput mode from config", async () => {
    const ht = await runStack({ stack: "dev", config: { highThroughput: "true" } });
    expect(ht.find("aws:sns/topic:Topic", "transactions-topic").inputs.fifoThroughputScope).toBe("MessageGroup");
    const queue = ht.find("aws:sqs/queue:Queue", "transactions-payment-processing-queue");
    expect(queue.inputs).toMatchObject({ deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" });
  });
});

describe("topic alarms", () => {
  it("alarm on failed deliveries (they are in a subscription DLQ) and on those SNS could not even dead-letter (lost)", () => {
    const alarms = run.all("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs);
    const topic = `${prefix}-transaction-processing.fifo`;
    expect(alarms.find((a) => a.name === "utility-serverless-dev-bus-notifications-failed")).toMatchObject({
      namespace: "AWS/SNS", metricName: "NumberOfNotificationsFailed", dimensions: { TopicName: topic }, statistic: "Sum", threshold: 0,
    });
    expect(alarms.find((a) => a.name === "utility-serverless-dev-bus-notifications-lost")).toMatchObject({
      namespace: "AWS/SNS", metricName: "NumberOfNotificationsFailedToRedriveToDlq", dimensions: { TopicName: topic }, threshold: 0,
    });
  });
});

describe("KMS key", () => {
  it("rotates, and its policy lets SNS encrypt into the route queues of this account only", () => {
    const key = run.find("aws:kms/key:Key", "transactions-key-key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    const statements = policyOf(key).Statement;
    expect(statements).toContainEqual({
      Sid: "AllowSnsToUseKey",
      Effect: "Allow",
      Principal: { Service: "sns.amazonaws.com" },
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: "*",
      Condition: {
        StringEquals: { "aws:SourceAccount": account },
        ArnLike: { "aws:SourceArn": `arn:aws:sns:${region}:${account}:${prefix}-*` },
      },
    });
    // The topic the key must serve matches that pattern.
    const topicArn = run.find("aws:sns/topic:Topic", "transactions-topic").state.arn as string;
    expect(topicArn.startsWith(`arn:aws:sns:${region}:${account}:${prefix}-`)).toBe(true);
    // The account statement lets the functions' IAM roles use the key.
    expect(statements[0]).toMatchObject({ Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*" });
  });

  it("admits CloudWatch Logs (AWS's documented statement) for the consumers' log groups only", () => {
    expect(policyOf(run.find("aws:kms/key:Key", "transactions-key-key")).Statement).toContainEqual({
      Sid: "AllowLogsToUseKey",
      Effect: "Allow",
      Principal: { Service: `logs.${region}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": [`arn:aws:logs:${region}:${account}:log-group:/aws/lambda/${prefix}-*`] } },
    });
  });
});

describe.each([
  ["bank_account_setup", "bank-account-setup"],
  ["payment", "payment-processing"],
])("route %s", (type, slug) => {
  const queueOf = () => run.find("aws:sqs/queue:Queue", `transactions-${slug}-queue`);
  const dlqOf = () => run.find("aws:sqs/queue:Queue", `transactions-${slug}-dlq`);

  it("has a FIFO queue with KMS, retention, 6x visibility and redrive to its FIFO DLQ", () => {
    const dlq = dlqOf();
    expect(dlq.inputs).toMatchObject({
      name: `${prefix}-${slug}-dlq.fifo`,
      fifoQueue: true,
      kmsMasterKeyId: keyArn(),
      messageRetentionSeconds: 1_209_600,
    });
    expect(queueOf().inputs).toMatchObject({
      name: `${prefix}-${slug}.fifo`,
      fifoQueue: true,
      contentBasedDeduplication: false,
      kmsMasterKeyId: keyArn(),
      messageRetentionSeconds: 345_600,
      visibilityTimeoutSeconds: 180,
    });
    // The consumer dead-letters on its 5th receive (maxReceiveCount); the queue moves a message only
    // after 3 more (REDRIVE_BACKSTOP_RECEIVES), a backstop for invocations that never finish.
    expect(JSON.parse(queueOf().inputs.redrivePolicy as string)).toEqual({ deadLetterTargetArn: dlq.state.arn, maxReceiveCount: 8 });
    const allow = run.find("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", `transactions-${slug}-dlq-redrive-allow`);
    expect(JSON.parse(allow.inputs.redriveAllowPolicy as string)).toEqual({ redrivePermission: "byQueue", sourceQueueArns: [queueOf().state.arn] });
  });

  it("admits only the topic, and denies non-TLS on the queue and the DLQ", () => {
    const topicArn = run.find("aws:sns/topic:Topic", "transactions-topic").state.arn;
    const statements = policyOf(run.find("aws:sqs/queuePolicy:QueuePolicy", `transactions-${slug}-queue-policy`)).Statement;
    expect(statements).toEqual([
      {
        Sid: "TransactionTopicDelivers",
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueOf().state.arn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueOf().state.arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ]);
    const dlqStatements = policyOf(run.find("aws:sqs/queuePolicy:QueuePolicy", `transactions-${slug}-dlq-policy`)).Statement;
    expect(dlqStatements.map((s) => s.Sid)).toEqual(["DenyInsecureTransport"]);
  });

  it("subscribes the queue with raw delivery and a transaction_type filter", () => {
    const sub = run.find("aws:sns/topicSubscription:TopicSubscription", `transactions-${slug}-subscription`);
    expect(sub.inputs).toMatchObject({ protocol: "sqs", endpoint: queueOf().state.arn, rawMessageDelivery: true, filterPolicyScope: "MessageAttributes" });
    expect(JSON.parse(sub.inputs.filterPolicy as string)).toEqual({ transaction_type: [type] });
  });

  it("gives the subscription its own FIFO dead-letter queue, encrypted with the bus key, whose policy admits the topic only", () => {
    const sub = run.find("aws:sns/topicSubscription:TopicSubscription", `transactions-${slug}-subscription`);
    const subDlq = run.find("aws:sqs/queue:Queue", `transactions-${slug}-subscription-dlq`);
    expect(subDlq.inputs).toMatchObject({
      name: `${prefix}-${slug}-subscription-dlq.fifo`,
      fifoQueue: true,
      contentBasedDeduplication: false,
      kmsMasterKeyId: keyArn(),
      messageRetentionSeconds: 1_209_600,
    });
    expect(subDlq.inputs.redrivePolicy).toBeUndefined();
    expect(JSON.parse(sub.inputs.redrivePolicy as string)).toEqual({ deadLetterTargetArn: subDlq.state.arn });
    const topicArn = run.find("aws:sns/topic:Topic", "transactions-topic").state.arn;
    expect(policyOf(run.find("aws:sqs/queuePolicy:QueuePolicy", `transactions-${slug}-subscription-dlq-policy`)).Statement).toEqual([
      {
        Sid: "TransactionTopicDelivers",
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: subDlq.state.arn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: subDlq.state.arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ]);
    // The bus key already admits SNS for the stack's topics, so SNS can encrypt into it.
    expect(String(subDlq.inputs.name).startsWith(prefix)).toBe(true);
  });

  it("is watched: the subscription DLQ on any message and near expiry, the type's TransactionsFailed (the consumer's EMF metric) when it persists", () => {
    const alarms = run.all("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs);
    const named = (suffix: string) => alarms.find((a) => a.name === `utility-serverless-dev-${suffix}`);
    expect(named(`${type}-subscription-dlq-messages`)).toMatchObject({
      namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: `${prefix}-${slug}-subscription-dlq.fifo` }, threshold: 0,
    });
    expect(named(`${type}-subscription-dlq-expiring`)).toMatchObject({ metricName: "ApproximateAgeOfOldestMessage", threshold: 11 * 86_400 });
    expect(named(`${type}-failures`)).toMatchObject({
      namespace: "OTEL/UtilityCustomer/Enhanced",
      metricName: "TransactionsFailed",
      dimensions: { service: slug, transaction_type: type },
      statistic: "Sum",
      threshold: 0,
      period: 300,
      evaluationPeriods: 3,
    });
  });

  it("consumes with a Lambda on nodejs22.x with the OTEL layer, tracing, and partial batch responses", () => {
    const fn = run.find("aws:lambda/function:Function", `transactions-${slug}-consumer-function`);
    expect(fn.inputs).toMatchObject({
      name: `${prefix}-${slug}`,
      runtime: "nodejs22.x",
      handler: "index.handler",
      timeout: 30,
      memorySize: 256,
      layers: ["arn:aws:lambda:us-east-2:901920570463:layer:aws-otel-collector-amd64-ver-0-98-0:5"],
      tracingConfig: { mode: "Active" },
      loggingConfig: { logFormat: "JSON", logGroup: `/aws/lambda/${prefix}-${slug}` },
    });
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(JSON.parse(env.LINK_SOURCE!)).toEqual({ url: queueOf().state.url, arn: queueOf().state.arn });
    expect(JSON.parse(env.LINK_DEAD_LETTER!)).toEqual({ url: dlqOf().state.url, arn: dlqOf().state.arn });
    expect(JSON.parse(env.FUNCTION_TRIGGER!)).toEqual({ maxReceiveCount: 5 });
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://localhost:4318");

    const mapping = run.find("aws:lambda/eventSourceMapping:EventSourceMapping", `transactions-${slug}-consumer-trigger`);
    expect(mapping.inputs).toMatchObject({
      eventSourceArn: queueOf().state.arn,
      functionName: fn.state.arn,
      batchSize: 10,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 2 },
    });
    const logs = run.find("aws:cloudwatch/logGroup:LogGroup", `transactions-${slug}-consumer-logs`);
    expect(logs.inputs).toMatchObject({ name: `/aws/lambda/${prefix}-${slug}`, retentionInDays: 7, kmsKeyId: keyArn() });
  });
});

describe("account fingerprint key", () => {
  it("is an SSM SecureString under its own KMS key, written from the secret accountFingerprintKey setting", () => {
    const parameter = run.find("aws:ssm/parameter:Parameter", "transactions-fingerprint-key-parameter");
    const own = run.find("aws:kms/key:Key", "transactions-fingerprint-key-key");
    expect(parameter.inputs).toMatchObject({
      name: `/${prefix}/account-fingerprint-key`,
      type: "SecureString",
      tier: "Standard",
      keyId: own.state.arn,
      value: "test-fingerprint-key-0123456789abcdef0123",
    });
    expect(own.state.arn).not.toBe(keyArn());
    expect(own.inputs.enableKeyRotation).toBe(true);
    expect(run.find("aws:kms/alias:Alias", "transactions-fingerprint-key-alias").inputs.name).toBe(`alias/${prefix}-fingerprint-key`);
  });

  it("is not in the bank account setup function's configuration: it gets the parameter's name and ARN, and no settings", () => {
    const fn = run.find("aws:lambda/function:Function", "transactions-bank-account-setup-consumer-function");
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(JSON.parse(env.FUNCTION_SETTINGS!)).toEqual({});
    expect(JSON.parse(env.LINK_FINGERPRINT_KEY!)).toEqual({ name: `/${prefix}/account-fingerprint-key`, arn: arn("ssm", `parameter/${prefix}/account-fingerprint-key`) });
    expect(JSON.stringify(fn.inputs)).not.toContain("test-fingerprint-key-0123456789abcdef0123");
  });
});

describe("tables", () => {
  it.each([
    ["transactions-bank-accounts", `${prefix}-bank-accounts`, "record"],
    ["transactions-payments", `${prefix}-payments`, "entry"],
  ])("%s is KMS-encrypted with point-in-time recovery", (name, physical, sortKey) => {
    const table = run.find("aws:dynamodb/table:Table", name);
    expect(table.inputs).toMatchObject({
      name: physical,
      hashKey: "customer_id",
      rangeKey: sortKey,
      billingMode: "PAY_PER_REQUEST",
      serverSideEncryption: { enabled: true, kmsKeyArn: keyArn() },
      pointInTimeRecovery: { enabled: true },
      // Dev opts out (Pulumi.dev.yaml, tableProtectionOptOut), with its reason on the table.
      deletionProtectionEnabled: false,
      tags: { DataClass: "ledger", DeletionProtectionOptOut: "dev holds test data only and is torn down with pulumi destroy" },
    });
    expect(table.protect).toBe(false);
  });

  it("are ledgers: deletion-protected and Pulumi-protected on staging, which does not opt out", async () => {
    const staging = await runStack({ stack: "staging" });
    for (const name of ["transactions-bank-accounts", "transactions-payments"]) {
      const table = staging.find("aws:dynamodb/table:Table", name);
      expect(table.inputs).toMatchObject({ deletionProtectionEnabled: true, tags: { DataClass: "ledger" } });
      expect(table.inputs.tags).not.toHaveProperty("DeletionProtectionOptOut");
      expect(table.protect).toBe(true);
    }
    // Restore this file's run as the current mock runtime state.
    run = await runStack({ stack: "dev" });
  });
});

describe("roles", () => {
  const statementsOf = (slug: string) => policyOf(run.find("aws:iam/rolePolicy:RolePolicy", `transactions-${slug}-consumer-policy`)).Statement;
  const logStatement = (slug: string) => ({
    Sid: "OwnLogGroup",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: `${arn("logs", `log-group:/aws/lambda/${prefix}-${slug}`)}:*`,
  });
  const queueStatements = (slug: string) => [
    {
      Sid: "SourceQueue",
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
      Resource: arn("sqs", `${prefix}-${slug}.fifo`),
    },
    { Sid: "SourceKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: keyArn() },
    { Sid: "DeadLetterQueue", Effect: "Allow", Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], Resource: arn("sqs", `${prefix}-${slug}-dlq.fifo`) },
    { Sid: "DeadLetterKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: keyArn() },
  ];
  const tracing = { Sid: "Tracing", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" };
  const readWrite = [
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
  ];
  const keyReadWrite = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];

  it("bank-account-setup may read and write the bank accounts table, read the fingerprint key parameter (and decrypt it with its own key), and nothing of payments", () => {
    const table = arn("dynamodb", `table/${prefix}-bank-accounts`);
    const parameterKeyArn = run.find("aws:kms/key:Key", "transactions-fingerprint-key-key").state.arn;
    expect(statementsOf("bank-account-setup")).toEqual([
      { Sid: "BankAccountsTable", Effect: "Allow", Action: readWrite, Resource: [table, `${table}/index/*`] },
      { Sid: "BankAccountsKey", Effect: "Allow", Action: keyReadWrite, Resource: keyArn() },
      { Sid: "FingerprintKeyParameter", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: arn("ssm", `parameter/${prefix}/account-fingerprint-key`) },
      { Sid: "FingerprintKeyKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: parameterKeyArn },
      ...queueStatements("bank-account-setup"),
      logStatement("bank-account-setup"),
      tracing,
    ]);
  });

  it("payment-processing writes payments and only reads bank accounts", () => {
    const payments = arn("dynamodb", `table/${prefix}-payments`);
    const accounts = arn("dynamodb", `table/${prefix}-bank-accounts`);
    expect(statementsOf("payment-processing")).toEqual([
      { Sid: "PaymentsTable", Effect: "Allow", Action: readWrite, Resource: [payments, `${payments}/index/*`] },
      { Sid: "PaymentsKey", Effect: "Allow", Action: keyReadWrite, Resource: keyArn() },
      {
        Sid: "BankAccountsTable",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
        Resource: [accounts, `${accounts}/index/*`],
      },
      { Sid: "BankAccountsKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: keyArn() },
      ...queueStatements("payment-processing"),
      logStatement("payment-processing"),
      tracing,
    ]);
  });

  it("gives every function a role of its own, assumable by Lambda only", () => {
    const functions = run.all("aws:lambda/function:Function").filter((f) => (f.inputs.name as string).startsWith(prefix));
    const roles = new Set(functions.map((f) => f.inputs.role));
    expect(roles.size).toBe(functions.length);
    for (const role of run.all("aws:iam/role:Role").filter((r) => (r.inputs.name as string).startsWith(prefix))) {
      expect(JSON.parse(role.inputs.assumeRolePolicy as string).Statement).toEqual([
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
    }
  });
});

describe("outputs", () => {
  it("follow the DESIGN.md contract", () => {
    expect(run.outputs).toMatchObject({
      transactionTopicArn: arn("sns", `${prefix}-transaction-processing.fifo`),
      transactionQueueUrls: {
        bank_account_setup: `https://sqs.${region}.amazonaws.com/${account}/${prefix}-bank-account-setup.fifo`,
        payment: `https://sqs.${region}.amazonaws.com/${account}/${prefix}-payment-processing.fifo`,
      },
      transactionDlqUrls: {
        bank_account_setup: `https://sqs.${region}.amazonaws.com/${account}/${prefix}-bank-account-setup-dlq.fifo`,
        payment: `https://sqs.${region}.amazonaws.com/${account}/${prefix}-payment-processing-dlq.fifo`,
      },
      transactionSubscriptionDlqUrls: {
        bank_account_setup: `https://sqs.${region}.amazonaws.com/${account}/${prefix}-bank-account-setup-subscription-dlq.fifo`,
        payment: `https://sqs.${region}.amazonaws.com/${account}/${prefix}-payment-processing-subscription-dlq.fifo`,
      },
      bankAccountsTable: `${prefix}-bank-accounts`,
      paymentsTable: `${prefix}-payments`,
    });
  });

  it("deploys only the configured transaction types", async () => {
    const only = await runStack({ stack: "staging", config: { transactionTypes: '["payment"]' } });
    expect(Object.keys(only.outputs.transactionQueueUrls as object)).toEqual(["payment"]);
    expect(only.all("aws:sqs/queue:Queue").map((q) => q.inputs.name)).not.toContain("utility-customer-system-staging-bank-account-setup.fifo");
  });
});
