/**
 * The API's resources, named as the API names them; arguments and answers are the API's JSON objects
 * (camelCase, typed from the OpenAPI document).
 */
import { WaitTimeout } from "./errors.js";
import type { Query, Transport } from "./http.js";
import { ListIterator } from "./pagination.js";
import type {
  Account as AccountObject,
  CartTryOnCreateRequest,
  CartTryOnSession,
  CreditLedgerEntry,
  Customer,
  CustomerUpsertRequest,
  Photo,
  TryOn,
  TryOnCreateRequest,
  Webhook,
  WebhookCreated,
  WebhookCreateRequest,
  WebhookDelivery,
  WebhookRotated,
  WebhookTestResult,
  WebhookUpdateRequest,
} from "./types.js";

/** Every status after which a cart session never changes again: `wait()` stops on each of them. */
export const CART_TRYON_TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  "completed",
  "partial",
  "failed",
  "cancelled",
]);
export const TRYON_TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  "completed",
  "failed",
  "cancelled",
  "skipped",
]);

export interface PostOptions {
  /** Sent as `Idempotency-Key`; one is generated for every POST without it. */
  idempotencyKey?: string;
}

export interface WaitOptions {
  /** Seconds between two reads (default 1). */
  interval?: number;
}

export interface ListParams {
  limit?: number;
  startingAfter?: string;
  endingBefore?: string;
}

/** What `photos.upload` takes: bytes (a Node Buffer is a Uint8Array), an ArrayBuffer or a Blob/File. */
export type UploadFile = Blob | Uint8Array | ArrayBuffer;

const segment = (value: string) => encodeURIComponent(value);

abstract class Resource {
  constructor(protected readonly transport: Transport) {}

  protected listOf<T extends { id?: string | number }>(path: string, params: object = {}): ListIterator<T> {
    return new ListIterator<T>(this.transport, path, params as Query);
  }

  protected async waitFor<T extends { status?: unknown }>(
    path: string,
    id: string,
    terminal: ReadonlySet<string>,
    timeout: number,
    options: WaitOptions,
  ): Promise<T> {
    const interval = (options.interval ?? 1) * 1000;
    const deadline = Date.now() + timeout * 1000;
    // Conditional polls: the last ETag in If-None-Match, so an unchanged object is a 304 without a body
    // (not counted against the key's rate limit: README, "Conditional polling").
    let etag: string | undefined;
    let current: T | undefined;
    for (;;) {
      const answer: { status?: number; etag?: string | null } = {};
      const body = await this.transport.request<T>("GET", path, { ifNoneMatch: etag, answer });
      if (answer.status !== 304 || current === undefined) {
        current = body;
        etag = answer.etag ?? undefined;
      }
      if (terminal.has(String(current.status))) return current;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new WaitTimeout(`${id} is still ${String(current.status)} after ${timeout} s`, current as any);
      }
      await this.transport.sleep(Math.min(interval, left));
    }
  }
}

export class Customers extends Resource {
  /** Create the customer with your id, or update it (201 or 200; both return it). */
  upsert(params: CustomerUpsertRequest, options: PostOptions = {}): Promise<Customer> {
    return this.transport.request("POST", "/v1/customers", { json: params, ...options });
  }
  retrieve(externalId: string): Promise<Customer> {
    return this.transport.request("GET", `/v1/customers/${segment(externalId)}`);
  }
  delete(externalId: string): Promise<unknown> {
    return this.transport.request("DELETE", `/v1/customers/${segment(externalId)}`);
  }
  list(params: ListParams = {}): ListIterator<Customer> {
    return this.listOf("/v1/customers", params);
  }
}

export interface UploadOptions extends PostOptions {
  filename?: string;
  contentType?: string;
  metadata?: Record<string, unknown>;
}

export class Photos extends Resource {
  /** Upload a customer's photo; keep the answer's `photoS3Key` for try-ons. */
  upload(externalId: string, file: UploadFile, options: UploadOptions = {}): Promise<Photo> {
    const filename = options.filename ?? ((file as File).name || "photo.jpg");
    const type = options.contentType ?? ((file as Blob).type || guessType(filename));
    const blob = file instanceof Blob ? file : new Blob([file as BlobPart], { type });
    const form = new FormData();
    form.append("photo", new Blob([blob], { type }), filename);
    if (options.metadata !== undefined) form.append("metadata", JSON.stringify(options.metadata));
    return this.transport.request("POST", `/v1/customers/${segment(externalId)}/photos`, {
      form,
      idempotencyKey: options.idempotencyKey,
    });
  }
  list(externalId: string, params: ListParams = {}): ListIterator<Photo> {
    return this.listOf(`/v1/customers/${segment(externalId)}/photos`, params);
  }
}

export class CartTryons extends Resource {
  /** Start a cart try-on session (credits are charged now). */
  create(params: CartTryOnCreateRequest, options: PostOptions = {}): Promise<CartTryOnSession> {
    return this.transport.request("POST", "/v1/cart-tryons", { json: params, ...options });
  }
  retrieve(id: string): Promise<CartTryOnSession> {
    return this.transport.request("GET", `/v1/cart-tryons/${segment(id)}`);
  }
  /** Cancel the session: items not yet rendered are cancelled and refunded. */
  cancel(id: string, options: PostOptions = {}): Promise<CartTryOnSession> {
    return this.transport.request("POST", `/v1/cart-tryons/${segment(id)}/cancel`, options);
  }
  list(params: ListParams & { cartId?: string; status?: string } = {}): ListIterator<CartTryOnSession> {
    return this.listOf("/v1/cart-tryons", params);
  }
  /** Poll until completed, partial, failed or cancelled; WaitTimeout after `timeout` seconds. */
  wait(id: string, timeout = 300, options: WaitOptions = {}): Promise<CartTryOnSession> {
    return this.waitFor(`/v1/cart-tryons/${segment(id)}`, id, CART_TRYON_TERMINAL_STATUSES, timeout, options);
  }
}

export class Tryons extends Resource {
  create(params: TryOnCreateRequest, options: PostOptions = {}): Promise<TryOn> {
    return this.transport.request("POST", "/v1/tryons", { json: params, ...options });
  }
  retrieve(id: string): Promise<TryOn> {
    return this.transport.request("GET", `/v1/tryons/${segment(id)}`);
  }
  list(params: ListParams & { status?: string } = {}): ListIterator<TryOn> {
    return this.listOf("/v1/tryons", params);
  }
  /** Poll until completed, failed, cancelled or skipped. */
  wait(id: string, timeout = 300, options: WaitOptions = {}): Promise<TryOn> {
    return this.waitFor(`/v1/tryons/${segment(id)}`, id, TRYON_TERMINAL_STATUSES, timeout, options);
  }
}

export class Webhooks extends Resource {
  /** Register an endpoint; the answer's `secret` is shown once: store it to verify deliveries. */
  create(params: WebhookCreateRequest, options: PostOptions = {}): Promise<WebhookCreated> {
    return this.transport.request("POST", "/v1/webhooks", { json: params, ...options });
  }
  retrieve(id: string): Promise<Webhook> {
    return this.transport.request("GET", `/v1/webhooks/${segment(id)}`);
  }
  update(id: string, params: WebhookUpdateRequest): Promise<Webhook> {
    return this.transport.request("PATCH", `/v1/webhooks/${segment(id)}`, { json: params });
  }
  delete(id: string): Promise<unknown> {
    return this.transport.request("DELETE", `/v1/webhooks/${segment(id)}`);
  }
  list(params: ListParams = {}): ListIterator<Webhook> {
    return this.listOf("/v1/webhooks", params);
  }
  /** Send a signed test event now; the answer says how the endpoint responded. */
  test(id: string): Promise<WebhookTestResult> {
    return this.transport.request("POST", `/v1/webhooks/${segment(id)}/test`);
  }
  /** A new secret, shown once; the old one keeps signing beside it for 24 hours. */
  rotateSecret(id: string): Promise<WebhookRotated> {
    return this.transport.request("POST", `/v1/webhooks/${segment(id)}/rotate-secret`);
  }
  deliveries(
    id: string,
    params: ListParams & { status?: string; event?: string } = {},
  ): ListIterator<WebhookDelivery> {
    return this.listOf(`/v1/webhooks/${segment(id)}/deliveries`, params);
  }
  redeliver(id: string, deliveryId: string): Promise<unknown> {
    return this.transport.request(
      "POST",
      `/v1/webhooks/${segment(id)}/deliveries/${segment(deliveryId)}/redeliver`,
    );
  }
}

export class Account extends Resource {
  /** The key's organization, mode, balance of that mode, scopes and limits. */
  retrieve(): Promise<AccountObject> {
    return this.transport.request("GET", "/v1/account");
  }
  ledger(params: ListParams & { type?: string; from?: string; to?: string } = {}): ListIterator<CreditLedgerEntry> {
    return this.listOf("/v1/account/ledger", params);
  }
}

function guessType(filename: string): string {
  const extension = filename.toLowerCase().split(".").pop();
  return (
    { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp" }[extension ?? ""] ??
    "application/octet-stream"
  );
}
