// The local Parameter Store through the AWS SDK: GetParameter by name, ARN and version, a
// SecureString's value only with WithDecryption, and AWS's errors for the rest.
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../local/emulators";
import { startSsm } from "../../../local/services/ssm";
import type { SsmService } from "../../../local/services/ssm";

let service: SsmService;
let ssm: SSMClient;
const name = "/app-dev/account-fingerprint-key";
const arn = "arn:aws:ssm:us-east-2:000000000000:parameter/app-dev/account-fingerprint-key";

beforeAll(async () => {
  service = await startSsm();
  ssm = new SSMClient(awsClientConfig(service.endpoint, "us-east-2"));
  service.put({ name, arn, type: "SecureString", value: "s3cr3t-0123456789abcdef0123456789", keyId: "arn:aws:kms:us-east-2:000000000000:key/k" });
  service.put({ name: "/app-dev/plain", arn: "arn:aws:ssm:us-east-2:000000000000:parameter/app-dev/plain", type: "String", value: "hello" });
});
afterAll(async () => {
  ssm?.destroy();
  await service?.stop();
});

describe("local Parameter Store", () => {
  it("binds 127.0.0.1 and answers GetParameter with the decrypted SecureString on request", async () => {
    expect(service.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(Parameter).toMatchObject({ Name: name, Type: "SecureString", Value: "s3cr3t-0123456789abcdef0123456789", Version: 1, ARN: arn, DataType: "text" });
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it("returns ciphertext, not the value, without WithDecryption; a String as it is", async () => {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(Parameter?.Value).not.toContain("s3cr3t");
    expect(Parameter?.Value).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect((await ssm.send(new GetParameterCommand({ Name: "/app-dev/plain" }))).Parameter?.Value).toBe("hello");
  });

  it("finds a parameter by ARN and by version selector; a new put is a new version", async () => {
    expect((await ssm.send(new GetParameterCommand({ Name: arn, WithDecryption: true }))).Parameter?.Name).toBe(name);
    expect((await ssm.send(new GetParameterCommand({ Name: `${name}:1`, WithDecryption: true }))).Parameter).toMatchObject({ Version: 1, Selector: ":1" });
    service.put({ name: "/app-dev/plain", arn: "arn:aws:ssm:us-east-2:000000000000:parameter/app-dev/plain", type: "String", value: "hello again" });
    expect((await ssm.send(new GetParameterCommand({ Name: "/app-dev/plain" }))).Parameter).toMatchObject({ Value: "hello again", Version: 2 });
    await expect(ssm.send(new GetParameterCommand({ Name: "/app-dev/plain:1" }))).rejects.toMatchObject({ name: "ParameterVersionNotFound" });
  });

  it("answers AWS's errors: an undeclared parameter, and actions it does not serve", async () => {
    await expect(ssm.send(new GetParameterCommand({ Name: "/app-dev/missing" }))).rejects.toMatchObject({ name: "ParameterNotFound", message: "Parameter /app-dev/missing not found." });
    await expect(ssm.send(new GetParametersByPathCommand({ Path: "/app-dev" }))).rejects.toMatchObject({ name: "UnknownOperationException" });
  });
});
