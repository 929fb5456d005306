/**
 * Verifying webhook deliveries on the raw request body (the bytes as received, before any JSON parsing), with
 * the Web Crypto API (Node 20+ and browsers alike).
 *
 * Every delivery is signed two ways:
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>` per secret in
 *   use) over `${id}.${timestamp}.${body}`, keyed by the base64 part of `whsec_…`; the timestamp must be within
 *   `tolerance` seconds of now, which rejects replays.
 * - The partner API reference's `X-Webhook-Signature`: hex HMAC-SHA256 of the body keyed by the whole secret
 *   string; during a rotation `X-Webhook-Signature-Previous` carries the same with the previous secret.
 * During a rotation the old secret keeps signing beside the new one for 24 hours: pass both (`[next, old]`).
 */
import { GarmaxError } from "./errors.js";
import type { WebhookEvent } from "./types.js";

export const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The delivery's signature matches none of the given secrets, or its timestamp is outside the tolerance. */
export class WebhookVerificationError extends GarmaxError {}

export type RawBody = string | Uint8Array | ArrayBuffer;
export type HeaderBag =
  | Headers
  | Record<string, string | string[] | undefined>
  | Iterable<[string, string]>;

const encoder = new TextEncoder();

function raw(body: RawBody): Uint8Array {
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("pass the raw request body (string or bytes), not parsed JSON: re-serializing changes it");
}

function lowerHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  const entries =
    typeof (headers as Headers).forEach === "function" && typeof (headers as Headers).get === "function"
      ? Array.from((headers as Headers).entries())
      : Symbol.iterator in (headers as object)
        ? Array.from(headers as Iterable<[string, string]>)
        : Object.entries(headers as Record<string, string | string[] | undefined>);
  for (const [key, value] of entries) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return out;
}

function secretList(secret: string | string[]): string[] {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw new TypeError("secret must be a webhook secret (whsec_…) or an array of them");
  }
  return list;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function hmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await globalThis.crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", cryptoKey, message as BufferSource));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new TypeError("a webhook secret is whsec_ followed by base64");
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Compares in time independent of where the strings differ. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function parse<D>(body: Uint8Array): WebhookEvent<D> {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new WebhookVerificationError("the body is not JSON");
  }
}

/** The `X-Webhook-Signature` value for `body` (what the API sends; useful in your own tests). */
export async function signHex(body: RawBody, secret: string): Promise<string> {
  return toHex(await hmac(encoder.encode(secret), raw(body)));
}

/** A Standard Webhooks `webhook-signature` value (`v1,<base64>`) for one secret. */
export async function signStandard(
  body: RawBody,
  secret: string,
  messageId: string,
  timestamp: number,
): Promise<string> {
  const key = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  const signed = concat(encoder.encode(`${messageId}.${timestamp}.`), raw(body));
  return "v1," + toBase64(await hmac(key, signed));
}

/** Checks `X-Webhook-Signature` (or, mid-rotation, `X-Webhook-Signature-Previous`) against each secret. */
export async function verifyHex<D = Record<string, any>>(
  body: RawBody,
  headers: HeaderBag,
  secret: string | string[],
): Promise<WebhookEvent<D>> {
  const bytes = raw(body);
  const given = lowerHeaders(headers);
  const signatures = ["x-webhook-signature", "x-webhook-signature-previous"]
    .filter((name) => name in given)
    .map((name) => given[name].trim());
  if (signatures.length === 0) throw new WebhookVerificationError("no X-Webhook-Signature header");
  for (const candidate of secretList(secret)) {
    const expected = await signHex(bytes, candidate);
    if (signatures.some((signature) => equal(expected, signature))) return parse<D>(bytes);
  }
  throw new WebhookVerificationError("X-Webhook-Signature matches none of the secrets given");
}

export interface StandardOptions {
  /** Seconds a delivery's timestamp may differ from now (default 300). */
  tolerance?: number;
  /** Now, in unix seconds (tests). */
  now?: number;
}

/** Checks the Standard Webhooks headers: a fresh timestamp and a `v1` signature by one of the secrets. */
export async function verifyStandard<D = Record<string, any>>(
  body: RawBody,
  headers: HeaderBag,
  secret: string | string[],
  options: StandardOptions = {},
): Promise<WebhookEvent<D>> {
  const bytes = raw(body);
  const given = lowerHeaders(headers);
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    if (!(name in given)) throw new WebhookVerificationError(`no ${name} header`);
  }
  const timestamp = Number(given["webhook-timestamp"]);
  if (!Number.isInteger(timestamp)) throw new WebhookVerificationError("webhook-timestamp is not an integer");
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - timestamp) > (options.tolerance ?? DEFAULT_TOLERANCE_SECONDS)) {
    throw new WebhookVerificationError("webhook-timestamp is outside the tolerance (a replay, or a skewed clock)");
  }
  const offered = given["webhook-signature"].split(/\s+/).filter((part) => part.startsWith("v1,"));
  for (const candidate of secretList(secret)) {
    const expected = await signStandard(bytes, candidate, given["webhook-id"], timestamp);
    if (offered.some((signature) => equal(expected, signature))) return parse<D>(bytes);
  }
  throw new WebhookVerificationError("webhook-signature matches none of the secrets given");
}

/**
 * The verified event: by Standard Webhooks when its headers are there (replay protection), else by the hex
 * signature. Throws WebhookVerificationError when the delivery is not ours.
 */
export async function constructEvent<D = Record<string, any>>(
  body: RawBody,
  headers: HeaderBag,
  secret: string | string[],
  options: StandardOptions = {},
): Promise<WebhookEvent<D>> {
  if ("webhook-signature" in lowerHeaders(headers)) return verifyStandard<D>(body, headers, secret, options);
  return verifyHex<D>(body, headers, secret);
}
