import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

describe.each(DIALECTS)('topics and the CSV export endpoint on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('creates, reads, renames and lists topics', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/topics', scope: 'write', body: { key: 'product-news', name: ' Product news ', description: 'New arrivals' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ key: 'product-news', name: 'Product news', description: 'New arrivals' });
    const patched = await t.request({ method: 'PATCH', url: '/api/v1/topics/product-news', body: { name: 'New arrivals' } });
    expect(patched.json).toMatchObject({ name: 'New arrivals', description: 'New arrivals' });
    expect((await t.request({ method: 'GET', url: '/api/v1/topics', scope: 'read' })).json.items.map((x: { key: string }) => x.key)).toEqual(['product-news']);
  });

  it('refuses duplicate and malformed keys and empty names', async () => {
    const dup = await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'product-news', name: 'Again' } });
    expect(dup.status).toBe(409);
    expect(dup.json.error.details).toEqual([{ field: 'key', message: 'already exists' }]);
    const bad = await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'Has Spaces', name: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].field).toBe('key');
    const empty = await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'ok', name: '   ' } });
    expect(empty.json.error.details[0].field).toBe('name');
    expect((await t.request({ method: 'GET', url: '/api/v1/topics/nope' })).status).toBe(404);
    expect((await t.request({ method: 'PATCH', url: '/api/v1/topics/nope', body: { name: 'x' } })).status).toBe(404);
  });

  it('exports contacts with topic statuses, external ids and attributes as CSV', async () => {
    await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'csv1@example.com', firstName: 'Zahra, "Z"', externalIds: { woocommerce: '7' }, attributes: { city: 'Tabriz' }, topics: { 'product-news': 'subscribed' } } });
    await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'csv2@example.com' } });
    const r = await t.request({ method: 'GET', url: '/api/v1/contacts/export', scope: 'read' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    const rows = parse(r.body, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ email: 'csv1@example.com', first_name: 'Zahra, "Z"', 'external_id.woocommerce': '7', attributes: '{"city":"Tabriz"}', 'topic.product-news': 'subscribed' });
    expect(rows[1]).toMatchObject({ email: 'csv2@example.com', 'topic.product-news': '' });
  });

  it('deleting a topic (admin only) removes its subscriptions but not the consent history', async () => {
    expect((await t.request({ method: 'DELETE', url: '/api/v1/topics/product-news', scope: 'write' })).status).toBe(403);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/topics/product-news' })).status).toBe(204);
    const c = (await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=csv1' })).json.items[0];
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${c.id}` })).json.topics).toEqual({});
    const log = await t.request({ method: 'GET', url: `/api/v1/contacts/${c.id}/consent` });
    expect(log.json.items).toEqual([expect.objectContaining({ topicKey: 'product-news', topicId: null, action: 'subscribe' })]);
  });
});
