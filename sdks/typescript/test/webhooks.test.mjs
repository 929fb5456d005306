// Vectors signed by the service's own code (webhooks/signing.py) during a rotation: the new secret and the old.
import assert from "node:assert/strict";
import { test } from "node:test";

import { WebhookVerificationError, webhooks } from "../dist/esm/index.js";

const SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const PREVIOUS = "whsec_cHJldmlvdXMtc2VjcmV0LXByZXZpb3VzLXNlY3JldCE=";
const BODY =
  '{"id":"evt_1","event":"cart_tryon.completed","timestamp":"2025-12-11T10:05:00Z","data":{"sessionId":"cts_1","price":29.99,"n":2}}';
const TIMESTAMP = 1765447500;
const HEADERS = {
  "content-type": "application/json",
  "x-webhook-signature": "e6302d78cebae84ab914faa6d86ce5c4db9ac519e993f9d27d0d23704531f163",
  "x-webhook-signature-previous": "b54873f3223e6225946720ce0bb419427a2e4e762910ff1cf4ea01b6b719de73",
  "webhook-id": "evt_1",
  "webhook-timestamp": String(TIMESTAMP),
  "webhook-signature": "v1,fcfHthgtLN8638Pe+84gPjRShLW1TGdIaY1FVCXp7ao= v1,sf8626SWb4hW877wBLD3h0NPsibhrdVLteEOgRcbXXY=",
};

test("the hex signature verifies with the new or the previous secret", async () => {
  for (const secret of [SECRET, PREVIOUS, [PREVIOUS, SECRET]]) {
    const event = await webhooks.verifyHex(BODY, HEADERS, secret);
    assert.deepEqual(event.data, { sessionId: "cts_1", price: 29.99, n: 2 });
  }
});

test("the standard signature verifies with either secret inside the window", async () => {
  for (const secret of [SECRET, PREVIOUS]) {
    const event = await webhooks.verifyStandard(new TextEncoder().encode(BODY), new Headers(HEADERS), secret, {
      now: TIMESTAMP + 299,
    });
    assert.equal(event.id, "evt_1");
  }
});

test("a stale or future timestamp is a replay", async () => {
  for (const now of [TIMESTAMP + 301, TIMESTAMP - 301]) {
    await assert.rejects(webhooks.verifyStandard(BODY, HEADERS, SECRET, { now }), /tolerance/);
  }
});

test("a changed body or another secret fails both ways", async () => {
  const changed = BODY.replace("29.99", "0.01");
  await assert.rejects(webhooks.verifyHex(changed, HEADERS, SECRET), WebhookVerificationError);
  await assert.rejects(webhooks.verifyStandard(changed, HEADERS, SECRET, { now: TIMESTAMP }), WebhookVerificationError);
  const other = "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlciE=";
  await assert.rejects(webhooks.verifyHex(BODY, HEADERS, other), WebhookVerificationError);
});

test("parsed JSON is refused for what it is", async () => {
  await assert.rejects(webhooks.verifyHex({ id: "evt_1" }, HEADERS, SECRET), /raw request body/);
});

test("constructEvent falls back to the hex signature without the standard headers", async () => {
  const hexOnly = Object.fromEntries(Object.entries(HEADERS).filter(([key]) => !key.startsWith("webhook")));
  assert.equal((await webhooks.constructEvent(BODY, hexOnly, SECRET)).id, "evt_1");
  await assert.rejects(webhooks.constructEvent(BODY, HEADERS, SECRET), /tolerance/);
});

test("signing helpers round-trip", async () => {
  const now = Math.floor(Date.now() / 1000);
  const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": await webhooks.signStandard(BODY, SECRET, "msg_1", now) };
  assert.equal((await webhooks.verifyStandard(BODY, headers, SECRET)).id, "evt_1");
  assert.equal(await webhooks.signHex(BODY, SECRET), HEADERS["x-webhook-signature"]);
});
