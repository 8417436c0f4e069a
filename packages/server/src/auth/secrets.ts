/**
 * Finds credentials in text that is about to be logged or sent back, and masks them. Two nets,
 * because a secret can arrive where nobody expected one:
 *   by name   a query parameter called like a credential (access_token, api_key, token, ...)
 *   by shape  anything that looks like a Webka API key (wk_<16 hex>_...) or a JWT (eyJ...),
 *             wherever it stands: in a path, another parameter, an error message, an audit target
 * Used by the request logger, the audit log and every error answer (docs/security.md, "Logs").
 */

export const REDACTED = '[redacted]';

/** Query parameter names that carry credentials: the whole name, or its last word. */
const SECRET_PARAM = /^(?:.*[_.-])?(?:key|apikey|token|secret|password|passwd|pwd|auth|authorization|credentials?|signature|sig|jwt|session)$/i;

/**
 * API keys (also cut short or mangled: any run after "wk_" that is long enough to matter) and
 * JWTs (three base64url parts, the first starting with '{"', which encodes as "eyJ").
 */
const SECRET_VALUE = /wk_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){1,2}/g;

/** Whether a query parameter of this name holds a credential. */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

/** Masks key- and token-shaped values anywhere in the text. */
export function redactSecrets(text: string): string {
  return text.includes('wk_') || text.includes('eyJ') ? text.replace(SECRET_VALUE, REDACTED) : text;
}

/** Masks the values of credential parameters in a URL's query, then anything key- or token-shaped. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactSecrets(url);
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the name as it is
      }
      return isSecretParam(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return redactSecrets(`${url.slice(0, q)}?${query}`);
}

/** A copy of a JSON-like value with every string passed through redactSecrets. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretParam(k) && typeof v === 'string' ? REDACTED : redactDeep(v);
    return out as T;
  }
  return value;
}
