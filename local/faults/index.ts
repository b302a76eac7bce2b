/**
 * Fault injection in the local cloud, like AWS FIS (or LocalStack's chaos API, a paid feature):
 * - `spec.ts`: what to inject, one line (`--faults`, or the control endpoint);
 * - `injector.ts`: the seeded decisions, counts and the log line of every injected fault;
 * - `service-proxy.ts`: service faults, between the functions and each emulator;
 * - `control.ts`: the HTTP endpoint that reads and changes the spec while the cloud runs.
 * Function faults are applied by the function host (`local/runtime/function-host.ts`).
 */
import type { EmulatorEndpoints } from "../emulators";
import { startFaultControl } from "./control";
import { FaultInjector } from "./injector";
import { startServiceProxy } from "./service-proxy";
import type { FaultSpec } from "./spec";

export interface LocalFaults {
  injector: FaultInjector;
  /** The control endpoint (`faultControlUrl` in the outputs file). */
  controlUrl: string;
  /** Where the functions reach each service: the emulators, behind the fault proxies. */
  functionEndpoints: EmulatorEndpoints;
  stop(): Promise<void>;
}

/** Starts the injector with `spec`, a proxy per emulator and the control endpoint. */
export async function startFaults(spec: FaultSpec, emulators: EmulatorEndpoints, log: (line: string) => void): Promise<LocalFaults> {
  const injector = new FaultInjector(spec, log);
  const [messaging, dynamodb, stepfunctions, control] = await Promise.all([
    // fauxqs serves SNS and SQS on one endpoint: the proxy tells them apart per request.
    startServiceProxy(emulators.sns, "sns", injector, log),
    startServiceProxy(emulators.dynamodb, "dynamodb", injector, log),
    startServiceProxy(emulators.stepfunctions, "stepfunctions", injector, log),
    startFaultControl(injector, log),
  ]);
  return {
    injector,
    controlUrl: control.url,
    // Parameter Store is read once per environment at cold start: no faults there (yet).
    functionEndpoints: { sns: messaging.endpoint, sqs: messaging.endpoint, dynamodb: dynamodb.endpoint, stepfunctions: stepfunctions.endpoint, ssm: emulators.ssm },
    stop: async () => {
      await Promise.allSettled([messaging.stop(), dynamodb.stop(), stepfunctions.stop(), control.stop()]);
    },
  };
}
