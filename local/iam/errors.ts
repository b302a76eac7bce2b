/**
 * A refused call answered as the real service answers it, in its own protocol:
 * - DynamoDB, Step Functions (JSON 1.0) and SSM (JSON 1.1): 400 `AccessDeniedException`;
 * - SQS (JSON, query-compatible): 400 `AccessDenied` with the `x-amzn-query-error` header the
 *   SDK reads the query error code from; SQS spells the action in lower case in its message
 *   (`sqs:sendmessage`);
 * - SNS (query, XML): 403 `AuthorizationError`, the action spelt `SNS:Publish`.
 * A refused KMS action behind the call is the service's KMS error: SQS `KmsAccessDenied`
 * (query code `KMS.AccessDeniedException`), SNS `KMSAccessDenied`, DynamoDB and SSM
 * `AccessDeniedException`, the message KMS's own with AWS's `(Service: AWSKMS; ...)` suffix.
 */
import { randomUUID } from "node:crypto";
import type { AuthorizedService } from "./requests";

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How the service writes an action in its messages. */
export function actionAsWritten(service: AuthorizedService, action: string): string {
  if (action.startsWith("kms:")) return action;
  if (service === "sqs") return action.toLowerCase();
  if (service === "sns") return action.replace(/^sns:/, "SNS:");
  return action;
}

/**
 * The answer to a refused call.
 * @param message - AWS's sentence (`User: ... is not authorized to perform: ...`).
 * @param kms - The refused action is a KMS action the call implies.
 */
export function accessDeniedAnswer(service: AuthorizedService, message: string, kms: boolean): ErrorAnswer {
  const requestId = randomUUID();
  const text = kms ? `${message} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: ${randomUUID()}; Proxy: null)` : message;
  const json = (status: number, type: string, contentType: string, extra: Record<string, string> = {}) => ({
    status,
    headers: { "content-type": contentType, "x-amzn-requestid": requestId, ...extra },
    body: JSON.stringify({ __type: type, message: text }),
  });
  switch (service) {
    case "dynamodb":
      return json(400, "com.amazon.coral.service#AccessDeniedException", "application/x-amz-json-1.0");
    case "stepfunctions":
      return json(400, "com.amazon.coral.service#AccessDeniedException", "application/x-amz-json-1.0");
    case "ssm":
      return json(400, "AccessDeniedException", "application/x-amz-json-1.1");
    case "sqs":
      return kms
        ? json(400, "com.amazonaws.sqs#KmsAccessDenied", "application/x-amz-json-1.0", { "x-amzn-query-error": "KMS.AccessDeniedException;Sender" })
        : json(400, "com.amazon.coral.service#AccessDeniedException", "application/x-amz-json-1.0", { "x-amzn-query-error": "AccessDenied;Sender" });
    case "sns": {
      const code = kms ? "KMSAccessDenied" : "AuthorizationError";
      const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      return {
        status: kms ? 400 : 403,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        body: `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escaped}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    }
  }
}

/** A signature that does not match the secret of its access key id (every service's wording). */
export function signatureMismatchAnswer(service: AuthorizedService): ErrorAnswer {
  const requestId = randomUUID();
  const message = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
  if (service === "sns") {
    return {
      status: 403,
      headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
      body: `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  const extra: Record<string, string> = service === "sqs" ? { "x-amzn-query-error": "SignatureDoesNotMatch;Sender" } : {};
  return {
    status: 400,
    headers: { "content-type": service === "ssm" ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0", "x-amzn-requestid": requestId, ...extra },
    body: JSON.stringify({ __type: service === "sqs" ? "com.amazonaws.sqs#SignatureDoesNotMatch" : "InvalidSignatureException", message }),
  };
}
