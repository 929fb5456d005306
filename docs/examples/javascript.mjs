// The API from JavaScript (Node 18+ or a browser's fetch): status, account, a customer upserted and read back,
// the key's rate-limit windows.
// Run: GARMAX_API_URL=https://api.garmax.ai/api GARMAX_API_KEY=gx_test_... node javascript.mjs
// (tests/config/test_docs_examples.py runs this file against a live test server when node is installed.)
const API = process.env.GARMAX_API_URL ?? "http://127.0.0.1:8000/api";
const KEY = process.env.GARMAX_API_KEY;
if (!KEY) throw new Error("set GARMAX_API_KEY to your gx_live_ or gx_test_ key");

async function call(method, path, body, headers = {}) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: { "X-API-Key": KEY, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json();
  if (!response.ok) {
    // Every error has the same body: {error, message, code, details, requestId}.
    throw new Error(`${answer.error} (${answer.code}): ${answer.message}`);
  }
  return { answer, headers: response.headers };
}

// 1. Is the service up? (no key needed)
const status = await (await fetch(`${API}/v1/status`)).json();
console.log("status:", status.status, status.engines.map((e) => `${e.name}=${e.state}`).join(" "));

// 2. The account behind the key.
const { answer: account } = await call("GET", "/v1/account");
console.log("organization:", account.organizationId, "credits:", account.credits, "livemode:", account.livemode);

// 3. A customer, upserted by your own id (201 created, 200 updated); Idempotency-Key makes a retry safe.
const customer = { externalId: "shopper-42", email: "shopper42@example.com", name: "Shopper 42" };
const { answer: created } = await call("POST", "/v1/customers", customer, { "Idempotency-Key": crypto.randomUUID() });
console.log("customer:", created.externalId);

// 4. Read it back.
console.log("read back:", (await call("GET", "/v1/customers/shopper-42")).answer.externalId);

// 5. Every rate-limit window of the key; the X-RateLimit-* headers report the tightest.
const { answer: limits, headers } = await call("GET", "/v1/status/rate-limits");
for (const window of limits.windows) console.log(`window ${window.window}: ${window.remaining} of ${window.limit} left`);
console.log("X-RateLimit-Remaining:", headers.get("X-RateLimit-Remaining"));
