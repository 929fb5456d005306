/**
 * One request to the API, retried when retrying is safe, over the platform's fetch (Node 20+, browsers).
 *
 * Every POST carries an `Idempotency-Key` (generated once per call and reused by its retries), so a POST is
 * retried like a GET: on network errors, on the 409 the API answers while the first attempt with that key is
 * still running, on 429 after its `Retry-After`, and on 5xx, with exponential backoff and jitter, a bounded
 * number of times.
 */
import { APIConnectionError, APIError, errorFromResponse, secondsFromHeader } from "./errors.js";
import { VERSION } from "./version.js";

const RETRY_STATUSES = new Set([409, 429, 500, 502, 503, 504]);
const MAX_BACKOFF_SECONDS = 8;
/** A Retry-After beyond this is not waited out inside a call: the 429 is thrown and the caller decides. */
const MAX_RETRY_AFTER_SECONDS = 60;

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  form?: FormData;
  idempotencyKey?: string;
  /** Makes a GET conditional: a 304 resolves to undefined (see `answer`). */
  ifNoneMatch?: string;
  /** Receives the answer's status and ETag. */
  answer?: { status?: number; etag?: string | null };
}

export interface TransportOptions {
  apiKey: string;
  baseUrl: string;
  version?: string;
  timeoutMs: number;
  maxRetries: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

export class Transport {
  readonly baseUrl: string;
  sleep: (ms: number) => Promise<void>;
  constructor(readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) params.append(key, String(value));
    }
    const search = params.toString();
    return this.baseUrl + path + (search ? `?${search}` : "");
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = {
      "X-API-Key": this.options.apiKey,
      Accept: "application/json",
    };
    // Browsers refuse to let scripts set User-Agent; Node sends ours.
    if (typeof window === "undefined") headers["User-Agent"] = `garmax-node/${VERSION}`;
    if (this.options.version) headers["Garmax-Version"] = this.options.version;
    if (options.ifNoneMatch) headers["If-None-Match"] = options.ifNoneMatch;
    let body: BodyInit | undefined;
    if (options.form) {
      body = options.form; // fetch sets the multipart boundary
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["Content-Type"] = "application/json";
    }
    if (method === "POST") headers["Idempotency-Key"] = options.idempotencyKey ?? randomId();
    const url = this.url(path, options.query);
    const doFetch = this.options.fetch ?? globalThis.fetch;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await doFetch(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (failure) {
        if (attempt >= this.options.maxRetries) {
          throw new APIConnectionError(`${method} ${url} got no answer: ${String(failure)}`, failure);
        }
        await this.sleep(backoff(attempt) * 1000);
        continue;
      }
      const text = await response.text();
      const parsed = decode(text);
      if (response.ok || response.status === 304) {
        if (options.answer) {
          options.answer.status = response.status;
          options.answer.etag = response.headers.get("etag");
        }
        return parsed as T;
      }
      const answerHeaders: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        answerHeaders[key.toLowerCase()] = value;
      });
      const error = errorFromResponse(response.status, parsed, answerHeaders);
      const delay = this.retryDelay(response.status, error, attempt);
      if (delay === undefined) throw error;
      await this.sleep(delay * 1000);
    }
  }

  private retryDelay(status: number, error: APIError, attempt: number): number | undefined {
    if (attempt >= this.options.maxRetries || !RETRY_STATUSES.has(status)) return undefined;
    // A 409 is retried only when it says our own first attempt is still in flight; other conflicts
    // (a cancelled session, a revoked key) will not change by waiting.
    if (status === 409 && !("idempotencyKey" in error.details)) return undefined;
    const retryAfter = secondsFromHeader(error.headers["retry-after"]);
    if (retryAfter !== undefined) return retryAfter > MAX_RETRY_AFTER_SECONDS ? undefined : retryAfter;
    return backoff(attempt);
  }
}

function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** attempt);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

function decode(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
