/**
 * The fault control endpoint (its URL is `faultControlUrl` in the outputs file), so a test or a
 * person can turn faults on for a minute and off again while the local cloud runs:
 *
 * ```sh
 * curl -s "$FAULTS"                                    # {"spec":"seed=1","injected":{}}
 * curl -s -X PUT "$FAULTS" --data 'functions=crash:0.1;dynamodb=throttle:0.1;seed=7'
 * curl -s -X DELETE "$FAULTS"                          # no faults
 * ```
 *
 * `PUT` replaces the spec (spec.ts), restarts its random sequence and zeroes the counts; a bad spec
 * is refused with 400 and the reason, and the spec in force stays.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "./injector";
import { FaultSpecError, noFaults, parseFaultSpec } from "./spec";

export interface FaultControl {
  url: string;
  stop(): Promise<void>;
}

/** Bodies over this are refused: a spec is one line. */
const MAX_SPEC_BYTES = 64 * 1024;

export async function startFaultControl(injector: FaultInjector, log: (line: string) => void): Promise<FaultControl> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body) + "\n");
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_SPEC_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if ((req.url ?? "/") !== "/") return send(404, { message: `No such resource ${req.url}: the fault control endpoint is /` });
      switch (req.method) {
        case "GET":
          return send(200, injector.report());
        case "PUT":
        case "POST": {
          if (size > MAX_SPEC_BYTES) return send(413, { message: `The spec is ${size} bytes; at most ${MAX_SPEC_BYTES}` });
          try {
            injector.set(parseFaultSpec(Buffer.concat(chunks).toString("utf8")));
          } catch (error) {
            if (error instanceof FaultSpecError) return send(400, { message: error.message });
            throw error;
          }
          log(`[faults] spec set: ${injector.report().spec}`);
          return send(200, injector.report());
        }
        case "DELETE":
          injector.set(noFaults());
          log("[faults] off");
          return send(200, injector.report());
        default:
          res.setHeader("allow", "GET, PUT, POST, DELETE");
          return send(405, { message: `Method ${req.method} not allowed: GET the faults, PUT a spec, DELETE to stop` });
      }
    });
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
