/**
 * Serves the example order page (this folder's index.html and order-page.js) on its own origin,
 * which is the point: the page then calls the order API cross-origin, through CORS.
 *
 * ```sh
 * npx tsx examples/order-page/serve.ts               # http://127.0.0.1:8080 (dev and staging allow http://localhost:8080)
 * npx tsx examples/order-page/serve.ts --port 8081 --host localhost
 * ```
 *
 * The browser test (tests/examples/order-page.test.ts) serves it the same way, on free ports.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/** The files a browser may fetch, with their content types: nothing else of the repository. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/order-page.js": { file: "order-page.js", type: "text/javascript; charset=utf-8" },
};

export interface OrderPageServer {
  /** `http://<host>:<port>`: the origin the page calls the API from. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Starts serving the page.
 * @param options.port - the port; 0 picks a free one. @default 8080
 * @param options.host - the address to bind and to name in the origin. @default "127.0.0.1"
 */
export async function serveOrderPage(options: { port?: number; host?: string } = {}): Promise<OrderPageServer> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer((req, res) => {
    const entry = FILES[new URL(req.url ?? "/", "http://page").pathname];
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(entry ? 405 : 404, { "content-type": "text/plain; charset=utf-8" }).end(entry ? "GET only\n" : "Not found\n");
      return;
    }
    readFile(path.join(__dirname, entry.file)).then(
      (content) => res.writeHead(200, { "content-type": entry.type, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : content),
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `--port <n>` and `--host <name>`; anything else is refused with the usage. */
export function parseServeArgs(argv: string[]): { port: number; host: string } {
  const usage = "usage: npx tsx examples/order-page/serve.ts [--port 8080] [--host 127.0.0.1]";
  const options = { port: 8080, host: "127.0.0.1" };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--port" && value !== undefined && /^\d{1,5}$/.test(value) && Number(value) <= 65535) options.port = Number(value);
    else if (flag === "--host" && value !== undefined && value !== "") options.host = value;
    else throw new Error(`${flag ?? ""} ${value ?? ""}: not an option with a valid value\n${usage}`);
  }
  return options;
}

if (require.main === module) {
  try {
    const options = parseServeArgs(process.argv.slice(2));
    void serveOrderPage(options).then(
      (page) => console.log(`Order page at ${page.origin} (Ctrl-C stops it). The stack's corsAllowOrigins must list ${page.origin}.`),
      (error: unknown) => {
        console.error(String(error));
        process.exit(1);
      },
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}
