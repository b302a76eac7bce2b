import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetQueueAttributesCommand, ListQueuesCommand, ReceiveMessageCommand, SQSClient, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import { UsageError, parseCli, withFingerprintKey } from "../../local/main";
import { LocalCloudRunningError, StackOutputsFile, clientConfig } from "../../local/outputs";
import { LocalDeployment, unwrapSecrets } from "../../local/provision/context";
import { isAccepted, localProvisioner } from "../../local/provision/index";
import type { ApiGatewayRegistry } from "../../local/services/api-gateway";

describe("local cloud CLI", () => {
  it("parses --stack and repeated --config key=value", () => {
    expect(parseCli([])).toEqual({ stack: "dev", config: {}, iam: true });
    expect(parseCli(["--stack", "staging", "--config", "maxReceiveCount=3", "--config", "aws:region=us-east-1"])).toEqual({
      stack: "staging",
      config: { maxReceiveCount: "3", "aws:region": "us-east-1" },
      iam: true,
    });
    expect(() => parseCli(["--config", "novalue"])).toThrow(UsageError);
  });

  it("turns IAM enforcement off with --no-iam only, and refuses a value or a misspelling", () => {
    expect(parseCli(["--no-iam"]).iam).toBe(false);
    expect(() => parseCli(["--no-iam=yes"])).toThrow();
    expect(() => parseCli(["--noiam"])).toThrow();
  });

  it("generates a throwaway accountFingerprintKey only when none is given", () => {
    const generated = withFingerprintKey("dev", {});
    expect(generated.generated).toBe(true);
    expect(generated.config.accountFingerprintKey).toMatch(/^[0-9a-f]{64}$/);
    expect(withFingerprintKey("dev", { accountFingerprintKey: "k".repeat(64) })).toEqual({ config: { accountFingerprintKey: "k".repeat(64) }, generated: false });
  });
});

describe("local provisioner", () => {
  const deployment = () =>
    new LocalDeployment(
      { region: "us-east-2", accountId: "000000000000", endpoints: { sns: "", sqs: "", dynamodb: "", stepfunctions: "", ssm: "" }, clients: {} as never, functionEnvironment: {}, log: () => undefined },
      {} as ApiGatewayRegistry,
    );

  it("accepts types with no local meaning and flags types it does not know, returning AWS-shaped state for both", async () => {
    const target = deployment();
    const provision = localProvisioner(target);
    const role = await provision({ type: "aws:iam/role:Role", name: "r", inputs: { name: "my-role" }, custom: true } as never);
    expect(role.state.arn).toBe("arn:aws:iam::000000000000:role/my-role");
    await provision({ type: "aws:ec2/vpc:Vpc", name: "v", inputs: {}, custom: true } as never);
    await provision({ type: "utility:serverless:Thing", name: "c", inputs: {}, custom: false } as never);
    expect([...target.accepted]).toEqual([["aws:iam/role:Role", 1]]);
    expect([...target.unknown]).toEqual([["aws:ec2/vpc:Vpc", 1]]);
    expect(isAccepted("aws:cloudwatch/metricAlarm:MetricAlarm")).toBe(true);
    expect(isAccepted("aws:sqs/queue:Queue")).toBe(false);
  });

  it("unwraps secret inputs (the local cloud passes them on in plain text)", () => {
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { key: "s3cr3t" } };
    expect(unwrapSecrets({ environment: { variables: secret }, list: [secret] })).toEqual({ environment: { variables: { key: "s3cr3t" } }, list: [{ key: "s3cr3t" }] });
  });

  it("finds functions by name, ARN, qualified ARN or partial ARN", () => {
    const target = deployment();
    const fn = { name: "f", arn: "arn:aws:lambda:us-east-2:000000000000:function:f", host: {} as never };
    target.addFunction(fn);
    for (const ref of ["f", fn.arn, `${fn.arn}:$LATEST`, "000000000000:function:f"]) expect(target.findFunction(ref), ref).toBe(fn);
    expect(target.findFunction("g")).toBeUndefined();
  });
});

describe("startLocalCloud", () => {
  let cloud: LocalCloud;
  let dir: string;

  const fingerprintKey = randomBytes(32).toString("hex");

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-cloud-"));
    cloud = await startLocalCloud({
      stack: "dev",
      config: { accountFingerprintKey: fingerprintKey },
      outputsFile: path.join(dir, "outputs.json"),
      traces: false,
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await cloud?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes the outputs contract with local addresses only", () => {
    const written = StackOutputsFile.parse(JSON.parse(fs.readFileSync(path.join(dir, "outputs.json"), "utf8")));
    expect(written).toEqual(cloud.outputs);
    expect(written.region).toBe("us-east-2");
    expect(Object.keys(written.awsEndpoints ?? {}).sort()).toEqual(["dynamodb", "sns", "sqs", "ssm", "stepfunctions"]);
    // Started with traces: false: no receiver, so none named.
    expect(written.otlpEndpoint).toBeUndefined();
    for (const url of [...Object.values(written.awsEndpoints ?? {}), ...Object.values(written.transactionQueueUrls), ...Object.values(written.transactionDlqUrls)]) {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    }
    expect(written.transactionTopicArn).toBe("arn:aws:sns:us-east-2:000000000000:utility-customer-system-dev-transaction-processing.fifo");
    // The dev stack deploys the order API: its URL is always there, and local.
    expect(written.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dev$/);
  });

  it("lists what it accepts without emulating, and knows every type the program declares", () => {
    expect([...cloud.notEmulated.keys()]).toEqual(expect.arrayContaining(["aws:iam/role:Role", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup"]));
    expect([...cloud.unknown.keys()]).toEqual([]);
    const emulated = new Set(cloud.resources.map((r) => r.type).filter((t) => t.startsWith("aws:") && !cloud.notEmulated.has(t)));
    expect([...emulated]).toEqual(
      expect.arrayContaining(["aws:sns/topic:Topic", "aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy", "aws:dynamodb/table:Table", "aws:lambda/function:Function", "aws:lambda/eventSourceMapping:EventSourceMapping"]),
    );
  });

  it("dead-letters a delivery the route queue's policy refuses into the subscription's DLQ, with the published attributes and customer group", async () => {
    const sqs = new SQSClient(clientConfig(cloud.outputs, "sqs"));
    const sns = new SNSClient(clientConfig(cloud.outputs, "sns"));
    const queueUrl = cloud.outputs.transactionQueueUrls.payment!;
    const topicArn = cloud.outputs.transactionTopicArn;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["Policy"] }));
    const deployed = Attributes!.Policy!;
    // The deployed policy admits the topic (QueuePolicy is provisioned onto the queue).
    expect(deployed).toContain(topicArn);
    // A policy that no longer admits it, as a hand edit or a renamed topic would leave it.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: deployed.replaceAll(topicArn, `${topicArn}-renamed`) } }));
    try {
      const transactionId = randomUUID();
      const customer = `CUST-SUBDLQ-${transactionId.slice(0, 8)}`;
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: JSON.stringify({ transaction_id: transactionId, customer_id: customer, transaction_type: "payment", timestamp: new Date().toISOString(), amount: 12.5, currency: "USD" }),
          MessageGroupId: customer,
          MessageDeduplicationId: transactionId,
          MessageAttributes: {
            transaction_type: { DataType: "String", StringValue: "payment" },
            customer_id: { DataType: "String", StringValue: customer },
            message_group_id: { DataType: "String", StringValue: customer },
          },
        }),
      );
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: cloud.outputs.transactionSubscriptionDlqUrls.payment, WaitTimeSeconds: 2, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }),
      );
      expect(Messages).toHaveLength(1);
      const [dead] = Messages!;
      expect(JSON.parse(dead!.Body!)).toMatchObject({ transaction_id: transactionId, customer_id: customer, amount: 12.5 });
      expect(dead!.MessageAttributes).toMatchObject({
        transaction_type: { DataType: "String", StringValue: "payment" },
        customer_id: { DataType: "String", StringValue: customer },
      });
      expect(dead!.Attributes).toMatchObject({ MessageGroupId: customer, MessageDeduplicationId: transactionId });
      expect(cloud.deliveryCounts(topicArn)).toMatchObject({ NumberOfNotificationsFailed: 1, NumberOfNotificationsRedrivenToDlq: 1 });
    } finally {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: deployed } }));
      sqs.destroy();
      sns.destroy();
    }
  });

  it("serves the program's fingerprint key parameter (GetParameter, decrypted only on request), and keeps it out of the function's configuration", async () => {
    const ssm = new SSMClient(clientConfig(cloud.outputs, "ssm"));
    try {
      const name = "/utility-customer-system-dev/account-fingerprint-key";
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      expect(Parameter).toMatchObject({ Name: name, Type: "SecureString", Value: fingerprintKey, Version: 1, ARN: `arn:aws:ssm:us-east-2:000000000000:parameter${name}` });
      const encrypted = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
      expect(encrypted).not.toContain(fingerprintKey);
      await expect(ssm.send(new GetParameterCommand({ Name: "/not/declared" }))).rejects.toMatchObject({ name: "ParameterNotFound" });
    } finally {
      ssm.destroy();
    }
    const fn = cloud.resources.find((r) => r.type === "aws:lambda/function:Function" && String(r.inputs.name).endsWith("bank-account-setup"));
    expect(JSON.stringify(fn?.inputs)).not.toContain(fingerprintKey);
  });

  it("gives functions the real local addresses of what they link", () => {
    const fn = cloud.resources.find((r) => r.type === "aws:lambda/function:Function" && String(r.inputs.name).endsWith("payment-processing"));
    const variables = (fn?.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
    expect(JSON.parse(variables.LINK_SOURCE ?? "{}")).toMatchObject({ url: cloud.outputs.transactionQueueUrls.payment });
  });

  it("serves the emulators to any AWS client and boots in reasonable time", async () => {
    const sqs = new SQSClient(clientConfig(cloud.outputs, "sqs"));
    const { QueueUrls } = await sqs.send(new ListQueuesCommand({}));
    sqs.destroy();
    expect(QueueUrls).toEqual(expect.arrayContaining(Object.values(cloud.outputs.transactionQueueUrls)));
    // Generous for a loaded CI machine; a quiet one boots in a few seconds.
    expect(cloud.bootMs).toBeLessThan(60_000);
  });

  it("holds a lock beside its outputs: a second cloud for them is refused before anything starts", async () => {
    expect(fs.readFileSync(path.join(dir, "cloud.pid"), "utf8")).toBe(`${process.pid}\n`);
    await expect(startLocalCloud({ stack: "dev", outputsFile: path.join(dir, "outputs.json"), traces: false, log: () => undefined })).rejects.toThrow(LocalCloudRunningError);
    expect(fs.existsSync(path.join(dir, "outputs.json"))).toBe(true);
  });

  it("stops cleanly: every server is closed, the outputs file and its lock are removed (the IAM usage stays, for npm run iam-report)", async () => {
    await cloud.stop();
    expect(cloud.outputs.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const urls = [...Object.values(cloud.outputs.awsEndpoints ?? {}), cloud.outputs.apiUrl];
    expect(urls).toHaveLength(6);
    for (const url of urls) await expect(fetch(url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual(["iam-usage.json"]);
  });
});
