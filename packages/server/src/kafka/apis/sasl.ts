/**
 * SaslHandshake and SaslAuthenticate
 * with the PLAIN mechanism (RFC 4616): the username is a Webka principal, the password one of
 * its API keys, checked as the HTTP API checks `Authorization: Bearer`. Until a connection has
 * authenticated (when auth is on) it may send only ApiVersions and these two; anything else
 * closes it (connection.ts). A failed authentication answers SASL_AUTHENTICATION_FAILED.
 * Version 0 of SaslHandshake is listed (librdkafka looks for it) but refused: after it a client
 * would send raw tokens outside Kafka's framing; clients that know SaslAuthenticate use version 1.
 */
import { SaslHandshake, SaslAuthenticate } from '../messages-admin.js';
import { KafkaErrors } from '../error-codes.js';
import type { ApiHandler } from '../context.js';

const MECHANISMS = ['PLAIN'];

export const saslHandshakeHandler: ApiHandler = {
  def: SaslHandshake,
  handle(ctx, req, version) {
    if (version === 0) return { errorCode: KafkaErrors.UNSUPPORTED_VERSION, mechanisms: MECHANISMS };
    if (!MECHANISMS.includes(req.mechanism)) return { errorCode: KafkaErrors.UNSUPPORTED_SASL_MECHANISM, mechanisms: MECHANISMS };
    ctx.conn.saslMechanism = req.mechanism;
    return { errorCode: 0, mechanisms: MECHANISMS };
  },
};

const failed = (message: string) => ({ errorCode: KafkaErrors.SASL_AUTHENTICATION_FAILED, errorMessage: message, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 });

export const saslAuthenticateHandler: ApiHandler = {
  def: SaslAuthenticate,
  async handle(ctx, req) {
    if (ctx.conn.saslMechanism !== 'PLAIN') return { ...failed('send SaslHandshake with mechanism PLAIN first'), errorCode: KafkaErrors.ILLEGAL_SASL_STATE };
    if (ctx.security === null) {
      ctx.conn.saslMechanism = null;
      return { errorCode: 0, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
    }
    // authzid NUL authcid NUL passwd
    const parts = (req.authBytes as Buffer).toString('utf8').split('\u0000');
    if (parts.length !== 3) return failed('a PLAIN token is authzid, NUL, username, NUL, password');
    const [authzid, username, password] = parts;
    if (authzid !== '' && authzid !== username) return failed('acting as another principal is not supported');
    const principal = await ctx.security.verifyKey(username, password);
    if (principal === null) return failed('unknown principal or API key');
    ctx.conn.principal = principal;
    ctx.conn.saslMechanism = null;
    return { errorCode: 0, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  },
};
