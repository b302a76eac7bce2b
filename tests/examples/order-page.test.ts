/**
 * CORS on the order API, proven in a real browser (issue 13): a local cloud of the dev stack that
 * allows the example page's origin, the page (examples/order-page/) served from another local
 * origin, and headless Chromium (Debian's `chromium`, driven by playwright-core) clicking through
 * it: an order placed with an Idempotency-Key (and replayed), read back, the error bodies of a call
 * without the key and of a malformed body, and the same page on an origin the stack does not allow,
 * which the browser refuses.
 *
 * Each answer's CORS headers are checked by name before what the page shows, so removing any of
 * them fails with the header's name (a missing Access-Control-Allow-Origin would otherwise only
 * show as the page's "no readable answer"). The preflights are checked as Chromium received them
 * (DevTools protocol) and as the gateway answers the same request from here.
 *
 * `UPDATE_SCREENSHOT=1 npx vitest run tests/examples/order-page.test.ts` also writes
 * docs/order-page.png, the README's picture of the page.
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORS_ALLOW_HEADERS, CORS_MAX_AGE_SECONDS } from "../../components/orders/cors";
import { serveOrderPage } from "../../examples/order-page/serve";
import type { OrderPageServer } from "../../examples/order-page/serve";
import type { LocalCloud } from "../../local/cloud";
import { startLocalCloud } from "../../local/cloud";
import { corsProblems } from "./cors-headers";

const CHROMIUM = "/usr/bin/chromium";
/** Without these Chromium waits on network services this closed machine never answers. */
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
/** The headers the API reads: the preflight must allow each (`CORS_ALLOW_HEADERS` adds tracestate). */
const READ_HEADERS = ["content-type", "x-api-key", "idempotency-key", "traceparent"];

let cloud: LocalCloud;
let allowed: OrderPageServer;
let disallowed: OrderPageServer;
let context: BrowserContext;
let userDataDir: string;
let apiUrl: string;
let apiKey: string;
const logs: string[] = [];
/** The responses to the API that Chromium received, preflights included (DevTools protocol). */
const seen: { url: string; method: string; type: string; status: number; headers: Record<string, string> }[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium), as .ci/run does`);
  allowed = await serveOrderPage({ port: 0 });
  disallowed = await serveOrderPage({ port: 0 });
  // Two origins: the multi-origin form, where the preflight's template picks the origin and the
  // gateway responses copy the caller's (README, "CORS").
  cloud = await startLocalCloud({
    stack: "dev",
    config: { accountFingerprintKey: randomBytes(32).toString("hex"), corsAllowOrigins: JSON.stringify([allowed.origin, "http://localhost:8080"]) },
    outputsFile: false,
    traces: false,
    log: (line) => void (logs.push(line) > 300 && logs.shift()),
  });
  apiUrl = cloud.outputs.apiUrl;
  apiKey = cloud.outputs.apiKey;
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "order-page-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 900, height: 1000 } });
}, 240_000);

afterAll(async () => {
  await context?.close();
  await cloud?.stop();
  await Promise.all([allowed?.close(), disallowed?.close()]);
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

/** A fresh tab on a page server, recording what Chromium received from the API. */
async function openPage(server: OrderPageServer): Promise<Page> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const requests = new Map<string, { method: string; url: string }>();
  cdp.on("Network.requestWillBeSent", (event) => requests.set(event.requestId, { method: event.request.method, url: event.request.url }));
  cdp.on("Network.responseReceived", (event) => {
    if (!event.response.url.startsWith(apiUrl)) return;
    const request = requests.get(event.requestId);
    seen.push({ url: event.response.url, method: request?.method ?? (event.type === "Preflight" ? "OPTIONS" : "?"), type: event.type, status: event.response.status, headers: event.response.headers });
  });
  await cdp.send("Network.enable");
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.goto(server.origin);
  await page.fill("#api-url", apiUrl);
  await page.fill("#api-key", apiKey);
  return page;
}

/** Clicks a button and waits for the page to show the answer. */
async function click(page: Page, button: string) {
  const before = seen.length;
  await page.$eval("#result", (el) => void delete el.dataset.outcome);
  await page.click(button);
  await page.waitForSelector("#result[data-outcome]", { timeout: 20_000 });
  const shown = await page.$eval("#result", (el) => ({ outcome: el.dataset.outcome!, status: el.dataset.status!, requestId: el.dataset.requestId!, text: el.textContent ?? "", body: el.querySelector("pre")?.textContent ?? "" }));
  let body: unknown;
  try {
    body = JSON.parse(shown.body);
  } catch {
    body = shown.body;
  }
  return { ...shown, body, received: seen.slice(before) };
}

/** Checks the CORS headers of what Chromium received for one click, by header name. */
function expectCors(received: typeof seen, origin: string, what: string) {
  const actual = received.filter((r) => r.type !== "Preflight");
  expect(actual.length, `${what}: Chromium received no answer from the API`).toBeGreaterThan(0);
  for (const response of actual) expect(corsProblems(`${what} (${response.status})`, response.headers, { kind: "response", origin })).toEqual([]);
  for (const preflight of received.filter((r) => r.type === "Preflight")) {
    expect(corsProblems(`${what}: preflight`, preflight.headers, { kind: "preflight", origin, method: what.split(" ")[0]!, requestHeaders: READ_HEADERS })).toEqual([]);
  }
}

describe("the order API's preflights, as API Gateway answers them", () => {
  const preflight = (resource: string, origin: string, method: string) =>
    fetch(`${apiUrl}${resource}`, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": READ_HEADERS.join(",") } });

  it("answers an allowed origin on both resources itself: no key, every CORS header", async () => {
    for (const [resource, method] of [["/order", "POST"], [`/order/${randomUUID()}`, "GET"]] as const) {
      const response = await preflight(resource, allowed.origin, method);
      expect(response.status, resource).toBe(200);
      expect(corsProblems(`OPTIONS ${resource}`, Object.fromEntries(response.headers), { kind: "preflight", origin: allowed.origin, method, requestHeaders: READ_HEADERS })).toEqual([]);
      expect(response.headers.get("access-control-allow-headers")?.split(",")).toEqual([...CORS_ALLOW_HEADERS]);
      expect(response.headers.get("access-control-max-age")).toBe(String(CORS_MAX_AGE_SECONDS));
    }
    // No function ran: the MOCK integration answered.
    expect(logs.filter((line) => line.includes("orders-api") && line.includes("OPTIONS"))).toEqual([]);
  });

  it("gives an origin that is not allowed no CORS header at all", async () => {
    const response = await preflight("/order", disallowed.origin, "POST");
    expect(response.status).toBe(200);
    const cors = [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
    expect(cors, "CORS headers for a disallowed origin").toEqual([]);
    expect(response.headers.get("vary")).toBe("Origin");
  });
});

describe("the example order page in Chromium", () => {
  let page: Page;
  let orderId: string;
  const idempotencyKey = `web-${randomUUID()}`;

  beforeAll(async () => {
    page = await openPage(allowed);
  });

  it("places an order with an Idempotency-Key, and gets the same order for a retry", async () => {
    await page.fill("#idempotency-key", idempotencyKey);
    const placed = await click(page, "#place-order");
    expectCors(placed.received, allowed.origin, "POST /order");
    expect(placed.received.some((r) => r.type === "Preflight"), "Chromium sent no preflight for POST /order (the test would prove nothing)").toBe(true);
    expect(placed, logs.slice(-20).join("\n")).toMatchObject({ outcome: "ok", status: "200", body: { order_id: expect.any(String), status: "PENDING" } });
    // The request id came from an exposed header: the page could read it.
    expect(placed.requestId).toMatch(/^[0-9a-f-]{36}$/);
    orderId = (placed.body as { order_id: string }).order_id;

    const replayed = await click(page, "#place-order");
    expectCors(replayed.received, allowed.origin, "POST /order");
    expect(replayed).toMatchObject({ outcome: "ok", body: { order_id: orderId } });
    expect(replayed.text, "idempotent-replayed must be readable (Access-Control-Expose-Headers)").toContain("(replayed)");
  });

  it("reads the order back with GET /order/{id}", async () => {
    expect(await page.inputValue("#order-id")).toBe(orderId);
    const got = await click(page, "#get-order");
    expectCors(got.received, allowed.origin, "GET /order/{id}");
    expect(got).toMatchObject({ outcome: "ok", status: "200", body: { order_id: orderId, customer_id: "cust-web-001", items: [{ product_id: "prod-widget", quantity: 2 }] } });
    if (process.env.UPDATE_SCREENSHOT) await page.screenshot({ path: path.join(__dirname, "..", "..", "docs", "order-page.png"), fullPage: true });
  });

  it("reads the gateway's error body of a call without the key (403)", async () => {
    await page.fill("#api-key", "");
    await page.fill("#idempotency-key", "");
    const refused = await click(page, "#place-order");
    await page.fill("#api-key", apiKey);
    expectCors(refused.received, allowed.origin, "POST /order");
    expect(refused).toMatchObject({ outcome: "refused", status: "403", body: { message: "Forbidden", requestId: expect.any(String) } });
    expect(refused.requestId, "x-amzn-RequestId must be readable").toBe((refused.body as { requestId: string }).requestId);
  });

  it("reads the error body of a malformed body (400 from the request model)", async () => {
    await page.fill("#raw-body", "{not json");
    const refused = await click(page, "#place-order");
    await page.fill("#raw-body", "");
    expectCors(refused.received, allowed.origin, "POST /order");
    expect(refused).toMatchObject({ outcome: "refused", status: "400", body: { message: "Invalid order", errors: [{ field: "(body)" }] } });
  });

  it("keeps the key out of storage", async () => {
    // A string: the test's TypeScript has no DOM types; this runs in the page.
    expect(await page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")).toEqual([0, 0, ""]);
  });
});

describe("the same page on an origin the stack does not allow", () => {
  it("is refused by the browser: the preflight carries no Access-Control-Allow-Origin", async () => {
    const page = await openPage(disallowed);
    consoleErrors.length = 0;
    const refused = await click(page, "#place-order");
    expect(refused).toMatchObject({ outcome: "failed", status: "" });
    expect(refused.text).toContain("Failed to fetch");
    expect(consoleErrors.join("\n")).toContain(`from origin '${disallowed.origin}' has been blocked by CORS policy`);
    // Chromium stopped at the preflight: the POST itself never reached the API.
    expect(refused.received.map((r) => r.type)).not.toContain("Fetch");
    await page.close();
  });
});
