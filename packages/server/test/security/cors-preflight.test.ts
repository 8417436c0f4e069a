/**
 * CORS preflights get an answer that says what to do: 204 for an allowed origin (also with auth
 * on, since preflights carry no credentials), 403 FORBIDDEN naming the corsOrigins setting for any
 * other, never a 404. Checked with the headers a browser sends.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';

const brokers: TestBroker[] = [];
after(() => Promise.all(brokers.map((b) => b.close())));

async function preflight(url: string, origin: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${url}/v1/clusters/default/topics`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

describe('CORS preflight', () => {
  test('with the default corsOrigins (none), another origin gets 403 naming corsOrigins', async () => {
    const b = await startBroker();
    brokers.push(b);
    const r = await preflight(b.url, 'http://localhost:5173');
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'FORBIDDEN');
    assert.equal(r.body.error.setting, 'corsOrigins');
    assert.match(r.body.error.message, /corsOrigins/);
    assert.match(r.body.error.message, /localhost:5173/);
    // The broker's own origin is answered.
    const own = await preflight(b.url, b.url);
    assert.equal(own.status, 204);
    assert.equal(own.headers.get('access-control-allow-origin'), b.url);
  });

  test('with a list and auth on, a listed origin gets 204 with the CORS headers and an unlisted one 403', async () => {
    const b = await startBroker({ config: { auth: 'true', corsOrigins: 'https://app.example' } });
    brokers.push(b);
    const ok = await preflight(b.url, 'https://app.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    const refused = await preflight(b.url, 'https://evil.example');
    assert.equal(refused.status, 403);
    assert.match(refused.body.error.message, /corsOrigins/);
  });
});

test('the OpenAPI describes the preflight of every path, and each real answer is the one described', async () => {
  const b = await startBroker({ config: { auth: 'true', corsOrigins: 'https://app.example', corsCredentials: true } });
  brokers.push(b);
  const spec = await (await fetch(`${b.url}/openapi.json`)).json();
  const paths = Object.entries<Record<string, any>>(spec.paths);
  assert.ok(paths.length > 20);
  const errorSchema = (s: any): any => (s.$ref === undefined ? s : spec.components.schemas[s.$ref.split('/').pop()]);
  for (const [template, item] of paths) {
    const op = item.options;
    assert.ok(op !== undefined, `OPTIONS ${template} is described`);
    assert.deepEqual(op.security, [], `OPTIONS ${template} needs no credentials`);
    const required = op.parameters.filter((p: any) => p.in === 'header' && p.required).map((p: any) => p.name).sort();
    assert.deepEqual(required, ['Access-Control-Request-Method', 'Origin']);
    const url = b.url + template.replace(/\{(\w+)\}/g, (_m: string, name: string) => {
      const p = op.parameters.find((x: any) => x.in === 'path' && x.name === name);
      assert.ok(p !== undefined, `OPTIONS ${template} declares {${name}}`);
      return String(p.example ?? 'x');
    });
    const methods = Object.keys(item).filter((m) => m !== 'options').map((m) => m.toUpperCase());
    const headers = { origin: 'https://app.example', 'access-control-request-method': methods[0], 'access-control-request-headers': 'authorization, content-type' };

    const ok = await fetch(url, { method: 'OPTIONS', headers });
    assert.equal(ok.status, 204, `OPTIONS ${template} from an allowed origin`);
    assert.equal(await ok.text(), '');
    const described = Object.keys(op.responses['204'].headers).map((h) => h.toLowerCase()).sort();
    const sent = [...ok.headers.keys()].filter((h) => h.startsWith('access-control-') || h === 'vary').sort();
    assert.deepEqual(sent, described, `OPTIONS ${template}: the headers answered are the ones described`);
    const allowed = ok.headers.get('access-control-allow-methods')!.split(/,\s*/);
    for (const m of methods) assert.ok(allowed.includes(m), `OPTIONS ${template} allows ${m}, which the path offers`);
    assert.equal(ok.headers.get('access-control-max-age'), String(Number(ok.headers.get('access-control-max-age'))));

    const refused = await fetch(url, { method: 'OPTIONS', headers: { ...headers, origin: 'https://evil.example' } });
    assert.equal(refused.status, 403, `OPTIONS ${template} from another origin`);
    const body = await refused.json();
    const [base, ext] = op.responses['403'].content['application/json'].schema.allOf.map(errorSchema);
    for (const k of [...base.properties.error.required, ...ext.properties.error.required]) assert.ok(body.error[k] !== undefined, `OPTIONS ${template}: 403 has error.${k}`);
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.equal(body.error.setting, ext.properties.error.properties.setting.const);
    assert.equal(body.error.origin, 'https://evil.example');

    const notPreflight = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://app.example' } });
    // with authentication on, an OPTIONS that is not a preflight is refused before it meets no route
    assert.equal(notPreflight.status, 401, `OPTIONS ${template} without Access-Control-Request-Method`);
    assert.ok(op.responses['401'] !== undefined && op.responses['404'] !== undefined);
    await notPreflight.arrayBuffer();
  }
});
