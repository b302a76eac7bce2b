/**
 * SSM Parameter Store: each `aws.ssm.Parameter` the program declares is served by the local
 * Parameter Store (`local/services/ssm/`) under its name and ARN, with its value (the runner
 * unwraps secrets before a provisioner sees them), type and key.
 */
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { awsShapedState } from "../../runner/aws-shaped-state";
import type { LocalDeployment } from "./context";
import { asString, plainInputs } from "./context";

export function provisionParameter(args: MockResourceArgs, deployment: LocalDeployment): MockResourceResult {
  const inputs = plainInputs(args);
  const base = awsShapedState({ ...args, inputs }, deployment.options);
  const name = base.state.name as string;
  const type = asString(inputs.type) ?? "String";
  if (type !== "String" && type !== "StringList" && type !== "SecureString") throw new Error(`Parameter ${name}: type ${type} is not one SSM has`);
  const value = asString(inputs.value) ?? asString(inputs.insecureValue);
  if (value === undefined) throw new Error(`Parameter ${name} has no value`);
  if (!deployment.options.parameters) throw new Error("The local cloud has no Parameter Store");
  deployment.options.parameters.put({ name, arn: base.state.arn as string, type, value, keyId: asString(inputs.keyId), dataType: asString(inputs.dataType) });
  return base;
}
