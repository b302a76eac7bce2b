/**
 * An HTTP proxy between the functions and one emulator, where the spec's service faults are
 * injected: a delay before the call, or, instead of the emulator's answer, the error the real
 * service returns in its own protocol (DynamoDB's `ProvisionedThroughputExceededException`, a 5xx
 * from SQS, SNS or Step Functions). The AWS SDK in the function then does what it does on AWS: it
 * retries throttling and 5xx with backoff, and the handler sees the error only when retries run out.
 *
 * The functions' `AWS_ENDPOINT_URL_<SERVICE>` point here; clients outside the functions (the tools,
 * the tests, the AWS CLI) use the emulators directly, as callers outside an FIS experiment would.
 * With no service fault in force a request is piped through untouched.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "./injector";
import type { FaultService, ServiceFaultKind } from "./spec";

export interface ServiceProxy {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  stop(): Promise<void>;
}

/** Which service and operation a request calls: the JSON protocols name it in `X-Amz-Target`, SNS's query protocol in `Action`. */
export function identify(headers: http.IncomingHttpHeaders, body: string, fallback: FaultService): { service: FaultService; operation: string } {
  const target = String(headers["x-amz-target"] ?? "");
  const [prefix, operation] = target.split(".");
  if (target.startsWith("DynamoDB_")) return { service: "dynamodb", operation: operation ?? target };
  if (prefix === "AmazonSQS") return { service: "sqs", operation: operation ?? target };
  if (prefix === "AWSStepFunctions") return { service: "stepfunctions", operation: operation ?? target };
  const form = new URLSearchParams(body);
  const action = form.get("Action");
  return { service: action && form.has("QueueUrl") ? "sqs" : fallback, operation: action ?? "unknown" };
}

/** The error answer of `service` for an injected `fault`, as the real service words it. */
export function faultResponse(service: FaultService, fault: ServiceFaultKind): { status: number; headers: Record<string, string>; body: string } {
  const requestId = randomUUID();
  const json = (status: number, type: string, message: string, extra: Record<string, string> = {}) => ({
    status,
    headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": requestId, ...extra },
    body: JSON.stringify({ __type: type, message: `${message} (injected fault)` }),
  });
  switch (service) {
    case "dynamodb":
      return fault === "throttle"
        ? json(400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
        : json(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error");
    case "sqs":
      return json(500, "com.amazonaws.sqs#InternalError", "We encountered an internal error. Please try again.", { "x-amzn-query-error": "InternalError;Receiver" });
    case "stepfunctions":
      return json(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.");
    case "sns":
      return {
        status: 500,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        body:
          `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>InternalError</Code>` +
          `<Message>Internal Error (injected fault)</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
  }
}

/**
 * Starts a proxy in front of `target` (an emulator's base URL) on 127.0.0.1.
 * @param fallback - The service a request belongs to when nothing in it says (SNS for fauxqs).
 */
export async function startServiceProxy(target: string, fallback: FaultService, injector: FaultInjector, log: (line: string) => void): Promise<ServiceProxy> {
  const upstream = new URL(target);
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => {
    const outgoing = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", (error) => {
      log(`[faults] proxy to ${target}: ${error.message}`);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    if (body) outgoing.end(body);
    else req.pipe(outgoing);
  };

  const server = http.createServer((req, res) => {
    if (injector.quiet) return forward(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const { service, operation } = identify(req.headers, body.toString("utf8"), fallback);
      const decision = injector.serviceFault(service, operation);
      const answer = () => {
        if (!decision.fault) return forward(req, res, body);
        const { status, headers, body: text } = faultResponse(service, decision.fault);
        res.writeHead(status, headers).end(text);
      };
      if (decision.delayMs > 0) setTimeout(answer, decision.delayMs);
      else answer();
    });
  });
  // A client that hangs up mid-request must not take the proxy (and the cloud) down.
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
