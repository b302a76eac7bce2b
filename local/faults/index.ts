/**
 * Fault injection in the local cloud, like AWS FIS (or LocalStack's chaos API, a paid feature):
 * - `spec.ts`: what to inject, one line (`--faults`, or the control endpoint);
 * - `injector.ts`: the seeded decisions, counts and the log line of every injected fault;
 * - `service-proxy.ts`: the gateway between the functions and each emulator, where IAM authorizes
 *   each call (`local/iam/`) and then service faults are injected;
 * - `control.ts`: the HTTP endpoint that reads and changes the spec while the cloud runs.
 * Function faults are applied by the function host (`local/runtime/function-host.ts`).
 */
import type { EmulatorEndpoints } from "../emulators";
import { startFaultControl } from "./control";
import { FaultInjector } from "./injector";
import type { InProcessUpstream, RequestGuard } from "./service-proxy";
import { startServiceProxy } from "./service-proxy";
import type { FaultSpec } from "./spec";

export interface LocalFaults {
  injector: FaultInjector;
  /** The control endpoint (`faultControlUrl` in the outputs file). */
  controlUrl: string;
  /** Where the functions reach each service: the emulators, behind the gateway. */
  functionEndpoints: EmulatorEndpoints;
  stop(): Promise<void>;
}

/**
 * Starts the injector with `spec`, a gateway per emulator and the control endpoint.
 * @param guard - Authorizes every call through the gateway first (IAM). @default none
 * @param inProcess - Emulators of this process the gateway calls directly instead of over HTTP
 *   (`stepfunctions`: the Step Functions service). @default none
 */
export async function startFaults(spec: FaultSpec, emulators: EmulatorEndpoints, log: (line: string) => void, guard?: RequestGuard, inProcess: { stepfunctions?: InProcessUpstream } = {}): Promise<LocalFaults> {
  const injector = new FaultInjector(spec, log);
  const [messaging, dynamodb, stepfunctions, ssm, control] = await Promise.all([
    // fauxqs serves SNS and SQS on one endpoint: the proxy tells them apart per request.
    startServiceProxy(emulators.sns, "sns", injector, log, guard),
    startServiceProxy(emulators.dynamodb, "dynamodb", injector, log, guard),
    startServiceProxy(emulators.stepfunctions, "stepfunctions", injector, log, guard, inProcess.stepfunctions),
    // Parameter Store: authorized here, no faults (it is read once per environment at cold start).
    startServiceProxy(emulators.ssm, "ssm", injector, log, guard),
    startFaultControl(injector, log),
  ]);
  return {
    injector,
    controlUrl: control.url,
    functionEndpoints: { sns: messaging.endpoint, sqs: messaging.endpoint, dynamodb: dynamodb.endpoint, stepfunctions: stepfunctions.endpoint, ssm: ssm.endpoint },
    stop: async () => {
      await Promise.allSettled([messaging.stop(), dynamodb.stop(), stepfunctions.stop(), ssm.stop(), control.stop()]);
    },
  };
}
