/**
 * Linked SSM parameters at run time: a SecureString's decrypted value, read with Powertools
 * Parameters (`SSMProvider`, `GetParameter` with `WithDecryption`) once per execution environment,
 * on its first invocation (its cold start), and kept for its life. The value never travels in the
 * function's configuration, so `lambda:GetFunctionConfiguration` does not reveal it.
 *
 * A failed read (the parameter missing, access denied) is not kept: the invocation fails with the
 * SDK's error (a message is then retried like any failure) and the next invocation reads again.
 */
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { SSMClient } from "@aws-sdk/client-ssm";
import { traced } from "./aws/traced";
import type { LinkValues } from "./links";

let provider: SSMProvider | undefined;
const values = new Map<string, Promise<string>>();

/** The decrypted value of a linked parameter, read on first use and then kept. */
export function parameterValue(parameter: LinkValues["parameter"]): Promise<string> {
  const known = values.get(parameter.name);
  if (known) return known;
  // The SSM client lives here, not beside the others in aws/: only functions that read a
  // parameter bundle it.
  provider ??= new SSMProvider({ awsSdkV3Client: traced(new SSMClient({})) });
  const read = provider.get(parameter.name, { decrypt: true }).then((value) => {
    if (typeof value !== "string" || value === "") throw new Error(`SSM parameter ${parameter.name} has no value`);
    return value;
  });
  values.set(parameter.name, read);
  read.catch(() => values.delete(parameter.name));
  return read;
}
