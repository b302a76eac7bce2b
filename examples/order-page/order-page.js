// The example order page's logic: calls the order API from this page's own origin, so every call
// is cross-origin and goes through CORS (a preflight for POST and for any request with the key).
// The API URL and key are read from the form at each click and never stored (no cookies, no
// localStorage): this file holds no address and no secret.

const field = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
const result = /** @type {HTMLElement} */ (document.getElementById("result"));

/** The API's base URL without a trailing slash, or an error naming what is wrong with it. */
function apiBase() {
  const text = field("api-url").value.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/\S+$/.test(text)) throw new Error("Type the API URL first, e.g. http://127.0.0.1:37443/dev (apiUrl of the stack outputs)");
  return text;
}

/** The headers of a call: the key only when one is typed (so a call without it can be tried). */
function apiHeaders(extra = {}) {
  const key = field("api-key").value.trim();
  return { ...(key ? { "x-api-key": key } : {}), ...extra };
}

/**
 * Shows an answer: its outcome (`ok`, `refused` when the API answered an error the page could
 * read, `failed` when the browser got no readable answer, which is what a CORS refusal looks like
 * to a page), the status, the request id and the body.
 */
function show(outcome, title, detail = {}) {
  result.className = outcome;
  result.dataset.outcome = outcome;
  result.dataset.status = detail.status === undefined ? "" : String(detail.status);
  result.dataset.requestId = detail.requestId ?? "";
  result.replaceChildren();
  const heading = document.createElement("strong");
  heading.textContent = title;
  result.append(heading);
  if (detail.requestId) result.append(document.createTextNode(` (request id ${detail.requestId})`));
  if (detail.body !== undefined) {
    const pre = document.createElement("pre");
    pre.textContent = typeof detail.body === "string" ? detail.body : JSON.stringify(detail.body, null, 2);
    result.append(pre);
  }
}

/** One call to the API; every answer is shown, a network or CORS failure included. */
async function call(label, path, init) {
  let response;
  try {
    response = await fetch(`${apiBase()}${path}`, { ...init, mode: "cors", credentials: "omit" });
  } catch (error) {
    show("failed", `${label}: no readable answer`, {
      body: `${error instanceof Error ? error.message : String(error)}. The browser refused the call (an origin the API does not allow: see the console) or could not reach the API.`,
    });
    return undefined;
  }
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: shown as text.
  }
  const requestId = response.headers.get("x-request-id") ?? response.headers.get("x-amzn-requestid") ?? undefined;
  const replayed = response.headers.get("idempotent-replayed") === "true" ? " (replayed)" : "";
  show(response.ok ? "ok" : "refused", `${label}: ${response.status} ${response.statusText}${replayed}`, { status: response.status, requestId, body });
  return response.ok ? body : undefined;
}

async function placeOrder() {
  const raw = field("raw-body").value;
  const body = raw !== ""
    ? raw
    : JSON.stringify({ customer_id: field("customer-id").value.trim(), items: [{ product_id: field("product-id").value.trim(), quantity: Number(field("quantity").value) }] });
  const idempotencyKey = field("idempotency-key").value.trim();
  const answer = await call("POST /order", "/order", {
    method: "POST",
    headers: apiHeaders({ "content-type": "application/json", ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}) }),
    body,
  });
  if (answer && typeof answer.order_id === "string") field("order-id").value = answer.order_id;
}

async function getOrder() {
  const id = field("order-id").value.trim();
  await call(`GET /order/${id}`, `/order/${encodeURIComponent(id)}`, { headers: apiHeaders() });
}

/** Runs a click handler, showing an input problem instead of throwing it away. */
const guarded = (handler) => () => handler().catch((error) => show("failed", "Not sent", { body: error instanceof Error ? error.message : String(error) }));

field("idempotency-key").value = crypto.randomUUID();
document.getElementById("new-key")?.addEventListener("click", () => (field("idempotency-key").value = crypto.randomUUID()));
document.getElementById("place-order")?.addEventListener("click", guarded(placeOrder));
document.getElementById("get-order")?.addEventListener("click", guarded(getOrder));
