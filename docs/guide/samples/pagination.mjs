// Every list is an async iterator: pages are fetched with the cursor (startingAfter) as you read.
import Garmax from "garmax";

const client = new Garmax({ apiKey: process.env.GARMAX_API_KEY });
let count = 0;
for await (const customer of client.customers.list({ limit: 2 })) {
  count += customer.externalId ? 1 : 0;
}
console.log(`customers: ${count}`);
const firstTen = await client.cartTryons.list({ status: "completed" }).toArray(10);
console.log(`completed sessions (up to 10): ${firstTen.length}`);
