/** Names for the API's objects, from the types generated out of the OpenAPI document (generated/openapi.ts). */
import type { components } from "./generated/openapi.js";

type Schemas = components["schemas"];

export type Account = Schemas["Account"];
export type CreditLedgerEntry = Schemas["CreditLedgerEntry"];
export type Customer = Schemas["Customer"];
export type CustomerUpsertRequest = Schemas["CustomerUpsertRequest"];
export type Photo = Schemas["Photo"];
export type CartTryOnSession = Schemas["CartTryOnSession"];
export type CartTryOnCreateRequest = Schemas["CartTryOnCreateRequest"];
export type CartItemRequest = Schemas["CartItemRequest"];
export type TryOn = Schemas["TryOn"];
export type TryOnCreateRequest = Schemas["TryOnCreateRequest"];
export type Webhook = Schemas["Webhook"];
export type WebhookCreated = Schemas["WebhookCreated"];
export type WebhookCreateRequest = Schemas["WebhookCreateRequest"];
export type WebhookUpdateRequest = Schemas["PatchedWebhookUpdateRequest"];
export type WebhookRotated = Schemas["WebhookRotated"];
export type WebhookTestResult = Schemas["WebhookTestResult"];
export type WebhookDelivery = Schemas["WebhookDelivery"];

/** A page of any list: the API's `{ data, hasMore, … }`. */
export interface Page<T> {
  data: T[];
  hasMore: boolean;
  [key: string]: unknown;
}

/** Every webhook delivery's body: `{ id, event, timestamp, data }` (and `livemode`). */
export interface WebhookEvent<D = Record<string, any>> {
  id: string;
  event: string;
  timestamp: string;
  livemode?: boolean;
  data: D;
}
