import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { issueFirstAdminKey } from '../../src/services/api-keys.ts';

describe.each(DIALECTS)('API keys and scopes on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('401 without a key, with a malformed key, and with an unknown key', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nonsense' }, { authorization: `Bearer chp_AAAAAAAAAAAA_${'B'.repeat(32)}` }, { authorization: 'Basic abc' }]) {
      const r = await t.request({ method: 'GET', url: '/api/v1/contacts', scope: 'none', headers });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('unauthorized');
    }
  });

  it('accepts the key in X-Api-Key too', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/contacts', scope: 'none', headers: { 'x-api-key': t.keys.read } });
    expect(r.status).toBe(200);
  });

  it('403 when the key lacks the scope: read cannot write, write cannot administer', async () => {
    const write = await t.request({ method: 'POST', url: '/api/v1/contacts', scope: 'read', body: { email: 'scope@example.com' } });
    expect(write.status).toBe(403);
    expect(write.json.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('needs "write"') });
    expect((await t.request({ method: 'GET', url: '/api/v1/api-keys', scope: 'write' })).status).toBe(403);
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts', scope: 'write' })).status).toBe(200);
    expect((await t.request({ method: 'GET', url: '/api/v1/api-keys', scope: 'admin' })).status).toBe(200);
    // Nothing was written by the refused call.
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=scope' })).json.items).toEqual([]);
  });

  it('shows a new key once, stores only its hash, and revokes it at once', async () => {
    const created = await t.request({ method: 'POST', url: '/api/v1/api-keys', body: { name: 'woocommerce', scope: 'write' } });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^chp_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{32}$/);
    const list = await t.request({ method: 'GET', url: '/api/v1/api-keys' });
    expect(JSON.stringify(list.json)).not.toContain(created.json.secret);
    const rows = await t.db.k.selectFrom('apiKeys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(created.json.secret);
    expect(rows.find((r) => r.id === created.json.id)!.keyHash).toMatch(/^[0-9a-f]{64}$/);

    const use = { authorization: `Bearer ${created.json.secret}` };
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts', scope: 'none', headers: use })).status).toBe(200);
    expect((await t.request({ method: 'DELETE', url: `/api/v1/api-keys/${created.json.id}` })).status).toBe(204);
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts', scope: 'none', headers: use })).status).toBe(401);
    expect((await t.request({ method: 'DELETE', url: `/api/v1/api-keys/${created.json.id}` })).status).toBe(404);
  });

  it('rejects an unknown scope', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/api-keys', body: { name: 'x', scope: 'root' } });
    expect(r.status).toBe(400);
    expect(r.json.error.details[0].field).toBe('scope');
  });

  it('issues the first admin key exactly once per installation', async () => {
    const first = await issueFirstAdminKey(t.app.ctx);
    expect(first).toMatch(/^chp_/);
    expect(await issueFirstAdminKey(t.app.ctx)).toBeUndefined();
    expect((await t.request({ method: 'GET', url: '/api/v1/api-keys', scope: 'none', headers: { authorization: `Bearer ${first}` } })).status).toBe(200);
  });

  it('serves the OpenAPI document without a key, generated from the route schemas', async () => {
    const r = await t.request({ method: 'GET', url: '/api/docs/json', scope: 'none' });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.paths)).toEqual(expect.arrayContaining(['/api/v1/contacts', '/api/v1/contacts/bulk', '/api/v1/contacts/{id}', '/api/v1/topics', '/api/v1/suppressions', '/api/v1/api-keys']));
    expect(r.json.paths['/api/v1/contacts'].post.requestBody.content['application/json'].schema.properties.email).toMatchObject({ type: 'string' });
    const ui = await t.request({ method: 'GET', url: '/api/docs', scope: 'none' });
    expect([200, 302]).toContain(ui.status);
  });

  it('answers unknown routes with the JSON error shape', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('not_found');
  });
});
