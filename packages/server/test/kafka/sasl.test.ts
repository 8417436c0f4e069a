/**
 * SASL/PLAIN on the Kafka listener with Webka's principals and API keys, and the same ACLs as
 * over HTTP (the cast of secure-broker.ts: alice may read and write "scores", bob has no ACL).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { startSecureBroker, type Cast } from '../security/secure-broker.js';
import { needDebianPackages, KCAT } from '../support/debian-packages.js';
import { kcat } from '../support/kafka-clients.js';

let cast: Cast;
let port: number;

before(async () => {
  cast = await startSecureBroker();
  port = cast.broker.server.kafkaPort!;
});
after(async () => cast?.broker.close());

const client = (username: string, password: string): Kafka =>
  new Kafka({ clientId: 'sasl-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: 'plain', username, password } });

test('a principal with its API key produces where its ACLs allow, and is refused where they do not', async () => {
  const alice = client('alice', cast.alice).producer();
  await alice.connect();
  const sent = await alice.send({ topic: 'scores', messages: [{ value: 'from-kafka' }] });
  assert.equal(sent[0].errorCode, 0);
  await alice.disconnect();

  const bob = client('bob', cast.bob).producer();
  await bob.connect();
  await assert.rejects(bob.send({ topic: 'scores', messages: [{ value: 'x' }] }), /authori[sz]/i);
  await bob.disconnect();
});

test('a wrong key, or another principal\'s key, fails SASL authentication', async () => {
  for (const [user, key] of [['alice', 'wk_not-a-key'], ['bob', cast.alice]]) {
    const admin = client(user, key).admin();
    await assert.rejects(admin.connect(), /SASL|authentication/i);
  }
});

test('a request before authentication closes the connection', async () => {
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      // Metadata v1, correlation id 1, null client id, all topics
      s.write(Buffer.from([0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    });
    s.on('data', () => resolve(false));
    s.on('close', () => resolve(true));
  });
  assert.equal(closed, true);
});

const missing = needDebianPackages(KCAT);
test('kcat authenticates with SASL/PLAIN and reads what its ACLs allow', { skip: missing ?? false }, async () => {
  const sasl = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=alice', '-X', `sasl.password=${cast.alice}`];
  const r = await kcat(port, [...sasl, '-C', '-t', 'scores', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
  assert.equal(r.code, 0, r.stderr);
  const values = r.stdout.split('\n');
  for (const v of ['1', '2', '3', 'from-kafka']) assert.ok(values.includes(v), `${v} in ${r.stdout}`);
});
