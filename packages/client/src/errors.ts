/**
 * Typed errors. Every failure the SDK reports is a WebkaError whose `code` is one of the broker's
 * codes (ERROR_CODES in @webka/protocol), or one of the few codes that only a client can see:
 *
 *   NETWORK_ERROR   the request never got an answer (refused, reset, DNS, offline); retriable
 *   TIMEOUT         the SDK gave up waiting (deliveryTimeoutMs, requestTimeoutMs); retriable
 *   CLOSED          the producer or consumer was closed while the operation was pending
 *   UNKNOWN_ERROR   the broker answered with a status or body the SDK does not know
 */
import { ERROR_CODES, isErrorCode, type ErrorCode } from '@webka/protocol/errors';

export const CLIENT_ERROR_CODES = {
  NETWORK_ERROR: { status: 0, retriable: true },
  TIMEOUT: { status: 0, retriable: true },
  CLOSED: { status: 0, retriable: false },
  UNKNOWN_ERROR: { status: 0, retriable: false },
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;
export type WebkaErrorCode = ErrorCode | ClientErrorCode;

export class WebkaError extends Error {
  /** A broker code (TOPIC_NOT_FOUND, ...) or a client code (NETWORK_ERROR, TIMEOUT, ...). */
  readonly code: WebkaErrorCode | string;
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** Whether repeating the same request can help (after a wait). */
  readonly retriable: boolean;
  /** The error body's other fields (expectedSequence, highWatermark, ...). */
  readonly details: Record<string, unknown>;

  constructor(code: WebkaErrorCode | string, message: string, opts: { status?: number; retriable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WebkaError';
    this.code = code;
    const known = isErrorCode(code) ? ERROR_CODES[code] : (CLIENT_ERROR_CODES as Record<string, { status: number; retriable: boolean }>)[code];
    this.status = opts.status ?? known?.status ?? 0;
    this.retriable = opts.retriable ?? known?.retriable ?? this.status >= 500;
    this.details = opts.details ?? {};
  }
}

/** Builds the error for a non-2xx answer from its status and body text. */
export function errorFromAnswer(status: number, text: string, retryAfter: string | null): WebkaError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (e !== undefined && typeof e === 'object' && e !== null && typeof e.code === 'string') {
    const { code, message, ...details } = e as Record<string, unknown>;
    if (retryAfter !== null) details.retryAfter = retryAfter;
    return new WebkaError(code as string, typeof message === 'string' ? message : String(code), { status, details });
  }
  // Not Webka's error shape: a proxy or a load balancer answered.
  const retriable = status === 408 || status === 429 || status >= 500;
  return new WebkaError('UNKNOWN_ERROR', `HTTP ${status}: ${text.slice(0, 200)}`, { status, retriable });
}

/**
 * Wraps what fetch throws when no answer arrives; names the URL asked and the socket's own reason,
 * and, when the request never got through (`connecting`), the likely causes.
 */
export function networkError(cause: unknown, url?: string, connecting = false): WebkaError {
  if (cause instanceof WebkaError) return cause;
  let msg = cause instanceof Error ? cause.message : String(cause);
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (inner !== undefined && inner !== null && typeof inner.message === 'string' && inner.message !== '') msg += ` (${inner.message})`;
  const hint = connecting ? likelyCause(typeof inner?.code === 'string' ? inner.code : undefined) : '';
  return new WebkaError('NETWORK_ERROR', `no answer from the broker${url === undefined ? '' : ` at ${url}`}: ${msg}${hint}`, { cause });
}

/** Why a request may have got no answer, said as what to check. */
function likelyCause(code: string | undefined): string {
  const page = (globalThis as { document?: unknown; location?: { origin?: string } }).document !== undefined ? (globalThis as { location?: { origin?: string } }).location?.origin : undefined;
  if (page !== undefined) {
    return `; a browser does not say why: the broker may be down or not at this URL, or it refused this page's origin (${page}) by CORS, which its corsOrigins setting must list (the browser console names the cause)`;
  }
  if (code === 'ECONNREFUSED') return '; nothing listens there: is the broker running, and are the host and port in the URL right?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return '; the host name does not resolve: check the URL';
  return '; is the broker running and reachable at this URL?';
}

export function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: string }).name === 'AbortError';
}
