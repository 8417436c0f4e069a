/**
 * The SCRAM-SHA-256 server against the example exchange of RFC 7677 section 3 (user "user",
 * password "pencil"), and its refusals of malformed or wrong messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFirst, scramCredential, verifyClientFinal, ScramError, type ScramServerState } from '../../src/auth/scram.js';

const clientFirst = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const clientFinal = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

function rfcState(): ScramServerState {
  const first = parseClientFirst(clientFirst);
  return { ...first, serverFirst, nonce: 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' };
}

test('the example exchange of RFC 7677 verifies and yields its server signature', async () => {
  const pencil = await scramCredential('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  const other = await scramCredential('not-pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  assert.equal(parseClientFirst(clientFirst).username, 'user');
  assert.deepEqual(verifyClientFinal(rfcState(), clientFinal, [other, pencil]), { index: 1, serverFinal });
  assert.equal(verifyClientFinal(rfcState(), clientFinal, [other]), null);
  assert.equal(verifyClientFinal(rfcState(), clientFinal, []), null);
});

test('a nonce other than the server\'s, a changed binding or a short proof is refused', () => {
  assert.throws(() => verifyClientFinal(rfcState(), clientFinal.replace('k0,', 'k1,'), []), ScramError);
  assert.throws(() => verifyClientFinal(rfcState(), clientFinal.replace('c=biws', 'c=eSws'), []), ScramError);
  assert.throws(() => verifyClientFinal(rfcState(), 'c=biws,r=x', []), ScramError);
  assert.throws(() => verifyClientFinal(rfcState(), clientFinal.replace(/p=.*$/, 'p=AAAA'), []), ScramError);
});

test('client-first: channel binding, mandatory extensions, another authzid and bad names are refused', () => {
  for (const bad of ['p=tls-unique,,n=user,r=abcdefghij', 'n,,m=x,n=user,r=abcdefghij', 'n,a=admin,n=user,r=abcdefghij', 'n,,n=us=er,r=abcdefghij', 'n,,r=abcdefghij', 'n,,n=user,r=short', 'garbage']) {
    assert.throws(() => parseClientFirst(bad), ScramError, bad);
  }
  assert.equal(parseClientFirst('n,,n=a=2Cb=3Dc,r=abcdefghij').username, 'a,b=c');
  assert.equal(parseClientFirst('n,,n=alice,r=abcdefghij,tokenauth=true').extensions.get('tokenauth'), 'true');
});
