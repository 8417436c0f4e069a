/**
 * SASL/PLAIN and SASL/SCRAM-SHA-256 on the Kafka listener with Webka's principals and API keys,
 * and the same ACLs as over HTTP (the cast of secure-broker.ts: alice may read and write
 * "scores", bob has no ACL).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { startSecureBroker, type Cast } from '../security/secure-broker.js';
import { needDebianPackages, KCAT, CONFLUENT_KAFKA } from '../support/debian-packages.js';
import { kcat, python } from '../support/kafka-clients.js';

let cast: Cast;
let port: number;

before(async () => {
  cast = await startSecureBroker();
  port = cast.broker.server.kafkaPort!;
});
after(async () => cast?.broker.close());

const client = (username: string, password: string, mechanism: 'plain' | 'scram-sha-256' = 'plain'): Kafka =>
  new Kafka({ clientId: 'sasl-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism, username, password } as any });

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

test('kafkajs authenticates with SCRAM-SHA-256: produces where the ACLs allow, refused where they do not', async () => {
  const alice = client('alice', cast.alice, 'scram-sha-256').producer();
  await alice.connect();
  const sent = await alice.send({ topic: 'scores', messages: [{ value: 'from-scram' }] });
  assert.equal(sent[0].errorCode, 0);
  await alice.disconnect();

  const bob = client('bob', cast.bob, 'scram-sha-256').producer();
  await bob.connect();
  await assert.rejects(bob.send({ topic: 'scores', messages: [{ value: 'x' }] }), /authori[sz]/i);
  await bob.disconnect();
});

test('SCRAM-SHA-256 refuses a wrong key, another principal\'s key, an unknown principal and a revoked key', async () => {
  const before = cast.snapshot();
  for (const [user, key] of [['alice', 'wk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], ['bob', cast.alice], ['mallory', cast.alice]]) {
    const admin = client(user, key, 'scram-sha-256').admin();
    await assert.rejects(admin.connect(), /SASL|authentication/i, `${user} with a key not its own`);
  }
  assert.equal(cast.snapshot(), before);

  // a second key of alice works beside the first, and stops working once revoked
  const made = await cast.call('POST', '/v1/principals/alice/keys', { key: cast.admin, body: { description: 'second' } });
  assert.equal(made.status, 201, made.text);
  const second = client('alice', made.body.key, 'scram-sha-256').admin();
  await second.connect();
  await second.disconnect();
  const revoked = await cast.call('DELETE', `/v1/principals/alice/keys/${made.body.id}`, { key: cast.admin });
  assert.ok(revoked.status < 300, revoked.text);
  await assert.rejects(client('alice', made.body.key, 'scram-sha-256').admin().connect(), /SASL|authentication/i);
  const first = client('alice', cast.alice, 'scram-sha-256').admin();
  await first.connect();
  await first.disconnect();
});

test('the SCRAM exchange never stores or lists the key: listings show no credential fields', async () => {
  const r = await cast.call('GET', '/v1/principals/alice/keys', { key: cast.admin });
  assert.equal(r.status, 200, r.text);
  assert.doesNotMatch(r.text, /scram|storedKey|serverKey|salt/i);
});

test('kcat authenticates with SCRAM-SHA-256 and reads what its ACLs allow; a wrong key is refused', { skip: missing ?? false }, async () => {
  const scram = (user: string, key: string) => ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', `sasl.username=${user}`, '-X', `sasl.password=${key}`];
  const r = await kcat(port, [...scram('alice', cast.alice), '-C', '-t', 'scores', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
  assert.equal(r.code, 0, r.stderr);
  for (const v of ['1', '2', '3']) assert.ok(r.stdout.split('\n').includes(v), `${v} in ${r.stdout}`);
  const wrong = await kcat(port, [...scram('alice', cast.bob), '-L', '-m', '5'], '', 20_000);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /SASL|authentication/i);
});

const noConfluent = needDebianPackages(CONFLUENT_KAFKA);
test('confluent-kafka (librdkafka) produces with SCRAM-SHA-256 where alice may, and is refused on a topic she may not write', { skip: noConfluent ?? false }, async () => {
  const made = await cast.call('POST', '/v1/clusters/default/topics', { key: cast.admin, body: { name: 'private', partitions: 1 } });
  assert.equal(made.status, 201, made.text);
  const program = `
import sys
from confluent_kafka import Producer
conf = {'bootstrap.servers': sys.argv[1], 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'SCRAM-SHA-256',
        'sasl.username': 'alice', 'sasl.password': sys.argv[2], 'message.timeout.ms': 10000}
p = Producer(conf)
results = []
def done(err, msg):
    results.append('ok' if err is None else err.name())
for topic in ('scores', 'private'):
    p.produce(topic, value=b'from-confluent', on_delivery=done)
    p.flush(15)
print(' '.join(results))
`;
  const r = await python(program, [`127.0.0.1:${port}`, cast.alice]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok TOPIC_AUTHORIZATION_FAILED');
  const read = await cast.call('GET', '/v1/clusters/default/topics/private/partitions/0/records?offset=0', { key: cast.admin });
  assert.equal(read.status, 200, read.text);
  assert.equal(JSON.stringify(read.body).includes('from-confluent'), false);
});
