/**
 * HTTPS with a configured certificate and key, and reload on change: replacing the files (by
 * rename, as certificate tools do) makes new connections see the new certificate without a
 * restart, while a connection opened before keeps working; a pair that does not load is logged
 * and the previous one kept. Certificates are self-signed, made here with the openssl binary
 * (the test is skipped where there is none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import { startBroker, tempDir } from '../support/start-broker.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed P-256 certificate for 127.0.0.1 whose subject CN is `name`. */
function selfSigned(dir: string, name: string): { cert: string; key: string; pem: Buffer } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key, pem: fs.readFileSync(cert) };
}

/** Replaces a file the way certificate tools do: write beside it, then rename over it. */
function replace(target: string, source: string): void {
  fs.copyFileSync(source, target + '.new');
  fs.renameSync(target + '.new', target);
}

/** The subject CN of the certificate a new connection is served (not verified). */
function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(String(Array.isArray(cn) ? cn[0] : cn));
    });
    s.once('error', reject);
  });
}

/** GET /health over HTTPS trusting only `ca`: the status, or the TLS error's code. */
function health(url: string, ca: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/health`, { ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('HTTPS with a self-signed certificate; replaced files are served to new connections without a restart', { skip: !hasOpenssl() && 'no openssl binary' }, async () => {
  const dir = tempDir('webka-tls-');
  const a = selfSigned(dir, 'webka-a');
  const b = selfSigned(dir, 'webka-b');
  const live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
  fs.copyFileSync(a.cert, live.cert);
  fs.copyFileSync(a.key, live.key);

  const logs: any[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const broker = await startBroker({ config: { tlsCert: live.cert, tlsKey: live.key }, logger: { level: 'info', stream } as never });
  try {
    const port = broker.server.port;
    assert.match(broker.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await health(broker.url, a.pem), 200);
    assert.equal(await servedName(port), 'webka-a');
    // Controls: a client that trusts another certificate refuses this one; plain HTTP gets no answer.
    assert.notEqual(await health(broker.url, b.pem), 200);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));

    // A connection opened before the change.
    const before = tls.connect({ host: '127.0.0.1', port, ca: a.pem });
    await new Promise<void>((resolve, reject) => before.once('secureConnect', resolve).once('error', reject));

    replace(live.key, b.key);
    replace(live.cert, b.cert);
    await until('the new certificate on new connections', async () => (await servedName(port)) === 'webka-b');
    assert.ok(logs.some((l) => l.msg === 'TLS certificate reloaded'));
    assert.equal(await health(broker.url, b.pem), 200);
    assert.notEqual(await health(broker.url, a.pem), 200, 'the old certificate is no longer served');

    // The earlier connection keeps its session and is still answered.
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      before.setEncoding('utf8').on('data', (d: string) => (text += d));
      before.once('end', () => resolve(text));
      before.once('error', reject);
      before.write('GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal((before.getPeerCertificate().subject as { CN: string }).CN, 'webka-a');

    // Fault: a certificate file that does not parse is logged, and the last good pair kept.
    fs.writeFileSync(live.cert + '.new', '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    fs.renameSync(live.cert + '.new', live.cert);
    await until('the failed reload to be logged', () => logs.some((l) => l.msg === 'TLS certificate reload failed; keeping the previous one'));
    assert.equal(await servedName(port), 'webka-b');
    assert.equal(await health(broker.url, b.pem), 200);
    assert.ok(!JSON.stringify(logs).includes('PRIVATE KEY'), 'no key material in the logs');
  } finally {
    await broker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
