import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectConsentRecords } from '../../src/db/queries/consent-log.ts';
import { recordOrders } from '../../src/services/store-data.ts';
import { ingestEvents } from '../../src/services/store-events.ts';
import { LAPSED_SIGNUP_AFTER_MS, removeLapsedSignups } from '../../src/services/lapsed-signups.ts';
import { requestSignup } from '../../src/services/signups.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

// Signups that never confirm are not kept: a month after the last confirmation email, a contact
// that is nothing but the unconfirmed signup is removed, its consent entries anonymised. Anyone
// Chapar knows otherwise (a confirmed topic, an order, an earlier import, an event) stays.

const DAY = 24 * 3600_000;
const WORDING = 'Yes, send me the newsletter.';

describe.each(DIALECTS)('unconfirmed signups on %s', (dialect) => {
  let t: TestApp;
  let ip = 0;
  const signup = (email: string) => requestSignup(t.app.ctx, { email, wording: WORDING, ip: `198.51.100.${++ip}`, userAgent: 'Mozilla/5.0 test', source: 'form' });
  const contactOf = (email: string) => t.db.k.selectFrom('contacts').select(['id']).where('emailKey', '=', email).executeTakeFirst();
  const confirmPath = async (email: string) => {
    const row = await t.db.k.selectFrom('messages').select('data').where('toEmail', '=', email).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const data = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as { signup: { url: string } };
    return new URL(data.signup.url).pathname;
  };

  beforeAll(async () => {
    t = await createTestApp(dialect, { CHAPAR_PUBLIC_URL: 'https://mail.shop.example' });
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'Newsletter' } });
    // A topic no form offers: the sweep looks at each topic in turn and finds nothing pending here.
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'offers', name: 'Offers' } });
    const s = await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { name: 'Kaveh', url: 'https://shop.example', address: 'Kaveh Shop, Tehran', supportEmail: 'help@shop.example', sendingDomain: 'shop.example', bounceDomain: 'b.shop.example', signupOrigins: ['https://shop.example'], signupTopics: ['newsletter'] } });
    expect(s.status).toBe(200);
  });
  afterAll(async () => t?.close());

  it('removes a month-old signup that is nothing else, keeps everyone Chapar knows otherwise, and lets the address sign up again', async () => {
    // Known before the signup (an import, say): the signup only adds a pending topic. left@ had
    // unsubscribed before it signed up again; imported@ was made pending through the API.
    for (const body of [{ email: 'known@example.com' }, { email: 'left@example.com', topics: { newsletter: 'unsubscribed' } }, { email: 'imported@example.com', topics: { newsletter: 'pending' } }]) {
      expect((await t.request({ method: 'POST', url: '/api/v1/contacts', body })).status).toBe(201);
    }
    for (const email of ['lapsed@example.com', 'confirmed@example.com', 'known@example.com', 'left@example.com', 'buyer@example.com', 'viewer@example.com', 'again@example.com']) {
      expect((await signup(email)).status).toBe('confirmation_sent');
    }
    const lapsed = (await contactOf('lapsed@example.com'))!.id;
    expect((await t.http.inject({ method: 'POST', url: await confirmPath('confirmed@example.com'), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' })).statusCode).toBe(200);
    // Remembered as the signup's own: the four it created that have not confirmed (not known@, which existed).
    expect((await t.db.k.selectFrom('signupContacts').select('contactId').execute()).length).toBe(4);
    await recordOrders(t.app.ctx, [{ source: 'woocommerce', externalId: '9001', customer: { source: 'woocommerce', email: 'buyer@example.com' }, status: 'processing', currency: 'USD', total: 20, orderedAt: t.clock.now(), items: [] }]);
    expect((await ingestEvents(t.app.ctx, [{ id: 'pv-1', type: 'product_viewed', occurredAt: new Date(t.clock.now()).toISOString(), email: 'viewer@example.com' }])).accepted).toBe(1);

    // Twenty days on, one address asks again and gets a new link: its month starts over.
    t.clock.advance(20 * DAY);
    expect((await signup('again@example.com')).status).toBe('confirmation_sent');

    t.clock.advance(LAPSED_SIGNUP_AFTER_MS - 20 * DAY - 60_000);
    expect(await removeLapsedSignups(t.app.ctx)).toEqual({ contacts: 0, topics: 0, optinRequests: 0 });
    t.clock.advance(120_000);
    // Removed: lapsed@. Kept, their requests lapsed: known@, left@, buyer@, viewer@.
    expect(await removeLapsedSignups(t.app.ctx)).toEqual({ contacts: 1, topics: 4, optinRequests: 6 });

    expect(await contactOf('lapsed@example.com')).toBeUndefined();
    for (const email of ['confirmed@example.com', 'known@example.com', 'buyer@example.com', 'viewer@example.com', 'again@example.com']) expect([email, await contactOf(email)]).toEqual([email, expect.anything()]);
    // Its confirmation email and the entries about it are gone; the consent log keeps the request without the person.
    expect(await t.db.k.selectFrom('messages').select('id').where('toEmail', '=', 'lapsed@example.com').execute()).toEqual([]);
    expect(await selectConsentRecords(t.db, lapsed)).toEqual([]);
    const anonymous = await t.db.k.selectFrom('consentLog').selectAll().where('email', 'like', 'lapsed:%').execute();
    expect(anonymous.map((r) => [r.contactId, r.status, r.ip, r.userAgent, r.wording, r.email!.includes('@')])).toEqual([[null, 'pending', null, null, WORDING, false]]);
    expect(await t.db.k.selectFrom('suppressions').selectAll().execute()).toEqual([]);

    // The next month takes the one that asked again; then nothing more is removed, however often it runs.
    t.clock.advance(20 * DAY);
    expect(await removeLapsedSignups(t.app.ctx)).toEqual({ contacts: 1, topics: 0, optinRequests: 1 });
    expect(await contactOf('again@example.com')).toBeUndefined();
    expect(await removeLapsedSignups(t.app.ctx)).toEqual({ contacts: 0, topics: 0, optinRequests: 0 });

    // The kept contacts' requests went back to where they stood, each with a `lapse` entry; the
    // confirmed one and the API's pending are untouched.
    const topicsOf = async (email: string) => (await t.request({ method: 'GET', url: `/api/v1/contacts/${(await contactOf(email))!.id}` })).json.topics;
    for (const [email, topics] of [['known@example.com', {}], ['buyer@example.com', {}], ['viewer@example.com', {}], ['left@example.com', { newsletter: 'unsubscribed' }], ['confirmed@example.com', { newsletter: 'subscribed' }], ['imported@example.com', { newsletter: 'pending' }]] as const) {
      expect([email, await topicsOf(email)]).toEqual([email, topics]);
    }
    const history = async (email: string) => (await selectConsentRecords(t.db, (await contactOf(email))!.id)).map((r) => [r.action, r.status, r.source, r.ip]);
    expect(await history('left@example.com')).toEqual([['unsubscribe', 'unsubscribed', 'api', null], ['subscribe', 'pending', 'form', expect.stringMatching(/^198\.51\.100\./)], ['lapse', 'unsubscribed', 'double_opt_in', null]]);
    expect((await history('known@example.com')).at(-1)).toEqual(['lapse', 'none', 'double_opt_in', null]);
    // No longer waiting to confirm: the signup's list of its own contacts is empty.
    expect(await t.db.k.selectFrom('signupContacts').select('contactId').execute()).toEqual([]);
    // A lapsed contact that signs up again gets a new request and a new link.
    expect((await signup('known@example.com')).status).toBe('confirmation_sent');
    expect(await topicsOf('known@example.com')).toEqual({ newsletter: 'pending' });

    // Not suppressed: the owner of the address can still sign up, and is a new contact.
    expect((await signup('lapsed@example.com')).status).toBe('confirmation_sent');
    expect((await contactOf('lapsed@example.com'))!.id).not.toBe(lapsed);
  });
});
