import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

describe.each(DIALECTS)('bulk upsert and body limits on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { CHAPAR_BODY_LIMIT: '4096' });
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'promotions', name: 'Promotions' } });
  });
  afterAll(async () => t?.close());

  it('stores the good rows and lists the bad ones by index with the field at fault', async () => {
    const r = await t.request({
      method: 'POST',
      url: '/api/v1/contacts/bulk',
      body: {
        contacts: [
          { email: 'bulk1@example.com', firstName: 'One', topics: { promotions: 'subscribed' }, consent: { source: 'checkout', wording: 'Yes, send me offers' } },
          { email: 'not an email' },
          { email: 'bulk3@example.com', firstName: 3 },
          { email: 'bulk4@example.com', surprise: true },
          { email: 'bulk5@example.com', timezone: 'Moon/Base' },
          { email: 'BULK1@example.com', lastName: 'Uno' },
          { email: 'bulk7@example.com', topics: { nosuch: 'subscribed' } },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.json.created).toBe(1);
    expect(r.json.rejected).toEqual([
      { index: 1, errors: [{ field: 'contacts/1/email', message: expect.stringContaining('not a valid email address') }] },
      { index: 2, errors: [{ field: 'contacts/2/firstName', message: 'must be a string or null' }] },
      { index: 3, errors: [{ field: 'contacts/3/surprise', message: 'is not a known field' }] },
      { index: 4, errors: [{ field: 'contacts/4/timezone', message: expect.stringContaining('IANA') }] },
      { index: 6, errors: [{ field: 'contacts/6/topics/nosuch', message: 'no such topic; create it first' }] },
    ]);
    const list = await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=bulk' });
    expect(list.json.items).toHaveLength(1);
    const c = await t.request({ method: 'GET', url: `/api/v1/contacts/${list.json.items[0].id}` });
    // Rows 0 and 5 are the same person: merged in order.
    expect(c.json).toMatchObject({ email: 'bulk1@example.com', firstName: 'One', lastName: 'Uno', topics: { promotions: 'subscribed' } });
    const consent = await t.request({ method: 'GET', url: `/api/v1/contacts/${c.json.id}/consent` });
    expect(consent.json.items).toEqual([expect.objectContaining({ action: 'subscribe', source: 'checkout', wording: 'Yes, send me offers', topicKey: 'promotions' })]);
  });

  it('updates existing contacts, keeping fields the call leaves out, and counts them as updated', async () => {
    t.clock.advance(60_000);
    const r = await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body: { contacts: [{ email: 'bulk1@example.com', locale: 'fa', attributes: { score: 9 } }, { email: 'bulk8@example.com' }] } });
    expect(r.json).toMatchObject({ created: 1, updated: 1, rejected: [] });
    const list = await t.request({ method: 'GET', url: '/api/v1/contacts?emailPrefix=bulk1' });
    expect(list.json.items[0]).toMatchObject({ firstName: 'One', lastName: 'Uno', locale: 'fa', attributes: { score: 9 } });
  });

  it('counts created and updated exactly, even when the clock has not moved', async () => {
    const body = { contacts: [{ email: 'same-ms-1@example.com' }, { email: 'same-ms-2@example.com' }] };
    expect((await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body })).json).toMatchObject({ created: 2, updated: 0 });
    expect((await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body })).json).toMatchObject({ created: 0, updated: 2 });
    const r = await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body: { contacts: [{ email: 'same-ms-3@example.com' }, { email: 'SAME-MS-3@example.com' }, { email: 'same-ms-1@example.com' }] } });
    expect(r.json).toMatchObject({ created: 1, updated: 1 });
    expect(r.json.results.map((x: { created: boolean }) => x.created)).toEqual([true, true, false]);
  });

  it('rejects a NUL character (which PostgreSQL cannot store) in that row only', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body: { contacts: [{ email: 'nul@example.com', attributes: { a: 'x\u0000y' } }, { email: 'nul-ext@example.com', externalIds: { shop: 'a\u0000' } }, { email: 'fine@example.com' }] } });
    expect(r.status).toBe(200);
    expect(r.json.created).toBe(1);
    expect(r.json.rejected.map((x: { errors: { field: string }[] }) => x.errors[0]!.field)).toEqual(['contacts/0/attributes', 'contacts/1/externalIds/shop']);
    const one = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'nul2@example.com', attributes: { a: 'x\u0000y' } } });
    expect(one.status).toBe(400);
  });

  it('refuses a second address claiming the same external id, storing the others', async () => {
    const r = await t.request({
      method: 'POST',
      url: '/api/v1/contacts/bulk',
      body: { contacts: [{ email: 'x1@example.com', externalIds: { shopify: '9' } }, { email: 'x2@example.com', externalIds: { shopify: '9' } }, { email: 'x3@example.com' }] },
    });
    expect(r.json.created).toBe(2);
    expect(r.json.rejected).toEqual([{ index: 1, errors: [{ field: 'contacts/1/externalIds/shopify', message: expect.stringContaining('two addresses') }] }]);
  });

  it('accepts 10,000 contacts in one call and refuses 10,001', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ email: `many${i}@example.org`, attributes: { i } }));
    const ok = await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body: { contacts: many } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ created: 10_000, updated: 0, rejected: [] });
    const count = await t.db.k.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('n')).where('emailKey', 'like', 'many%').executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(10_000);
    const tooMany = await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body: { contacts: [...many, { email: 'one-more@example.org' }] } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.details[0]).toMatchObject({ field: 'contacts' });
  });

  it('answers 413 for a body over the limit on ordinary routes', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'big@example.com', attributes: { blob: 'x'.repeat(10_000) } } });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('payload_too_large');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/contacts', body: 'email=a@b.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(415);
    expect(r.json.error.code).toBe('unsupported_media_type');
  });
});
