// The partner API reference's Node example, corrected: an ES module (top-level await is allowed here, not in
// CommonJS), Node's own fetch instead of axios, the photo uploaded first, and a loop that ends on every
// terminal status, cancelled included.
import { readFile } from "node:fs/promises";

const API_KEY = process.env.GARMAX_API_KEY;
const BASE_URL = process.env.GARMAX_BASE_URL ?? "https://api.garmaxai.com/api";
const TERMINAL = new Set(["completed", "partial", "failed", "cancelled"]);

async function call(method, path, body, extraHeaders = {}) {
  const headers = { "X-API-Key": API_KEY, ...extraHeaders };
  if (body !== undefined && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers,
    body: body instanceof FormData ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(`${data.error}: ${data.message} (request ${data.requestId})`);
  return data;
}

async function uploadPhoto(externalId, path) {
  const form = new FormData();
  form.append("photo", new Blob([await readFile(path)], { type: "image/jpeg" }), "me.jpg");
  return (await call("POST", `/v1/customers/${externalId}/photos`, form)).photoS3Key;
}

async function createCartTryon(cartId, customerPhotoS3Key, cartItems) {
  return call(
    "POST",
    "/v1/cart-tryons",
    { cartId, customerPhotoS3Key, cartItems, renderQuality: "hd", backgroundScene: "studio" },
    { "Idempotency-Key": `cart-${cartId}` },
  );
}

async function waitForCompletion(sessionId, maxAttempts = 60) {
  for (let i = 0; i < maxAttempts; i++) {
    const session = await call("GET", `/v1/cart-tryons/${sessionId}`);
    console.log(`Status: ${session.status}, Progress: ${session.progress}%`);
    if (TERMINAL.has(session.status)) return session;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error("Timeout waiting for completion");
}

await call("POST", "/v1/customers", { externalId: "customer_12345", name: "John Doe" });
const photoKey = await uploadPhoto("customer_12345", process.env.PHOTO_PATH ?? "me.jpg");
const session = await createCartTryon(`cart_${Date.now()}`, photoKey, [
  {
    productId: "prod_001",
    variantId: "var_blue_m",
    name: "Blue T-Shirt",
    imageUrl: process.env.GARMENT_URL ?? "https://shop.com/tshirt.jpg",
    category: "tops",
    quantity: 1,
    price: 29.99,
    currency: "USD",
  },
]);
const result = await waitForCompletion(session.id);
for (const item of result.cartItems) console.log(`${item.name}: ${item.status} ${item.resultUrl}`);
