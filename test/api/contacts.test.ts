import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

describe.each(DIALECTS)('contacts API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'Newsletter' } });
  });
  afterAll(async () => t?.close());

  it('creates a contact, normalising the address and canonicalising locale and time zone', async () => {
    const r = await t.request({
      method: 'POST',
      url: '/api/v1/contacts',
      scope: 'write',
      body: { email: '  Sara@Bücher.DE ', firstName: ' Sara ', locale: 'fa_ir', timezone: 'asia/tehran', currency: 'irt', phone: '+98 (912) 123-4567', attributes: { plan: 'gold', vip: true, visits: 3 } },
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ email: 'Sara@bücher.de', firstName: 'Sara', locale: 'fa-IR', timezone: 'Asia/Tehran', currency: 'IRT', phone: '+989121234567', attributes: { plan: 'gold', vip: true, visits: 3 }, topics: {} });
    expect(r.json.createdAt).toBe('2026-11-27T10:00:00.000Z');
    const again = await t.request({ method: 'GET', url: `/api/v1/contacts/${r.json.id}`, scope: 'read' });
    expect(again.json.email).toBe('Sara@bücher.de');
  });

  it('treats an address with another case or the punycode domain as the same contact (409)', async () => {
    for (const email of ['sara@BÜCHER.de', 'SARA@xn--bcher-kva.de']) {
      const r = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email } });
      expect(r.status).toBe(409);
      expect(r.json.error).toMatchObject({ code: 'conflict', details: [{ field: 'email', message: 'already exists' }] });
    }
  });

  it('rejects invalid values naming each field, and stores nothing', async () => {
    const r = await t.request({
      method: 'POST',
      url: '/api/v1/contacts',
      body: { email: 'not-an-address', locale: 'xx-!!', timezone: 'Mars/Olympus', currency: 'ZZZ', phone: 'call me' },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('validation_failed');
    expect(r.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['currency', 'email', 'locale', 'phone', 'timezone']);
    const list = await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=not-an', scope: 'read' });
    expect(list.json.items).toEqual([]);
  });

  it('rejects unknown fields and wrong types with 400 naming the field', async () => {
    const unknown = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'a@example.com', favouriteColour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details).toContainEqual({ field: 'favouriteColour', message: 'is not a known field' });
    const wrongType = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'a@example.com', firstName: 42 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.details).toContainEqual({ field: 'firstName', message: 'must be a string or null' });
    const missing = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { firstName: 'x' } });
    expect(missing.json.error.details).toContainEqual({ field: 'email', message: 'is required' });
    const notJson = await t.request({ method: 'POST', url: '/api/v1/contacts', body: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe('validation_failed');
  });

  it('updates given fields, clears nulls, merges attributes and records topic changes in the consent log', async () => {
    const c = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'update@example.com', firstName: 'Ali', lastName: 'Rezaei', attributes: { a: 1, b: 2 } } });
    const r = await t.request({
      method: 'PATCH',
      url: `/api/v1/contacts/${c.json.id}`,
      body: { lastName: null, attributes: { b: null, c: 'x' }, topics: { newsletter: 'subscribed' }, consent: { source: 'form', ip: '203.0.113.9', userAgent: 'UA', wording: 'Send me the weekly newsletter' } },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ firstName: 'Ali', lastName: null, attributes: { a: 1, c: 'x' }, topics: { newsletter: 'subscribed' } });
    expect(r.json.attributes).not.toHaveProperty('b');
    t.clock.advance(1000);
    await t.request({ method: 'PATCH', url: `/api/v1/contacts/${c.json.id}`, body: { topics: { newsletter: 'unsubscribed' } } });
    await t.request({ method: 'PATCH', url: `/api/v1/contacts/${c.json.id}`, body: { topics: { newsletter: 'unsubscribed' } } });
    await t.request({ method: 'PATCH', url: `/api/v1/contacts/${c.json.id}`, body: { topics: { newsletter: 'subscribed' } } });
    const log = await t.request({ method: 'GET', url: `/api/v1/contacts/${c.json.id}/consent`, scope: 'read' });
    expect(log.json.items.map((e: { action: string }) => e.action)).toEqual(['subscribe', 'unsubscribe', 'resubscribe']);
    expect(log.json.items[0]).toMatchObject({ topicKey: 'newsletter', source: 'form', ip: '203.0.113.9', userAgent: 'UA', wording: 'Send me the weekly newsletter', status: 'subscribed', createdAt: '2026-11-27T10:00:00.000Z' });
    expect(log.json.items[1]).toMatchObject({ source: 'api', status: 'unsubscribed' });
  });

  it('refuses an unknown topic, naming it, and leaves the contact unchanged', async () => {
    const c = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'topics@example.com', firstName: 'Before' } });
    const r = await t.request({ method: 'PATCH', url: `/api/v1/contacts/${c.json.id}`, body: { firstName: 'After', topics: { nosuch: 'subscribed' } } });
    expect(r.status).toBe(400);
    expect(r.json.error.details).toEqual([{ field: 'topics/nosuch', message: 'no such topic; create it first' }]);
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${c.json.id}` })).json.firstName).toBe('Before');
  });

  it('returns 404 for unknown ids and deletes contacts', async () => {
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts/999999' })).status).toBe(404);
    expect((await t.request({ method: 'PATCH', url: '/api/v1/contacts/999999', body: { firstName: 'x' } })).status).toBe(404);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/contacts/999999' })).status).toBe(404);
    const c = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'gone@example.com' } });
    expect((await t.request({ method: 'DELETE', url: `/api/v1/contacts/${c.json.id}` })).status).toBe(204);
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${c.json.id}` })).json.error.code).toBe('not_found');
  });

  it('searches by email prefix and attribute equality with cursor pagination', async () => {
    for (let i = 0; i < 7; i++) {
      await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: `page${i}@shop.example`, attributes: { tier: i % 2 === 0 ? 'even' : 'odd', n: i, flag: i === 3 } } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await t.request({ method: 'GET', url: `/api/v1/contacts?emailPrefix=PAGE&limit=3${cursor ? `&cursor=${cursor}` : ''}`, scope: 'read' });
      expect(r.status).toBe(200);
      seen.push(...r.json.items.map((c: { email: string }) => c.email));
      cursor = r.json.nextCursor;
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page${i}@shop.example`));
    const even = await t.request({ method: 'GET', url: '/api/v1/contacts?attr.tier=even&emailPrefix=page', scope: 'read' });
    expect(even.json.items.map((c: { email: string }) => c.email)).toEqual(['page0@shop.example', 'page2@shop.example', 'page4@shop.example', 'page6@shop.example']);
    const num = await t.request({ method: 'GET', url: '/api/v1/contacts?attr.n=5', scope: 'read' });
    expect(num.json.items.map((c: { email: string }) => c.email)).toEqual(['page5@shop.example']);
    const bool = await t.request({ method: 'GET', url: '/api/v1/contacts?attr.flag=true', scope: 'read' });
    expect(bool.json.items.map((c: { email: string }) => c.email)).toEqual(['page3@shop.example']);
    const wildcard = await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=%25', scope: 'read' });
    expect(wildcard.json.items).toEqual([]);
    const badCursor = await t.request({ method: 'GET', url: '/api/v1/contacts?cursor=zzz', scope: 'read' });
    expect(badCursor.status).toBe(400);
    expect(badCursor.json.error.details[0].field).toBe('cursor');
  });

  it('keeps external ids unique per source', async () => {
    const a = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'ext-a@example.com', externalIds: { woocommerce: '1042' } } });
    expect(a.json.externalIds).toEqual({ woocommerce: '1042' });
    const b = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'ext-b@example.com', externalIds: { woocommerce: '1042' } } });
    expect(b.status).toBe(409);
    expect(b.json.error.details[0]).toEqual({ field: 'externalIds/woocommerce', message: `"1042" already belongs to contact ${a.json.id}` });
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=ext-b' })).json.items).toEqual([]);
  });
});
