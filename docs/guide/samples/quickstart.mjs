// Quickstart with the TypeScript SDK: customer -> photo -> cart try-on -> wait -> results.
// npm install garmax; GARMAX_API_KEY=gx_test_... node quickstart.mjs
import { readFile } from "node:fs/promises";

import Garmax from "garmax";

const client = new Garmax({ apiKey: process.env.GARMAX_API_KEY }); // baseUrl: $GARMAX_BASE_URL, else production
console.log(`mode: ${client.mode}`);

await client.customers.upsert({ externalId: "customer_12345", email: "john@example.com", name: "John Doe" });
const photo = await client.photos.upload("customer_12345", await readFile(process.env.PHOTO_PATH ?? "me.jpg"), {
  filename: "me.jpg",
});

const session = await client.cartTryons.create({
  cartId: "cart_001",
  customerPhotoS3Key: photo.photoS3Key,
  renderQuality: "sd",
  cartItems: [
    {
      productId: "prod_001",
      name: "Red top",
      imageUrl: process.env.GARMENT_URL ?? "https://shop.example.com/red-top.png",
      category: "tops",
    },
  ],
});
console.log(`session ${session.id}: ${session.status}, ${session.creditsCharged} credits`);

const finished = await client.cartTryons.wait(session.id, 120); // completed, partial, failed or cancelled
console.log(`status: ${finished.status}`);
for (const item of finished.cartItems) console.log(`${item.productId}: ${item.status} ${item.resultUrl}`);
