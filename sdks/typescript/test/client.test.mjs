import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

import Garmax, * as garmax from "../dist/esm/index.js";
import { FakeAPI } from "./fake-api.mjs";

const SESSION = { id: "cts_1", status: "queued", progress: 0 };
let api;
let client;
let slept;

beforeEach(async () => {
  api = await new FakeAPI().start();
  client = new Garmax({ apiKey: "gx_test_" + "a".repeat(32), baseUrl: api.baseUrl });
  slept = [];
  client.transport.sleep = async (ms) => {
    slept.push(ms);
  };
});
afterEach(() => api.close());

test("the mode is read from the key, and a key that is not ours is refused", () => {
  assert.equal(new Garmax({ apiKey: "gx_live_" + "x".repeat(32) }).mode, "live");
  assert.equal(client.livemode, false);
  assert.equal(new Garmax({ apiKey: "gx_live_x" }).baseUrl, "https://api.garmaxai.com/api");
  for (const apiKey of ["", "sk_live_abc", "gx_live_"]) {
    assert.throws(() => new Garmax({ apiKey }), /gx_live_/);
  }
});

test("requests carry the key and the pinned version; GETs no idempotency key", async () => {
  const pinned = new Garmax({ apiKey: "gx_live_" + "k".repeat(32), baseUrl: api.baseUrl, version: "2025-12-11" });
  api.queue({ body: { id: "org_1" } });
  assert.equal((await pinned.account.retrieve()).id, "org_1");
  const [request] = api.requests;
  assert.equal(request.path, "/api/v1/account");
  assert.equal(request.headers["x-api-key"], "gx_live_" + "k".repeat(32));
  assert.equal(request.headers["garmax-version"], "2025-12-11");
  assert.equal(request.headers["idempotency-key"], undefined);
});

test("every POST gets an Idempotency-Key kept across its retries", async () => {
  api.queue({ drop: true }, { status: 502, body: { error: "BadGateway", message: "", code: 502 } }, { status: 201, body: { id: "c" } });
  assert.deepEqual(await client.customers.upsert({ externalId: "customer_1", name: "Jo" }), { id: "c" });
  assert.equal(api.requests.length, 3);
  const keys = new Set(api.requests.map((r) => r.headers["idempotency-key"]));
  assert.equal(keys.size, 1);
  assert.match([...keys][0], /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(api.requests[0].body), { externalId: "customer_1", name: "Jo" });
  assert.equal(slept.length, 2);
  assert.ok(slept.every((ms) => ms > 0 && ms <= 8000));
});

test("a caller's idempotency key is sent as given", async () => {
  api.queue({ body: SESSION });
  await client.cartTryons.create({ cartId: "c", customerPhotoS3Key: "k", cartItems: [] }, { idempotencyKey: "order-42" });
  assert.equal(api.requests[0].headers["idempotency-key"], "order-42");
});

test("429 waits as long as Retry-After says", async () => {
  api.queue(
    { status: 429, headers: { "Retry-After": "3" }, body: { error: "RateLimitExceeded", message: "slow", code: 429, details: {} } },
    { body: SESSION },
  );
  assert.equal((await client.cartTryons.retrieve("cts_1")).id, "cts_1");
  assert.deepEqual(slept, [3000]);
});

test("409 in flight is retried, another conflict is thrown", async () => {
  api.queue(
    { status: 409, body: { error: "Conflict", message: "in flight", code: 409, details: { idempotencyKey: "x" } } },
    { body: { ...SESSION, status: "cancelled" } },
    { status: 409, body: { error: "Conflict", message: "done", code: 409, details: { status: "completed" } } },
  );
  assert.equal((await client.cartTryons.cancel("cts_1")).status, "cancelled");
  await assert.rejects(client.cartTryons.cancel("cts_1"), (error) => {
    assert.ok(error instanceof garmax.ConflictError);
    assert.deepEqual(error.details, { status: "completed" });
    return true;
  });
  assert.equal(api.requests.length, 3);
});

test("retries are bounded and the last error is thrown", async () => {
  const down = { status: 503, body: { error: "ServiceUnavailable", message: "down", code: 503, details: {} } };
  api.queue(down, down, down, down);
  await assert.rejects(client.customers.retrieve("c"), garmax.ServerError);
  assert.equal(api.requests.length, 4);
  assert.equal(slept.length, 3);
});

test("network errors past the retries throw APIConnectionError", async () => {
  api.queue({ drop: true }, { drop: true }, { drop: true }, { drop: true });
  await assert.rejects(client.account.retrieve(), garmax.APIConnectionError);
  assert.equal(api.requests.length, 4);
});

test("errors are typed and carry the body and the request id", async () => {
  api.queue({
    status: 403,
    body: { error: "InsufficientCredits", message: "Required: 10", code: 403, details: { required: 10, available: 5 }, requestId: "req_abc" },
  });
  await assert.rejects(client.cartTryons.create({ cartId: "c", customerPhotoS3Key: "k", cartItems: [] }), (error) => {
    assert.ok(error instanceof garmax.InsufficientCreditsError && error instanceof garmax.APIError);
    assert.deepEqual(
      [error.error, error.message, error.code, error.requestId, error.details],
      ["InsufficientCredits", "Required: 10", 403, "req_abc", { required: 10, available: 5 }],
    );
    return true;
  });
  api.queue({ status: 404, body: { error: "ResourceNotFound", message: "no", code: 404, details: {} } });
  await assert.rejects(client.customers.retrieve("nobody"), (error) => error instanceof garmax.NotFoundError && error.requestId === "req_2");
});

test("lists iterate every page by cursor", async () => {
  api.queue({ body: { data: [{ id: "cts_3" }, { id: "cts_2" }], hasMore: true } }, { body: { data: [{ id: "cts_1" }], hasMore: false } });
  const ids = [];
  for await (const session of client.cartTryons.list({ cartId: "cart_9", limit: 2 })) ids.push(session.id);
  assert.deepEqual(ids, ["cts_3", "cts_2", "cts_1"]);
  assert.deepEqual(api.requests.map((r) => r.path), [
    "/api/v1/cart-tryons?cartId=cart_9&limit=2",
    "/api/v1/cart-tryons?cartId=cart_9&limit=2&startingAfter=cts_2",
  ]);
});

test("a list fetches pages only as they are read", async () => {
  api.queue({ body: { data: [{ id: "cust_1" }], hasMore: true } });
  assert.deepEqual(await client.customers.list({ limit: 1 }).toArray(1), [{ id: "cust_1" }]);
  assert.equal(api.requests.length, 1);
});

test("photo upload sends the file as multipart under one key across retries", async () => {
  api.queue({ drop: true }, { body: { photoS3Key: "enterprise/org-1/photos/photo_1.jpg" } });
  const photo = await client.photos.upload("customer 1", new Uint8Array([0xff, 0xd8, 0x6a]), {
    filename: "me.jpg",
    metadata: { capturedAt: "2025-12-11T10:00:00Z" },
  });
  assert.ok(photo.photoS3Key.endsWith(".jpg"));
  const [first, retry] = api.requests;
  assert.equal(first.path, "/api/v1/customers/customer%201/photos");
  assert.equal(first.headers["idempotency-key"], retry.headers["idempotency-key"]);
  assert.match(first.headers["content-type"], /^multipart\/form-data; boundary=/);
  const body = retry.body.toString("latin1");
  assert.match(body, /name="photo"; filename="me.jpg"\r\nContent-Type: image\/jpeg\r\n\r\n\xff\xd8j/);
  assert.match(body, /name="metadata"\r\n\r\n\{"capturedAt":"2025-12-11T10:00:00Z"\}/);
});

for (const terminal of ["completed", "partial", "failed", "cancelled"]) {
  test(`wait stops on ${terminal}`, async () => {
    api.queue({ body: SESSION }, { body: { ...SESSION, status: "processing" } }, { body: { ...SESSION, status: terminal } });
    assert.equal((await client.cartTryons.wait("cts_1", 60)).status, terminal);
    assert.equal(api.requests.length, 3);
    assert.deepEqual(slept, [1000, 1000]);
  });
}

test("wait gives up after its timeout with the last state", async () => {
  api.queue({ body: { ...SESSION, status: "processing" } });
  await assert.rejects(client.cartTryons.wait("cts_1", 0), (error) => error instanceof garmax.WaitTimeout && error.last.status === "processing");
});

test("a single try-on's wait stops on skipped too", async () => {
  api.queue({ body: { id: "tryon_1", status: "skipped" } });
  assert.equal((await client.tryons.wait("tryon_1")).status, "skipped");
});
