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
    // Mail to Maryam: one sent (the server's answer quotes the address, a copy was captured), one still waiting.
    const send = (key: string) => t.request({ method: 'POST', url: '/api/v1/messages', headers: { 'idempotency-key': key }, body: { to: 'maryam@example.com', fromEmail: 'shop@shop.example', subject: 'Your order, Maryam', html: '<p>Shiraz {{ order.number }}</p>', data: { order: { number: '55' } } } });
    const sent = await send('gdpr-1');
    const waiting = await send('gdpr-2');
    expect([sent.status, waiting.status]).toEqual([202, 202]);
    await t.db.k.updateTable('messages').set({ status: 'sent', lastResponse: '250 2.0.0 Ok: queued for <maryam@example.com>' }).where('id', '=', sent.json.id).execute();
    await t.db.k.insertInto('messageHistory').values({ messageId: sent.json.id, status: 'sent', attempt: 1, transport: 'capture', code: 250, enhanced: '2.0.0', response: '250 2.0.0 Ok: queued for <maryam@example.com>', at: t.clock.now() }).execute();
    await t.db.k.insertInto('capturedMessages').values({ messageRef: sent.json.ref, envelopeFrom: 'b@b.shop.example', envelopeTo: 'maryam@example.com', subject: 'Your order, Maryam', raw: Buffer.from('To: maryam@example.com'), createdAt: t.clock.now() }).execute();

    const r = await t.request({ method: 'POST', url: `/api/v1/contacts/${id}/erase` });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ erased: true, consentRecordsAnonymised: 1, messagesErased: 2 });
    // The rows stay for the counts, without the person; the waiting one will never go.
    const mail = await t.db.k.selectFrom('messages').select(['id', 'status', 'reason', 'toEmail']).orderBy('id').execute();
    expect(mail.map((m) => [m.status, m.reason, m.toEmail.startsWith('erased:')])).toEqual([['sent', null, true], ['suppressed', 'erased', true]]);
    expect(await t.db.k.selectFrom('capturedMessages').selectAll().execute()).toEqual([]);
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${id}` })).status).toBe(404);

    const dump = JSON.stringify({
      contacts: await t.db.k.selectFrom('contacts').selectAll().execute(),
      ext: await t.db.k.selectFrom('contactExternalIds').selectAll().execute(),
      subs: await t.db.k.selectFrom('subscriptions').selectAll().execute(),
      consent: await t.db.k.selectFrom('consentLog').selectAll().execute(),
      suppressions: await t.db.k.selectFrom('suppressions').selectAll().execute(),
      messages: await t.db.k.selectFrom('messages').selectAll().execute(),
      history: await t.db.k.selectFrom('messageHistory').selectAll().execute(),
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
