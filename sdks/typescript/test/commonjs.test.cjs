// The CommonJS build: require() gives the same client, default export included.
const assert = require("node:assert/strict");
const { test } = require("node:test");

const garmax = require("../dist/cjs/index.js");

test("require() loads the client, its errors and the webhook helpers", () => {
  const client = new garmax.Garmax({ apiKey: "gx_test_" + "a".repeat(32) });
  assert.equal(client.mode, "test");
  assert.equal(garmax.default, garmax.Garmax);
  assert.equal(typeof garmax.webhooks.verifyStandard, "function");
  assert.ok(new garmax.NotFoundError({ error: "ResourceNotFound", message: "", code: 404 }) instanceof garmax.APIError);
});
