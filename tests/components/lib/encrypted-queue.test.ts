// EncryptedQueue (components/lib/encrypted-queue.ts) through the program runner: a stand-in
// program (vi.mock of components/program) declares a few queues, and runProgram records each
// resource's inputs, URN and alias URNs exactly as it does for the real program. Expected values
// are written out here.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { EncryptedQueue } from "../../../components/lib/encrypted-queue";
import type { DeclaredResource, ProgramRun } from "../../../runner/run-program";
import { runProgram } from "../../../runner/run-program";
import { TEST_SECRET } from "../../support/program";

// The program runProgram runs: whatever the test sets.
const stand = vi.hoisted(() => ({ program: (): unknown => ({}) }));
vi.mock("../../../components/program", () => ({ program: () => stand.program() }));

const REGION = "us-east-2"; // the dev stack's
const ACCOUNT = "123456789012"; // runProgram's default
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0b6d4e38-58c2-4e8e-9a53-3c1f4b3a9d10`;
const URN = "urn:pulumi:dev::utility-serverless::";
const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
const queueUrl = (name: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;

class Unit extends pulumi.ComponentResource {
  constructor(name: string, type = "test:index:Unit") {
    super(type, name, {});
  }
}

let run: ProgramRun;
const find = (type: string, name: string): DeclaredResource => {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`${found.length} ${type} named ${name}`);
  return found[0]!;
};
const queue = (name: string) => find("aws:sqs/queue:Queue", name);

beforeAll(async () => {
  stand.program = () => {
    const unit = new Unit("unit");
    const dlq = new EncryptedQueue("jobs-dlq", { name: "acme-jobs-dlq.fifo", fifo: true, kmsKeyArn: KEY, messageRetentionSeconds: 1_209_600 }, { parent: unit });
    const jobs = new EncryptedQueue("jobs", {
      name: "acme-jobs.fifo",
      fifo: true,
      highThroughput: true,
      kmsKeyArn: KEY,
      visibilityTimeoutSeconds: 180,
      deadLetter: { queue: dlq, maxReceiveCount: 4 },
      policyStatements: (arn) => [{ Sid: "TopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: arn }],
    }, { parent: unit });
    new EncryptedQueue("plain", {
      name: "acme-plain",
      kmsKeyArn: KEY,
      transform: {
        queue: (args) => {
          args.delaySeconds = 5;
        },
        policy: (args) => {
          args.queueUrl = "https://example.invalid/transformed";
        },
      },
    }, { parent: unit });
    // Declared under `unit` before; now under `home`.
    const home = new Unit("home", "test:index:Home");
    new EncryptedQueue("moved", { name: "acme-moved", kmsKeyArn: KEY, formerParent: unit }, { parent: home });
    return { link: jobs.link() };
  };
  run = await runProgram({ config: TEST_SECRET });
});

describe("the queue", () => {
  it("FIFO: deduplicated by the sender's id, throughput per queue", () => {
    expect(queue("jobs-dlq").inputs).toEqual({
      name: "acme-jobs-dlq.fifo",
      fifoQueue: true,
      contentBasedDeduplication: false,
      deduplicationScope: "queue",
      fifoThroughputLimit: "perQueue",
      kmsMasterKeyId: KEY,
      kmsDataKeyReusePeriodSeconds: 300,
      messageRetentionSeconds: 1_209_600,
    });
  });

  it("FIFO, high throughput: deduplication and throughput per message group; the redrive policy to its DLQ", () => {
    expect(queue("jobs").inputs).toEqual({
      name: "acme-jobs.fifo",
      fifoQueue: true,
      contentBasedDeduplication: false,
      deduplicationScope: "messageGroup",
      fifoThroughputLimit: "perMessageGroupId",
      kmsMasterKeyId: KEY,
      kmsDataKeyReusePeriodSeconds: 300,
      visibilityTimeoutSeconds: 180,
      redrivePolicy: `{"deadLetterTargetArn":"${queueArn("acme-jobs-dlq.fifo")}","maxReceiveCount":4}`,
    });
  });

  it("standard: no FIFO attribute at all; transform.queue applied", () => {
    expect(queue("plain").inputs).toEqual({ name: "acme-plain", kmsMasterKeyId: KEY, kmsDataKeyReusePeriodSeconds: 300, delaySeconds: 5 });
  });

  it("highThroughput on a standard queue is refused", () => {
    expect(() => new EncryptedQueue("bad", { name: "acme-bad", kmsKeyArn: KEY, highThroughput: true })).toThrow(
      new Error("EncryptedQueue bad: highThroughput applies to FIFO queues only"),
    );
  });
});

describe("its policies", () => {
  it("the DLQ's redrive-allow policy admits exactly its source queue", () => {
    const allow = find("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "jobs-dlq-redrive-allow");
    expect(allow.inputs).toEqual({
      queueUrl: queueUrl("acme-jobs-dlq.fifo"),
      redriveAllowPolicy: `{"redrivePermission":"byQueue","sourceQueueArns":["${queueArn("acme-jobs.fifo")}"]}`,
    });
    expect(run.resources.filter((r) => r.type === "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")).toHaveLength(1);
  });

  it("the queue policy: the caller's statements, then the TLS-only deny", () => {
    const policy = find("aws:sqs/queuePolicy:QueuePolicy", "jobs-policy");
    expect(policy.inputs.queueUrl).toBe(queueUrl("acme-jobs.fifo"));
    expect(JSON.parse(policy.inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "TopicDelivers", Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: queueArn("acme-jobs.fifo") },
        { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueArn("acme-jobs.fifo"), Condition: { Bool: { "aws:SecureTransport": "false" } } },
      ],
    });
  });

  it("without caller statements, only the deny; transform.policy applied", () => {
    const policy = find("aws:sqs/queuePolicy:QueuePolicy", "plain-policy");
    expect(policy.inputs.queueUrl).toBe("https://example.invalid/transformed");
    expect(JSON.parse(policy.inputs.policy as string).Statement).toEqual([
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueArn("acme-plain"), Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ]);
  });
});

describe("link()", () => {
  it("is the queue's ARN, URL and key", () => {
    expect(run.outputs.link).toEqual({ arn: queueArn("acme-jobs.fifo"), url: queueUrl("acme-jobs.fifo"), kmsKeyArn: KEY });
  });
});

describe("formerParent", () => {
  it("a new queue has no alias", () => {
    for (const r of run.resources.filter((x) => x.name.startsWith("jobs"))) expect(r.aliases, `${r.type} ${r.name}`).toEqual([]);
  });

  it("its resources keep the URNs they had under the former parent; the component itself is new", () => {
    const urns = (type: string, name: string) => {
      const r = find(type, name);
      return { urn: r.urn, aliases: r.aliases };
    };
    expect(urns("aws:sqs/queue:Queue", "moved")).toEqual({
      urn: `${URN}test:index:Home$utility:serverless:EncryptedQueue$aws:sqs/queue:Queue::moved`,
      aliases: [`${URN}test:index:Unit$aws:sqs/queue:Queue::moved`],
    });
    expect(urns("aws:sqs/queuePolicy:QueuePolicy", "moved-policy")).toEqual({
      urn: `${URN}test:index:Home$utility:serverless:EncryptedQueue$aws:sqs/queuePolicy:QueuePolicy::moved-policy`,
      aliases: [`${URN}test:index:Unit$aws:sqs/queuePolicy:QueuePolicy::moved-policy`],
    });
    expect(urns("utility:serverless:EncryptedQueue", "moved")).toEqual({ urn: `${URN}test:index:Home$utility:serverless:EncryptedQueue::moved`, aliases: [] });
  });
});
