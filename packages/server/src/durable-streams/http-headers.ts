/**
 * Headers every Durable Streams response carries (browser security and CORS, protocol section
 * 10.7), and small readers for request headers.
 *
 * Streams are meant to be read by browsers from any origin, so these routes answer
 * `Access-Control-Allow-Origin: *` whatever the broker's CORS setting for its native API;
 * credentials are never allowed, so a page cannot ride on a user's cookies.
 */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';

export const ALLOWED_HEADERS = [
  'Content-Type',
  'Authorization',
  'If-None-Match',
  'Stream-Seq',
  'Stream-TTL',
  'Stream-Expires-At',
  'Stream-Closed',
  'Producer-Id',
  'Producer-Epoch',
  'Producer-Seq',
  'Stream-Forked-From',
  'Stream-Fork-Offset',
  'Stream-Fork-Sub-Offset',
].join(', ');

export const EXPOSED_HEADERS = [
  'Stream-Next-Offset',
  'Stream-Cursor',
  'Stream-Up-To-Date',
  'Stream-Closed',
  'Stream-TTL',
  'Stream-Expires-At',
  'Producer-Epoch',
  'Producer-Seq',
  'Producer-Expected-Seq',
  'Producer-Received-Seq',
  'ETag',
  'Content-Type',
  'Location',
  'Stream-SSE-Data-Encoding',
  'Webka-Topic',
].join(', ');

export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'cross-origin',
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED_HEADERS,
};

type Headers = Record<string, string | string[] | undefined>;

/** One header's value (repeated headers joined as HTTP does), or undefined. */
export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'true';
}
