/** Typed errors: every API error body is `{ error, message, code, details, requestId }`. */

export class GarmaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request never got an answer (DNS, refused connection, timeout), after every retry. */
export class APIConnectionError extends GarmaxError {
  readonly cause?: unknown;
  constructor(message: string, cause?: unknown) {
    super(message);
    this.cause = cause;
  }
}

/** `wait()` gave up before the object reached a terminal status; `last` is what it read last. */
export class WaitTimeout extends GarmaxError {
  constructor(message: string, readonly last?: Record<string, unknown>) {
    super(message);
  }
}

export interface ErrorBody {
  error: string;
  message: string;
  code: number;
  details?: Record<string, unknown>;
  requestId?: string;
}

/** An error answer from the API, with the fields of its body and the request id to quote to support. */
export class APIError extends GarmaxError {
  readonly error: string;
  readonly code: number;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly requestId?: string;
  readonly headers: Record<string, string>;
  constructor(body: ErrorBody, headers: Record<string, string> = {}) {
    const requestId = body.requestId ?? headers["x-request-id"];
    super(`${body.code} ${body.error}: ${body.message}` + (requestId ? ` (request ${requestId})` : ""));
    this.error = body.error;
    this.message = body.message;
    this.code = body.code;
    this.status = body.code;
    this.details = body.details ?? {};
    this.requestId = requestId;
    this.headers = headers;
  }
}

/** 401: the key is missing, wrong, revoked or expired. */
export class AuthenticationError extends APIError {}
/** 403 other than credits: the key lacks a scope (`InvalidScope`) or the action is forbidden. */
export class PermissionDeniedError extends APIError {}
/** 403 `InsufficientCredits`: details carry `required` and `available`. */
export class InsufficientCreditsError extends APIError {}
/** 404 `ResourceNotFound` (another organization's object is a 404 too). */
export class NotFoundError extends APIError {}
/** 400 `ValidationError`: details name each field and what is wrong with it. */
export class ValidationError extends APIError {}
/** 409: the object's state forbids the action (or a request with this Idempotency-Key is in flight). */
export class ConflictError extends APIError {}
/** 422 `IdempotencyKeyReused`: the same Idempotency-Key was sent with a different body. */
export class IdempotencyError extends APIError {}
/** 429 `RateLimitExceeded`: `retryAfter` is the seconds the API asked to wait. */
export class RateLimitError extends APIError {
  get retryAfter(): number | undefined {
    return secondsFromHeader(this.headers["retry-after"]);
  }
}
/** 5xx: the API failed; retried with backoff before this is thrown. */
export class ServerError extends APIError {}

export function secondsFromHeader(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
}

const BY_NAME: Record<string, typeof APIError> = {
  InvalidApiKey: AuthenticationError,
  InsufficientCredits: InsufficientCreditsError,
  InvalidScope: PermissionDeniedError,
  ResourceNotFound: NotFoundError,
  ValidationError: ValidationError,
  IdempotencyKeyReused: IdempotencyError,
  RateLimitExceeded: RateLimitError,
};
const BY_STATUS: Record<number, typeof APIError> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: IdempotencyError,
  429: RateLimitError,
};

/** The typed error for an error answer; a body that is not our error format still gives one. */
export function errorFromResponse(status: number, body: unknown, headers: Record<string, string>): APIError {
  const parsed =
    body && typeof body === "object" && "error" in body
      ? (body as Partial<ErrorBody>)
      : { error: "ApiError", message: String(body ?? "").slice(0, 500) || `HTTP ${status}` };
  const name = String(parsed.error);
  const Cls = BY_NAME[name] ?? BY_STATUS[status] ?? (status >= 500 ? ServerError : APIError);
  const details = parsed.details && typeof parsed.details === "object" ? parsed.details : {};
  return new Cls(
    {
      error: name,
      message: String(parsed.message ?? ""),
      code: Number(parsed.code ?? status),
      details,
      requestId: parsed.requestId,
    },
    headers,
  );
}
