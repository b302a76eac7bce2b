/**
 * The gateway between the functions and one emulator: the one layer where a call is first
 * authorized (IAM, `local/iam/`: the `guard` answers a refused call with the service's own
 * AccessDenied error) and then the spec's service faults are injected: a delay before the call, or, instead of the emulator's answer, the error the real
 * service returns in its own protocol (DynamoDB's `ProvisionedThroughputExceededException`, a 5xx
 * from SQS, SNS or Step Functions). The AWS SDK in the function then does what it does on AWS: it
 * retries throttling and 5xx with backoff, and the handler sees the error only when retries run out.
 *
 * The functions' `AWS_ENDPOINT_URL_<SERVICE>` point here; clients outside the functions (the tools,
 * the tests, the AWS CLI) use the emulators directly, as callers outside an FIS experiment would.
 * With no guard and no service fault in force a request is piped through untouched.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "./injector";
import type { FaultService, ServiceFaultKind } from "./spec";

/** The services behind the gateway: the fault services, and Parameter Store (authorized, no faults). */
export type GatewayService = FaultService | "ssm";

/** An answer sent instead of the emulator's. */
export interface GatewayAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Decides a request before it reaches the emulator: undefined lets it through, an answer refuses it.
 * @param parameters - The call's parameters (JSON body, or the query protocol's form), parsed on demand.
 */
export type RequestGuard = (
  service: GatewayService,
  operation: string,
  request: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer },
  parameters: () => Record<string, unknown>,
) => Promise<GatewayAnswer | undefined>;

/**
 * An emulator that runs in this process, answering a request without HTTP (the Step Functions
 * service, `StepFunctionsEmulator.answer`): the proxy hands it the request instead of making a
 * loopback HTTP call back into its own event loop.
 */
export type InProcessUpstream = (method: string, headers: http.IncomingHttpHeaders, body: Buffer) => Promise<GatewayAnswer>;

export interface ServiceProxy {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  stop(): Promise<void>;
}

/** Which service and operation a request calls: the JSON protocols name it in `X-Amz-Target`, SNS's query protocol in `Action`. */
export function identify(headers: http.IncomingHttpHeaders, body: string, fallback: GatewayService): { service: GatewayService; operation: string } {
  const target = String(headers["x-amz-target"] ?? "");
  const [prefix, operation] = target.split(".");
  if (prefix === "AmazonSSM") return { service: "ssm", operation: operation ?? target };
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

/** The parameters of a call: its JSON body, or its query-protocol form. */
function parseParameters(body: string): Record<string, unknown> {
  const text = body.trim();
  if (text.startsWith("{")) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/**
 * Starts a proxy in front of `target` (an emulator's base URL) on 127.0.0.1.
 * @param fallback - The service a request belongs to when nothing in it says (SNS for fauxqs).
 * @param guard - Authorizes each request first (IAM). @default none: every request passes
 * @param inProcess - Answers in this process instead of `target` (the same emulator, without its
 *   HTTP front). @default none: every request goes to `target` over HTTP
 */
export async function startServiceProxy(target: string, fallback: GatewayService, injector: FaultInjector, log: (line: string) => void, guard?: RequestGuard, inProcess?: InProcessUpstream): Promise<ServiceProxy> {
  const upstream = new URL(target);
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => {
    if (inProcess && body) {
      inProcess(req.method ?? "POST", req.headers, body).then(
        (answer) => res.writeHead(answer.status, answer.headers).end(answer.body),
        (error: unknown) => {
          log(`[faults] in-process ${target}: ${error instanceof Error ? error.message : String(error)}`);
          if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        },
      );
      return;
    }
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
    // Piped untouched when nothing needs the body (an in-process upstream takes it whole).
    if (injector.quiet && !guard && !inProcess) return forward(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => void handle(req, res, Buffer.concat(chunks)));
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const text = body.toString("utf8");
    const { service, operation } = identify(req.headers, text, fallback);
    if (guard) {
      let refused: GatewayAnswer | undefined;
      try {
        refused = await guard(service, operation, { method: req.method ?? "POST", url: req.url ?? "/", headers: req.headers, body }, () => parseParameters(text));
      } catch (error) {
        log(`[gateway] ${service} ${operation}: the authorization failed: ${error instanceof Error ? error.message : String(error)}`);
        refused = { status: 500, headers: { "content-type": "application/x-amz-json-1.0" }, body: JSON.stringify({ __type: "InternalFailure", message: "The local cloud could not authorize the request" }) };
      }
      if (refused) return void res.writeHead(refused.status, refused.headers).end(refused.body);
    }
    if (service === "ssm" || injector.quiet) return forward(req, res, body);
    const decision = injector.serviceFault(service, operation);
    const answer = () => {
      if (!decision.fault) return forward(req, res, body);
      const fault = faultResponse(service, decision.fault);
      res.writeHead(fault.status, fault.headers).end(fault.body);
    };
    if (decision.delayMs > 0) setTimeout(answer, decision.delayMs);
    else answer();
  };
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
