/**
 * SaslHandshake and SaslAuthenticate, with two mechanisms; the username is a Webka principal and
 * the password one of its API keys in both:
 *   PLAIN (RFC 4616)          one round trip; the key is checked as the HTTP API checks
 *                             `Authorization: Bearer`.
 *   SCRAM-SHA-256 (RFC 5802,  two round trips; the key never crosses the wire. Each key made
 *   RFC 7677)                 since SCRAM is served carries a SCRAM credential under its
 *                             principal's salt (AuthStore.createKey); the client's proof tells
 *                             which of the principal's keys it holds. An unknown principal is
 *                             answered with a made-up salt and fails at the proof, as a wrong
 *                             key does, so the exchange does not tell which principals exist.
 * Until a connection has authenticated (when auth is on) it may send only ApiVersions and these
 * two; anything else closes it (connection.ts). A failed authentication answers
 * SASL_AUTHENTICATION_FAILED and the client may start again with SaslHandshake.
 * Version 0 of SaslHandshake is listed (librdkafka looks for it) but refused: after it a client
 * would send raw tokens outside Kafka's framing; clients that know SaslAuthenticate use version 1.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { SaslHandshake, SaslAuthenticate } from '../messages-admin.js';
import { KafkaErrors } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import { SCRAM_ITERATIONS, SCRAM_SHA_256, ScramError, parseClientFirst, serverFirst, verifyClientFinal } from '../../auth/scram.js';

const MECHANISMS = ['PLAIN', SCRAM_SHA_256];
/** Salts made up for unknown principals: stable per name while the broker runs. */
const FAKE_SALT_KEY = randomBytes(32);
const SCRAM_FAILED = 'unknown principal or API key (a key made before SCRAM-SHA-256 was served works with PLAIN only: create a new key)';

export const saslHandshakeHandler: ApiHandler = {
  def: SaslHandshake,
  handle(ctx, req, version) {
    if (version === 0) return { errorCode: KafkaErrors.UNSUPPORTED_VERSION, mechanisms: MECHANISMS };
    if (!MECHANISMS.includes(req.mechanism)) return { errorCode: KafkaErrors.UNSUPPORTED_SASL_MECHANISM, mechanisms: MECHANISMS };
    ctx.conn.saslMechanism = req.mechanism;
    ctx.conn.scram = null;
    return { errorCode: 0, mechanisms: MECHANISMS };
  },
};

const answer = (authBytes: Buffer | string): Message => ({ errorCode: 0, errorMessage: null, authBytes: Buffer.from(authBytes), sessionLifetimeMs: 0 });

/** A failed exchange: the connection must start again with SaslHandshake. */
function failed(ctx: KafkaContext, message: string, errorCode: number = KafkaErrors.SASL_AUTHENTICATION_FAILED): Message {
  ctx.conn.saslMechanism = null;
  ctx.conn.scram = null;
  return { errorCode, errorMessage: message, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
}

async function plain(ctx: KafkaContext, token: Buffer): Promise<Message> {
  if (ctx.security === null) {
    ctx.conn.saslMechanism = null;
    return answer('');
  }
  // authzid NUL authcid NUL passwd
  const parts = token.toString('utf8').split('\u0000');
  if (parts.length !== 3) return failed(ctx, 'a PLAIN token is authzid, NUL, username, NUL, password');
  const [authzid, username, password] = parts;
  if (authzid !== '' && authzid !== username) return failed(ctx, 'acting as another principal is not supported');
  const principal = await ctx.security.verifyKey(username, password);
  if (principal === null) return failed(ctx, 'unknown principal or API key');
  ctx.conn.principal = principal;
  ctx.conn.saslMechanism = null;
  return answer('');
}

function scram(ctx: KafkaContext, token: Buffer): Message {
  const security = ctx.security;
  if (security === null) return failed(ctx, 'authentication is off on this broker: connect without SASL (security.protocol=PLAINTEXT), or use PLAIN');
  const message = token.toString('utf8');
  try {
    const state = ctx.conn.scram;
    if (state === null) {
      const first = parseClientFirst(message);
      if (first.extensions.get('tokenauth') === 'true') return failed(ctx, 'delegation tokens are not supported; authenticate with an API key');
      const creds = security.scramCredentials(first.username);
      const salt = creds?.salt ?? createHmac('sha256', FAKE_SALT_KEY).update(first.username).digest().subarray(0, 16);
      ctx.conn.scram = serverFirst(first, salt, creds?.iterations ?? SCRAM_ITERATIONS);
      return answer(ctx.conn.scram.serverFirst);
    }
    // The credentials as they are now: a key revoked since the first message no longer counts.
    const creds = security.scramCredentials(state.username);
    const match = verifyClientFinal(state, message, creds?.keys ?? []);
    const principal = match === null ? null : security.keyPrincipal(state.username, creds!.keys[match.index].keyId);
    if (match === null || principal === null) return failed(ctx, SCRAM_FAILED);
    ctx.conn.principal = principal;
    ctx.conn.saslMechanism = null;
    ctx.conn.scram = null;
    return answer(match.serverFinal);
  } catch (err) {
    if (err instanceof ScramError) return failed(ctx, `malformed SCRAM message: ${err.message}`);
    throw err;
  }
}

export const saslAuthenticateHandler: ApiHandler = {
  def: SaslAuthenticate,
  async handle(ctx, req) {
    const token = req.authBytes as Buffer;
    if (ctx.conn.saslMechanism === 'PLAIN') return plain(ctx, token);
    if (ctx.conn.saslMechanism === SCRAM_SHA_256) return scram(ctx, token);
    return failed(ctx, `send SaslHandshake with a mechanism (${MECHANISMS.join(', ')}) first`, KafkaErrors.ILLEGAL_SASL_STATE);
  },
};
