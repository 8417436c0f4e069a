/**
 * The front door of a broker with authentication on: `GET /` leads to the web console (see
 * console-serving.test.ts); the docs page is Webka's (title, logo), offers Authorize (a bearer security scheme), and whose prefilled
 * create-topic and produce examples work as given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSecureBroker } from '../security/secure-broker.js';

test('GET / redirects to the console; the docs page is Webka\'s, has Authorize, and its examples work as given', async () => {
  const cast = await startSecureBroker();
  try {
    const home = await fetch(cast.url + '/', { redirect: 'manual' });
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/console');

    const page = await fetch(cast.url + '/docs/');
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>Webka API<\/title>/);
    const init = await (await fetch(cast.url + '/docs/static/swagger-initializer.js')).text();
    assert.match(init, /data:image\/svg\+xml;base64,/, 'the logo is replaced');
    assert.ok(Buffer.from(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(init)![1], 'base64').toString().includes('Webka'));

    const spec = (await cast.call('GET', '/openapi.json')).body;
    assert.deepEqual(spec.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: spec.components.securitySchemes.bearer.description });
    assert.deepEqual(spec.security, [{ bearer: [] }]);

    // What the page prefills: path parameters' first example, then the body's example.
    const send = async (method: string, template: string): Promise<{ status: number; text: string }> => {
      const op = spec.paths[template][method.toLowerCase()];
      const path = template.replace(/\{(\w+)\}/g, (_m: string, name: string) => {
        const p = op.parameters.find((x: { in: string; name: string }) => x.in === 'path' && x.name === name);
        const example = p.example ?? p.schema.example ?? p.schema.examples?.[0];
        assert.ok(example !== undefined, `${method} ${template}: no example for {${name}}`);
        return example;
      });
      const body = op.requestBody.content['application/json'].example;
      assert.ok(body !== undefined, `${method} ${template}: no body example`);
      return cast.call(method, path, { key: cast.admin, body });
    };
    const created = await send('POST', '/v1/clusters/{cluster}/topics');
    assert.equal(created.status, 201, created.text);
    const produced = await send('POST', '/v1/clusters/{cluster}/topics/{topic}/records');
    assert.equal(produced.status, 200, produced.text);
  } finally {
    await cast.broker.close();
  }
});
