// Receive and verify webhooks with the TypeScript SDK, on the raw body, during a rotation (Node 20+).
import { createServer } from "node:http";

import Garmax, { webhooks } from "garmax";

const client = new Garmax({ apiKey: process.env.GARMAX_API_KEY });
const secrets = [];
const received = [];

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", async () => {
    const raw = Buffer.concat(chunks); // the raw body: never JSON.parse then JSON.stringify it
    try {
      const event = await webhooks.constructEvent(raw, request.headers, secrets);
      await webhooks.verifyHex(raw, request.headers, secrets); // the hex X-Webhook-Signature verifies too
      received.push(event);
      response.writeHead(200).end();
    } catch {
      response.writeHead(400).end();
    }
  });
});
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 8003), "127.0.0.1", resolve));
const url = process.env.RECEIVER_URL ?? `http://127.0.0.1:${server.address().port}/garmax`;

const next = async (count) => {
  for (let i = 0; i < 300 && received.length < count; i++) await new Promise((r) => setTimeout(r, 100));
  if (received.length < count) throw new Error("no verified delivery");
  return received[count - 1];
};

const endpoint = await client.webhooks.create({ url, events: ["cart_tryon.completed"] });
secrets.push(endpoint.secret);
await client.webhooks.test(endpoint.id);
console.log("verified:", (await next(1)).event);

const rotated = await client.webhooks.rotateSecret(endpoint.id);
secrets.unshift(rotated.secret); // the old secret still signs beside the new one for 24 hours
await client.webhooks.test(endpoint.id);
console.log("verified after rotation:", (await next(2)).event);
await client.webhooks.delete(endpoint.id);
server.close();
