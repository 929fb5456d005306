/** `new Garmax({ apiKey })`: the client a partner builds once and shares (it holds no per-request state). */
import { Transport } from "./http.js";
import { Account, CartTryons, Customers, Photos, Tryons, Webhooks } from "./resources.js";

export const DEFAULT_BASE_URL = "https://api.garmaxai.com/api";

export interface GarmaxOptions {
  apiKey?: string;
  /** Defaults to process.env.GARMAX_BASE_URL in Node, else production. */
  baseUrl?: string;
  /** A `Garmax-Version` date (YYYY-MM-DD) to pin; without it the organization's pinned version answers. */
  version?: string;
  /** Per attempt, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Bounds the retries of one call: network errors, 409 in flight, 429, 5xx (default 3). */
  maxRetries?: number;
  /** Another fetch implementation (default: the platform's). */
  fetch?: typeof fetch;
}

/** `live` or `test`, read from the key's prefix; throws for anything that is not one of our keys. */
export function keyMode(apiKey: string): "live" | "test" {
  for (const [prefix, mode] of [
    ["gx_live_", "live"],
    ["gx_test_", "test"],
  ] as const) {
    if (typeof apiKey === "string" && apiKey.startsWith(prefix) && apiKey.length > prefix.length) return mode;
  }
  throw new TypeError("apiKey must be a GarmaxAI API key (gx_live_… or gx_test_…)");
}

function env(name: string): string | undefined {
  const processLike = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return processLike?.env?.[name];
}

export class Garmax {
  readonly mode: "live" | "test";
  readonly livemode: boolean;
  readonly customers: Customers;
  readonly photos: Photos;
  readonly cartTryons: CartTryons;
  readonly tryons: Tryons;
  readonly webhooks: Webhooks;
  readonly account: Account;
  /** @internal */
  readonly transport: Transport;

  constructor(options: GarmaxOptions = {}) {
    const apiKey = options.apiKey ?? env("GARMAX_API_KEY") ?? "";
    this.mode = keyMode(apiKey);
    this.livemode = this.mode === "live";
    const maxRetries = options.maxRetries ?? 3;
    if (!(maxRetries >= 0)) throw new TypeError("maxRetries must be 0 or more");
    this.transport = new Transport({
      apiKey,
      baseUrl: options.baseUrl ?? env("GARMAX_BASE_URL") ?? DEFAULT_BASE_URL,
      version: options.version,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries,
      fetch: options.fetch,
    });
    this.customers = new Customers(this.transport);
    this.photos = new Photos(this.transport);
    this.cartTryons = new CartTryons(this.transport);
    this.tryons = new Tryons(this.transport);
    this.webhooks = new Webhooks(this.transport);
    this.account = new Account(this.transport);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }
}

export default Garmax;
