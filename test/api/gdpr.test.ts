import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { checkSendPermission } from '../../src/services/send-permission.ts';

describe.each(DIALECTS)('GDPR export and erasure, append-only consent log on %s', (dialect) => {
  let t: TestApp;
  let id: number;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'Newsletter' } });
    const c = await t.request({
      method: 'POST',
      url: '/api/v1/contacts',
      body: {
        email: 'Maryam@Example.com',
        firstName: 'Maryam',
        phone: '+98 912 000 0000',
        externalIds: { woocommerce: '55' },
        attributes: { city: 'Shiraz' },
        topics: { newsletter: 'subscribed' },
        consent: { source: 'form', ip: '198.51.100.7', userAgent: 'Mozilla/5.0', wording: 'Email me the newsletter' },
      },
    });
    id = c.json.id;
    await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email: 'maryam@example.com', reason: 'unsubscribe_all' } });
  });
  afterAll(async () => t?.close());

  it('exports everything held about a contact as one JSON document (admin only)', async () => {
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${id}/gdpr-export`, scope: 'write' })).status).toBe(403);
    const r = await t.request({ method: 'GET', url: `/api/v1/contacts/${id}/gdpr-export` });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      format: 'chapar.contact-export/1',
      contact: { email: 'Maryam@example.com', firstName: 'Maryam', phone: '+989120000000', externalIds: { woocommerce: '55' }, attributes: { city: 'Shiraz' } },
      topics: { newsletter: 'subscribed' },
      consentLog: [{ action: 'subscribe', ip: '198.51.100.7', wording: 'Email me the newsletter' }],
      suppressions: [{ reason: 'unsubscribe_all' }],
    });
  });

  it('refuses to delete or truncate consent-log rows, even with raw SQL', async () => {
    await expect(sql`DELETE FROM consent_log`.execute(t.db.k)).rejects.toThrow(/append-only/);
    const n = await t.db.k.selectFrom('consentLog').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(1);
  });

  it('erases the contact: personal data gone, consent proof kept without it, address kept only as a keyed hash', async () => {
    const r = await t.request({ method: 'POST', url: `/api/v1/contacts/${id}/erase` });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ erased: true, consentRecordsAnonymised: 1 });
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${id}` })).status).toBe(404);

    const dump = JSON.stringify({
      contacts: await t.db.k.selectFrom('contacts').selectAll().execute(),
      ext: await t.db.k.selectFrom('contactExternalIds').selectAll().execute(),
      subs: await t.db.k.selectFrom('subscriptions').selectAll().execute(),
      consent: await t.db.k.selectFrom('consentLog').selectAll().execute(),
      suppressions: await t.db.k.selectFrom('suppressions').selectAll().execute(),
    }).toLowerCase();
    for (const personal of ['maryam', 'shiraz', '198.51.100.7', 'mozilla', '989120000000']) expect(dump).not.toContain(personal);

    const consent = await t.db.k.selectFrom('consentLog').selectAll().execute();
    expect(consent).toEqual([expect.objectContaining({ contactId: null, action: 'subscribe', wording: 'Email me the newsletter', ip: null, userAgent: null, email: expect.stringMatching(/^erased:[0-9a-f]{64}$/) })]);
    const supp = await t.db.k.selectFrom('suppressions').selectAll().execute();
    expect(supp.every((s) => s.email === null)).toBe(true);
    expect(supp.map((s) => s.reason).sort()).toEqual(['erased', 'unsubscribe_all']);
  });

  it('a re-imported erased address can never be mailed by accident', async () => {
    const again = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'maryam@EXAMPLE.com', topics: { newsletter: 'subscribed' } } });
    expect(again.status).toBe(201);
    expect(await checkSendPermission(t.app.ctx, { email: 'maryam@example.com', kind: 'marketing', topicKey: 'newsletter' })).toEqual({ allowed: false, reason: 'suppressed', suppression: 'erased' });
    expect(await checkSendPermission(t.app.ctx, { email: 'maryam@example.com', kind: 'transactional' })).toMatchObject({ allowed: false, suppression: 'erased' });
  });

  it('keeps the erasure entry: it cannot be lifted', async () => {
    const list = await t.request({ method: 'GET', url: '/api/v1/suppressions?reason=erased' });
    expect(list.json.items).toEqual([expect.objectContaining({ email: null, reason: 'erased', source: 'gdpr' })]);
    const r = await t.request({ method: 'DELETE', url: `/api/v1/suppressions/${list.json.items[0].id}` });
    expect(r.status).toBe(409);
  });

  it('404s for an unknown contact', async () => {
    expect((await t.request({ method: 'POST', url: '/api/v1/contacts/424242/erase' })).status).toBe(404);
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts/424242/gdpr-export' })).status).toBe(404);
  });
});
