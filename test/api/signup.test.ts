import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createMemorySendLimiter } from '../../src/adapters/limiter/memory.ts';
import { startDelivery } from '../../src/delivery.ts';
import { suppressAddress } from '../../src/services/suppressions.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

// The public double opt-in signup, end to end: form and JSON posts, the consent log, the
// confirmation email through the outbox and the capture transport, the signed link, and every
// guard against list bombing and bad input.

const STORE = 'https://shop.example';
const WORDING = 'Yes, send me the Kaveh newsletter and offers. I can unsubscribe at any time.';
const HOUR = 3600_000;

describe.each(DIALECTS)('public signup with double opt-in on %s', (dialect) => {
  let t: TestApp;
  let ipSeq = 0;
  /** A fresh client IP per call unless one is given, so the per-IP limit only bites where a test wants it to. */
  const nextIp = () => `198.51.100.${++ipSeq}`;

  const post = async (body: Record<string, unknown> | string, opts: { form?: boolean; ip?: string; origin?: string | null; contentType?: string } = {}) => {
    const form = opts.form ?? typeof body === 'string';
    const payload = typeof body === 'string' ? body : form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': opts.contentType ?? (form ? 'application/x-www-form-urlencoded' : 'application/json'), 'user-agent': 'Mozilla/5.0 signup-test' };
    if (opts.origin !== null) headers.origin = opts.origin ?? STORE;
    const res = await t.http.inject({ method: 'POST', url: '/signup', headers, payload, remoteAddress: opts.ip ?? nextIp() });
    let json: any;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body: res.body, json };
  };
  const page = (method: 'GET' | 'POST', url: string, ip = '192.0.2.50') =>
    t.http.inject({ method, url, remoteAddress: ip, headers: { 'user-agent': 'Mozilla/5.0 clicker', ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, ...(method === 'POST' ? { payload: '' } : {}) });

  const contactByEmail = (email: string) => t.db.k.selectFrom('contacts').selectAll().where('emailKey', '=', email.toLowerCase()).executeTakeFirst();
  const statuses = async (email: string) => {
    const c = await contactByEmail(email);
    if (!c) return undefined;
    return (await t.request({ method: 'GET', url: `/api/v1/contacts/${c.id}` })).json.topics as Record<string, string>;
  };
  const consent = async (email: string) => {
    const c = await contactByEmail(email);
    return c ? (await t.request({ method: 'GET', url: `/api/v1/contacts/${c.id}/consent` })).json.items : [];
  };
  const messagesTo = async (email: string) => (await t.request({ method: 'GET', url: `/api/v1/messages?to=${encodeURIComponent(email)}` })).json.items as any[];
  /** The confirmation link of the newest message to an address, as stored in the outbox. */
  const confirmPath = async (email: string) => {
    const row = await t.db.k.selectFrom('messages').select('data').where('toEmail', '=', email).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const data = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as { signup: { url: string } };
    return new URL(data.signup.url).pathname;
  };
  const signup = (email: string, extra: Record<string, unknown> = {}, opts: Parameters<typeof post>[1] = {}) => post({ email, wording: WORDING, wordingVersion: 'v3', ...extra }, opts);

  beforeAll(async () => {
    t = await createTestApp(dialect, { CHAPAR_PUBLIC_URL: 'https://mail.shop.example' });
    for (const [key, name] of [['newsletter', 'Weekly newsletter'], ['offers', 'Special offers'], ['internal', 'Staff news']]) {
      await t.request({ method: 'POST', url: '/api/v1/topics', body: { key, name } });
    }
    const s = await t.request({
      method: 'PATCH',
      url: '/api/v1/settings/store',
      body: { name: 'Kaveh', url: STORE, address: 'Kaveh Shop\n12 Vali-e Asr St\nTehran, Iran', supportEmail: 'help@shop.example', sendingDomain: 'shop.example', bounceDomain: 'bounces.shop.example', signupOrigins: [STORE], signupTopics: ['newsletter', 'offers'] },
    });
    expect(s.status).toBe(200);
  });
  afterAll(async () => t?.close());

  it('records a JSON signup as pending with the evidence and queues one transactional confirmation', async () => {
    const r = await signup('Sara@Example.com', {}, { ip: '203.0.113.7' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true, message: expect.stringContaining('Check your inbox') });
    expect(r.headers['access-control-allow-origin']).toBe(STORE);
    expect(await statuses('sara@example.com')).toEqual({ newsletter: 'pending', offers: 'pending' });
    const log = await consent('sara@example.com');
    expect(log).toHaveLength(2);
    for (const e of log) expect(e).toMatchObject({ action: 'subscribe', status: 'pending', source: 'form', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 signup-test', wording: WORDING, wordingVersion: 'v3' });
    const msgs = await messagesTo('Sara@example.com');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ template: 'signup-confirmation', stream: 'transactional', status: 'queued' });
    const template = await t.request({ method: 'GET', url: '/api/v1/templates/signup-confirmation' });
    expect(template.status).toBe(200);
    expect(template.json).toMatchObject({ kind: 'transactional', trackOpens: false, trackClicks: false });
  });

  it('accepts an HTML form post (topics as a field) and answers with a page, or the store’s thank-you URL', async () => {
    const r = await post({ email: 'reza@example.com', topics: 'newsletter', wording: WORDING, locale: 'fa' }, { form: true });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('dir="rtl"');
    expect(await statuses('reza@example.com')).toEqual({ newsletter: 'pending' });
    expect(await messagesTo('reza@example.com')).toHaveLength(1);

    await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { signupRedirectUrl: `${STORE}/thanks` } });
    const redirected = await post({ email: 'mina@example.com', wording: WORDING }, { form: true });
    expect(redirected.status).toBe(303);
    expect(redirected.headers.location).toBe(`${STORE}/thanks`);
    await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { signupRedirectUrl: null } });
  });

  it('sends the confirmation email; its link shows a button (GET changes nothing) and the POST subscribes and logs', async () => {
    await signup('leila@example.com', { firstName: 'Leila' });
    const delivery = await startDelivery(t.app, { start: false, limiter: createMemorySendLimiter(), random: () => 0.5, concurrency: 1 });
    try {
      await delivery.worker.drain();
    } finally {
      await delivery.stop();
    }
    const list = await t.request({ method: 'GET', url: '/api/v1/captured-messages?to=leila@example.com' });
    expect(list.json.items).toHaveLength(1);
    const raw = await t.request({ method: 'GET', url: `/api/v1/captured-messages/${list.json.items[0].id}` });
    const mail = await simpleParser(raw.body);
    expect(mail.subject).toBe('Please confirm your subscription to Kaveh');
    expect(mail.text).toContain('Hi Leila');
    const html = mail.html as string;
    // No tracking before consent: the button is the plain signed link, and there is no pixel.
    expect(html).not.toMatch(/\/c\/|\/o\//);
    const link = /href="(https:\/\/mail\.shop\.example\/signup\/confirm\/[^"?]+)/.exec(html)![1]!;
    const path = new URL(link).pathname;

    const ask = await page('GET', path);
    expect(ask.statusCode).toBe(200);
    expect(ask.headers['content-security-policy']).toContain("default-src 'none'");
    expect(ask.body).toContain(`action="${path}"`);
    expect(ask.body).toContain('Weekly newsletter');
    expect(await statuses('leila@example.com')).toEqual({ newsletter: 'pending', offers: 'pending' });

    const done = await page('POST', path, '192.0.2.77');
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('is now subscribed');
    expect(await statuses('leila@example.com')).toEqual({ newsletter: 'subscribed', offers: 'subscribed' });
    const confirms = (await consent('leila@example.com')).filter((e: any) => e.action === 'confirm');
    expect(confirms).toHaveLength(2);
    for (const e of confirms) expect(e).toMatchObject({ status: 'subscribed', source: 'double_opt_in', ip: '192.0.2.77', userAgent: 'Mozilla/5.0 clicker', wording: WORDING, wordingVersion: 'v3' });
    const contact = await contactByEmail('leila@example.com');
    const events = () => t.db.k.selectFrom('events').selectAll().where('type', '=', 'signup_confirmed').where('contactId', '=', contact!.id).execute();
    expect(await events()).toHaveLength(1);

    // A second click (or a scanner after the person) changes nothing.
    const again = await page('POST', path);
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('already subscribed');
    expect((await consent('leila@example.com')).filter((e: any) => e.action === 'confirm')).toHaveLength(2);
    expect(await events()).toHaveLength(1);
    expect((await page('GET', path)).body).toContain('already subscribed');
  });

  it('sends no second confirmation to one address within an hour, and one after it', async () => {
    const email = 'hourly@example.com';
    expect((await signup(email)).status).toBe(200);
    expect((await signup(email, { topics: ['newsletter'] })).status).toBe(200);
    expect(await messagesTo(email)).toHaveLength(1);
    const row = await t.db.k.selectFrom('optinRequests').selectAll().execute();
    expect(row.some((r) => r.requests === 2)).toBe(true);
    expect(JSON.stringify(row)).not.toContain(email);

    t.clock.advance(HOUR + 60_000);
    expect((await signup(email)).status).toBe(200);
    expect(await messagesTo(email)).toHaveLength(2);
  });

  it('handles two signups of a new address at once: one contact, one email', async () => {
    const email = 'twice@example.com';
    const [a, b] = await Promise.all([signup(email), signup(email)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await t.db.k.selectFrom('contacts').select('id').where('emailKey', '=', email).execute()).toHaveLength(1);
    expect(await messagesTo(email)).toHaveLength(1);
  });

  it('keeps the confirmation token out of request logs', async () => {
    const { loggableUrl } = await import('../../src/http/server.ts');
    expect(loggableUrl(await confirmPath('twice@example.com'))).toBe('/signup/confirm/…');
  });

  it('sends nothing to an address already subscribed, and stores nothing for a suppressed one, with the same answer', async () => {
    await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'fan@example.com', topics: { newsletter: 'subscribed', offers: 'subscribed' } } });
    const fan = await signup('fan@example.com');
    await suppressAddress(t.app.ctx, { email: 'angry@example.com', reason: 'complaint', source: 'test' });
    const angry = await signup('angry@example.com');
    const stranger = await signup('stranger@example.com');
    for (const r of [fan, angry]) {
      expect(r.status).toBe(stranger.status);
      expect(r.json).toEqual(stranger.json);
    }
    expect(await messagesTo('fan@example.com')).toHaveLength(0);
    expect(await messagesTo('angry@example.com')).toHaveLength(0);
    expect(await contactByEmail('angry@example.com')).toBeUndefined();
  });

  it('lifts an earlier unsubscribe-from-all when the person confirms a new signup', async () => {
    const email = 'returning@example.com';
    await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email, topics: { newsletter: 'unsubscribed' } } });
    await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email, reason: 'unsubscribe_all' } });
    await signup(email, { topics: ['newsletter'] });
    expect(await messagesTo(email)).toHaveLength(1);
    expect((await page('POST', await confirmPath(email))).statusCode).toBe(200);
    expect(await statuses(email)).toEqual({ newsletter: 'subscribed' });
    const permission = await t.request({ method: 'GET', url: `/api/v1/send-permission?email=${email}&kind=marketing&topic=newsletter` });
    expect(permission.json).toEqual({ allowed: true });
  });

  it('pretends success for a filled honeypot and stores nothing', async () => {
    for (const opts of [{}, { form: true }]) {
      const r = await post({ email: 'bot@example.com', wording: WORDING, website: 'http://spam.example' }, opts);
      expect(r.status).toBe(200);
    }
    // Even a bot's otherwise invalid post learns nothing.
    expect((await post({ email: 'not an address', website: 'x' })).status).toBe(200);
    expect(await contactByEmail('bot@example.com')).toBeUndefined();
    expect(await messagesTo('bot@example.com')).toHaveLength(0);
  });

  it('limits signups per IP (429 with Retry-After) without affecting other IPs', async () => {
    const ip = '203.0.113.200';
    for (let i = 0; i < 20; i++) expect((await post({ email: `x${i}@example.com`, website: 'trap' }, { ip })).status).toBe(200);
    const r = await post({ email: 'one-more@example.com', wording: WORDING }, { ip });
    expect(r.status).toBe(429);
    expect(r.json.error.code).toBe('rate_limited');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(await contactByEmail('one-more@example.com')).toBeUndefined();
    const form = await post({ email: 'one-more@example.com', wording: WORDING }, { ip, form: true });
    expect(form.status).toBe(429);
    expect(form.headers['content-type']).toMatch(/text\/html/);
    expect((await signup('one-more@example.com', {}, { ip: '203.0.113.201' })).status).toBe(200);
  });

  it('limits signups per address across IPs', async () => {
    const email = 'bombed@example.com';
    for (let i = 0; i < 5; i++) expect((await signup(email)).status).toBe(200);
    const r = await signup(email);
    expect(r.status).toBe(429);
    expect(r.json.error.details).toEqual([{ field: 'email', message: 'rate limit reached' }]);
    expect(await messagesTo(email)).toHaveLength(1);
  });

  it('rejects bad input with 400 naming the field, and changes nothing', async () => {
    const before = await t.db.k.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const bad = await signup('no-at-sign.example.com');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('validation_failed');
    expect(bad.json.error.details.map((d: any) => d.field)).toEqual(['email']);

    const noWording = await post({ email: 'ok@example.com' });
    expect(noWording.status).toBe(400);
    expect(noWording.json.error.details[0]).toMatchObject({ field: 'wording', message: expect.stringContaining('consent text') });

    const notOffered = await signup('ok@example.com', { topics: ['internal'] });
    expect(notOffered.status).toBe(400);
    expect(notOffered.json.error.details).toEqual([{ field: 'topics/internal', message: 'not offered by this signup' }]);

    const extra = await signup('ok@example.com', { admin: true });
    expect(extra.status).toBe(400);
    expect(extra.json.error.details[0].field).toBe('admin');

    const wrongType = await post({ email: 42, wording: WORDING });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.details).toEqual([{ field: 'email', message: 'must be text' }]);

    const badLocale = await signup('ok@example.com', { locale: 'not a locale!' });
    expect(badLocale.status).toBe(400);
    expect(badLocale.json.error.details[0].field).toBe('locale');

    const formBad = await post({ email: 'still bad', wording: WORDING }, { form: true });
    expect(formBad.status).toBe(400);
    expect(formBad.headers['content-type']).toMatch(/text\/html/);
    expect(formBad.body).toContain('<b>email</b>');

    expect((await post('{"email":', { form: false })).status).toBe(400);
    const plain = await post('email=a@example.com', { contentType: 'text/plain' });
    expect(plain.status).toBe(415);
    expect(plain.json.error.message).toContain('application/x-www-form-urlencoded');
    const huge = await post({ email: 'big@example.com', wording: 'x'.repeat(20_000) });
    expect(huge.status).toBe(413);

    const after = await t.db.k.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('answers a CORS preflight for the store’s origin only, never with *', async () => {
    const preflight = (origin: string) =>
      t.http.inject({ method: 'OPTIONS', url: '/signup', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const ok = await preflight(STORE);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(STORE);
    expect(ok.headers['access-control-allow-methods']).toBe('POST');
    expect(ok.headers.vary).toMatch(/origin/i);
    const evil = await preflight('https://evil.example');
    expect(evil.statusCode).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();

    // A post from another site's page (form or fetch) is refused and stores nothing.
    for (const form of [false, true]) {
      const r = await post({ email: 'csrf@example.com', wording: WORDING }, { origin: 'https://evil.example', form });
      expect(r.status).toBe(403);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(await contactByEmail('csrf@example.com')).toBeUndefined();
    // No Origin at all (the store's own server calling): accepted, without CORS headers.
    const server = await signup('server-side@example.com', {}, { origin: null });
    expect(server.status).toBe(200);
    expect(server.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('never changes another contact, nor an existing contact’s profile', async () => {
    const other = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'other@example.com', firstName: 'Other', locale: 'en', topics: { newsletter: 'subscribed' } } });
    const existing = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'known@example.com', firstName: 'Known' } });
    const snapshot = async (id: number) => ({ contact: (await t.request({ method: 'GET', url: `/api/v1/contacts/${id}` })).json, consent: (await t.request({ method: 'GET', url: `/api/v1/contacts/${id}/consent` })).json });
    const otherBefore = await snapshot(other.json.id);

    await signup('someone-else@example.com', { firstName: 'Other' });
    await signup('known@example.com', { firstName: 'Attacker', locale: 'fa' });
    const link = await confirmPath('someone-else@example.com');
    await page('POST', link);

    expect(await snapshot(other.json.id)).toEqual(otherBefore);
    const known = (await t.request({ method: 'GET', url: `/api/v1/contacts/${existing.json.id}` })).json;
    expect(known).toMatchObject({ firstName: 'Known', locale: null, topics: { newsletter: 'pending', offers: 'pending' } });
  });

  it('refuses a forged, altered or expired link with a clear page and changes nothing', async () => {
    const email = 'forge@example.com';
    await signup(email);
    const good = await confirmPath(email);
    const token = good.split('/').pop()!;
    const [contactId, topics, expiry, sig] = token.split('.');
    const other = await contactByEmail('reza@example.com');
    const forged = [
      '/signup/confirm/garbage',
      '/signup/confirm/',
      `/signup/confirm/${contactId}.${topics}.${expiry}.AAAAAAAAAAAAAAAAAAAAAA`,
      `/signup/confirm/${other!.id}.${topics}.${expiry}.${sig}`,
      `/signup/confirm/${contactId}.${topics}.${(Number.parseInt(expiry!, 36) + 10 * 24 * HOUR).toString(36)}.${sig}`,
      `/signup/confirm/${contactId}.${topics}-999.${expiry}.${sig}`,
      `/signup/confirm/${'1'.repeat(5000)}`,
      `/signup/confirm/${encodeURIComponent('../../api/v1/contacts')}`,
    ];
    for (const url of forged) {
      for (const method of ['GET', 'POST'] as const) {
        const r = await page(method, url);
        expect(r.statusCode).toBe(404);
        expect(r.headers['content-type']).toMatch(/text\/html/);
        expect(r.body).toContain('not valid');
      }
    }
    expect(await statuses(email)).toEqual({ newsletter: 'pending', offers: 'pending' });
    expect(await statuses('reza@example.com')).toEqual({ newsletter: 'pending' });

    t.clock.advance(8 * 24 * HOUR);
    for (const method of ['GET', 'POST'] as const) {
      const r = await page(method, good);
      expect(r.statusCode).toBe(410);
      expect(r.body).toContain('expired');
    }
    expect(await statuses(email)).toEqual({ newsletter: 'pending', offers: 'pending' });
  });
});
