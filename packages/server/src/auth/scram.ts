/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), the server's side, written from the RFCs. A credential is
 * what the server keeps of a password: salt, iteration count, StoredKey = H(ClientKey) and
 * ServerKey, where SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i), ClientKey =
 * HMAC(SaltedPassword, "Client Key") and ServerKey = HMAC(SaltedPassword, "Server Key"). Neither
 * the password nor anything a client could log in with is kept: a client proves ClientKey, and
 * only its hash is stored.
 *
 * The exchange, two round trips:
 *   client-first   gs2-header client-first-bare    n,,n=alice,r=<client nonce>
 *   server-first   r=<client nonce><server nonce>,s=<salt base64>,i=<iterations>
 *   client-final   c=<base64 gs2-header>,r=<nonce>,p=<proof base64>
 *   server-final   v=<ServerSignature base64>
 * AuthMessage = client-first-bare "," server-first "," client-final-without-proof;
 * ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage). Channel binding is not offered.
 *
 * Several credentials may share one salt and iteration count (a principal's API keys: see
 * AuthStore.scramCredentials); the proof tells which one the client knew.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
/** RFC 7677's minimum, and Kafka's. Keys are 256 random bits: more iterations would add nothing. */
export const SCRAM_ITERATIONS = 4096;

export interface ScramCredential {
  storedKey: string;
  serverKey: string;
}

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** The credential of a password under a salt (PBKDF2 runs on libuv's thread pool). */
export function scramCredential(password: string, salt: Buffer, iterations: number): Promise<ScramCredential> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, 32, 'sha256', (err, salted) => {
      if (err) return reject(err);
      const clientKey = hmac(salted, 'Client Key');
      resolve({ storedKey: sha256(clientKey).toString('base64'), serverKey: hmac(salted, 'Server Key').toString('base64') });
    }),
  );
}

export class ScramError extends Error {}

/** "=2C" and "=3D" stand for "," and "=" in a SCRAM name (RFC 5802 section 5.1). */
function decodeSaslName(s: string): string {
  if (/=(?!2C|3D)/.test(s)) throw new ScramError('a name escapes only "," (=2C) and "=" (=3D)');
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** The attributes of a message ("k=v" joined by commas; Kafka's extensions have longer names), in order. */
function attributes(s: string): Array<[string, string]> {
  return s.split(',').map((part) => {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/s.exec(part);
    if (m === null) throw new ScramError(`"${part.slice(0, 32)}" is not an attribute (a name, "=", a value)`);
    return [m[1], m[2]];
  });
}

/** What the server learned from client-first and answered with, until client-final. */
export interface ScramServerState {
  username: string;
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  clientNonce: string;
  nonce: string;
  /** Extensions the client sent (Kafka's tokenauth=true asks for delegation tokens). */
  extensions: Map<string, string>;
}

/** Parses client-first (the username and nonce are all the server needs before it answers). */
export function parseClientFirst(message: string): { username: string; gs2Header: string; clientFirstBare: string; clientNonce: string; extensions: Map<string, string> } {
  const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(message);
  if (m === null) throw new ScramError('client-first must start with a GS2 header: "n,," (no channel binding)');
  if (m[1].startsWith('p=')) throw new ScramError('channel binding is not supported; use "n,,"');
  const gs2Header = `${m[1]},${m[2] ?? ''},`;
  const clientFirstBare = m[3];
  const attrs = attributes(clientFirstBare);
  if (attrs[0]?.[0] === 'm') throw new ScramError('mandatory extensions are not supported');
  if (attrs.length < 2 || attrs[0][0] !== 'n' || attrs[1][0] !== 'r') throw new ScramError('client-first is n=<name>,r=<nonce>');
  const username = decodeSaslName(attrs[0][1]);
  if (m[2] !== undefined && m[2].length > 2 && decodeSaslName(m[2].slice(2)) !== username) throw new ScramError('acting as another principal (authzid) is not supported');
  const clientNonce = attrs[1][1];
  if (!/^[\x21-\x2b\x2d-\x7e]{8,256}$/.test(clientNonce)) throw new ScramError('the client nonce is 8 to 256 printable characters without ","');
  return { username, gs2Header, clientFirstBare, clientNonce, extensions: new Map(attrs.slice(2)) };
}

/** The server's first answer; salt and iterations are the user's (or made up for an unknown user). */
export function serverFirst(parsed: ReturnType<typeof parseClientFirst>, salt: Buffer, iterations: number): ScramServerState {
  const nonce = parsed.clientNonce + randomBytes(18).toString('base64');
  return {
    username: parsed.username,
    gs2Header: parsed.gs2Header,
    clientFirstBare: parsed.clientFirstBare,
    serverFirst: `r=${nonce},s=${salt.toString('base64')},i=${iterations}`,
    clientNonce: parsed.clientNonce,
    nonce,
    extensions: parsed.extensions,
  };
}

/**
 * Checks client-final against the candidate credentials; the index of the one whose key the
 * client proved, with server-final to send, or null when none matches. Throws ScramError on a
 * malformed message.
 */
export function verifyClientFinal(state: ScramServerState, message: string, candidates: readonly ScramCredential[]): { index: number; serverFinal: string } | null {
  const cut = message.lastIndexOf(',p=');
  if (cut < 0) throw new ScramError('client-final ends with ",p=<proof>"');
  const withoutProof = message.slice(0, cut);
  const attrs = attributes(withoutProof);
  if (attrs.length < 2 || attrs[0][0] !== 'c' || attrs[1][0] !== 'r') throw new ScramError('client-final is c=<binding>,r=<nonce>,p=<proof>');
  if (attrs[0][1] !== Buffer.from(state.gs2Header).toString('base64')) throw new ScramError('the channel binding does not repeat the GS2 header of client-first');
  // librdkafka (up to at least 2.x) repeats its own nonce before the whole nonce the server
  // answered; Kafka's broker accepts that form, so Webka does too (the AuthMessage is the text
  // as sent either way, so the proof still covers it).
  if (attrs[1][1] !== state.nonce && attrs[1][1] !== state.clientNonce + state.nonce) throw new ScramError('the nonce is not the one the server answered');
  const proof = Buffer.from(message.slice(cut + 3), 'base64');
  if (proof.length !== 32) throw new ScramError('the proof is 32 bytes (SHA-256) in base64');
  const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
  for (let i = 0; i < candidates.length; i++) {
    const storedKey = Buffer.from(candidates[i].storedKey, 'base64');
    const signature = hmac(storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let j = 0; j < 32; j++) clientKey[j] = proof[j] ^ signature[j];
    if (timingSafeEqual(sha256(clientKey), storedKey)) {
      const serverSignature = hmac(Buffer.from(candidates[i].serverKey, 'base64'), authMessage);
      return { index: i, serverFinal: `v=${serverSignature.toString('base64')}` };
    }
  }
  return null;
}
