import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { checkSendPermission } from '../../src/services/send-permission.ts';

const mjml = `<mjml><mj-body><mj-section><mj-column>
<mj-text>Hi {{ contact.first_name }}</mj-text>
<mj-button href="https://shop.example/new?ref=mail">New arrivals</mj-button>
<mj-text>{{ store.address }} <a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Preferences</a> <a href="{{ view_in_browser_url }}">Web version</a></mj-text>
</mj-column></mj-section></mj-body></mjml>`;

describe.each(DIALECTS)('click, open, unsubscribe and preference links on %s', (dialect) => {
  let t: TestApp;
  let contactId: number;
  let html: string;
  const href = (re: RegExp) => [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')).find((h) => re.test(h))!;
  const path = (url: string) => new URL(url).pathname;

  beforeAll(async () => {
    t = await createTestApp(dialect, { CHAPAR_PUBLIC_URL: 'https://mail.shop.example' });
    await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { name: 'Kaveh', address: '1 Main St, Tehran', sendingDomain: 'shop.example', bounceDomain: 'b.shop.example' } });
    for (const key of ['newsletter', 'offers']) await t.request({ method: 'POST', url: '/api/v1/topics', body: { key, name: key === 'newsletter' ? 'Weekly newsletter' : 'Special offers' } });
    const c = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'leila@example.com', firstName: 'Leila', topics: { newsletter: 'subscribed', offers: 'subscribed' } } });
    contactId = c.json.id;
    await t.request({
      method: 'POST',
      url: '/api/v1/templates',
      body: { key: 'news', name: 'News', kind: 'marketing', topic: 'newsletter', defaultLocale: 'en', variants: { en: { subject: 'News', fromName: 'Kaveh', fromEmail: 'news@shop.example', body: mjml } } },
    });
    const sent = await t.request({ method: 'POST', url: '/api/v1/templates/news/test-send', body: { to: 'leila@example.com', contactId } });
    expect(sent.json.result.status).toBe('sent');
    // Use the links of the message actually sent (the capture transport kept it).
    const list = await t.request({ method: 'GET', url: '/api/v1/captured-messages' });
    const raw = await t.request({ method: 'GET', url: `/api/v1/captured-messages/${list.json.items[0].id}` });
    html = (await simpleParser(raw.body)).html as string;
  });
  afterAll(async () => t?.close());

  const events = async (type: string) => (await t.app.tracking.flush(), t.db.k.selectFrom('events').selectAll().where('type', '=', type).where('contactId', '=', contactId).execute());

  it('redirects a signed click to its destination with UTM and records it', async () => {
    const link = href(/\/c\//);
    const r = await t.request({ method: 'GET', url: path(link), scope: 'none', headers: { 'user-agent': 'Mozilla/5.0 test' } });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('https://shop.example/new?ref=mail&utm_source=chapar&utm_medium=email');
    const clicks = await events('email_clicked');
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({ userAgent: 'Mozilla/5.0 test', messageRef: expect.any(String) });
  });

  it('refuses a tampered, re-targeted or unsigned click link: never an open redirect', async () => {
    const [, , c, ref, u, sig] = path(href(/\/c\//)).split('/');
    const evil = Buffer.from('https://evil.example/phish').toString('base64url');
    for (const p of [`/c/${c}/${ref}/${evil}/${sig}`, `/c/${Number(c) + 1}/${ref}/${u}/${sig}`, `/c/${c}/${ref}/${u}/AAAAAAAAAAAAAAAAAAAAAA`, `/c/${c}/${ref}/${u}`]) {
      const r = await t.request({ method: 'GET', url: p, scope: 'none' });
      expect(r.status).toBe(404);
      expect(r.headers.location).toBeUndefined();
    }
    expect(await events('email_clicked')).toHaveLength(1);
  });

  it('serves the open pixel and records genuine opens only', async () => {
    const pixel = /<img src="([^"]+\/o\/[^"]+)"/.exec(html)![1]!;
    const r = await t.request({ method: 'GET', url: path(pixel), scope: 'none' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/gif');
    const forged = await t.request({ method: 'GET', url: path(pixel).replace(/\/[^/]+\.gif$/, '/AAAAAAAAAAAAAAAAAAAAAA.gif'), scope: 'none' });
    expect(forged.headers['content-type']).toBe('image/gif');
    expect(await events('email_opened')).toHaveLength(1);
  });

  it('shows the web version of a sent message', async () => {
    const r = await t.request({ method: 'GET', url: path(href(/\/v\//)), scope: 'none' });
    expect(r.status).toBe(200);
    expect(r.body).toContain('Hi Leila');
  });

  it('GET on the unsubscribe link only asks; a one-click POST unsubscribes from the topic at once', async () => {
    const u = path(href(/\/u\//));
    const page = await t.request({ method: 'GET', url: u, scope: 'none' });
    expect(page.status).toBe(200);
    expect(page.body).toContain('Stop sending Weekly newsletter to leila@example.com?');
    expect(page.body).toContain('method="post"');
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'marketing', topicKey: 'newsletter' })).toEqual({ allowed: true });

    const r = await t.request({ method: 'POST', url: u, scope: 'none', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Gmail one-click' } });
    expect(r.status).toBe(200);
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'marketing', topicKey: 'newsletter' })).toEqual({ allowed: false, reason: 'not_subscribed', status: 'unsubscribed' });
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'marketing', topicKey: 'offers' })).toEqual({ allowed: true });
    const consent = await t.request({ method: 'GET', url: `/api/v1/contacts/${contactId}/consent` });
    expect(consent.json.items.at(-1)).toMatchObject({ action: 'unsubscribe', topicKey: 'newsletter', source: 'unsubscribe_link', userAgent: 'Gmail one-click' });
    expect(await events('unsubscribed')).toHaveLength(1);
  });

  it('refuses forged or edited unsubscribe tokens, changing nothing', async () => {
    const u = path(href(/\/u\//));
    const otherContact = u.replace(/\/u\/\d+\./, `/u/${contactId + 1}.`);
    const otherTopic = u.replace('.newsletter.', '.offers.');
    for (const p of [otherContact, otherTopic, '/u/garbage']) {
      expect((await t.request({ method: 'POST', url: p, scope: 'none', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(404);
    }
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'marketing', topicKey: 'offers' })).toEqual({ allowed: true });
  });

  it('the preference centre lets the contact choose topics or unsubscribe from all', async () => {
    const p = path(href(/\/p\//));
    const page = await t.request({ method: 'GET', url: p, scope: 'none' });
    expect(page.body).toMatch(/value="offers" checked/);
    expect(page.body).toMatch(/value="newsletter">/);
    const chosen = await t.request({ method: 'POST', url: p, scope: 'none', body: 'topic=newsletter', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(chosen.status).toBe(200);
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${contactId}` })).json.topics).toEqual({ newsletter: 'subscribed', offers: 'unsubscribed' });

    await t.request({ method: 'POST', url: p, scope: 'none', body: 'topic=newsletter&unsubscribe_all=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${contactId}` })).json.topics).toEqual({ newsletter: 'unsubscribed', offers: 'unsubscribed' });
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'marketing', topicKey: 'newsletter' })).toMatchObject({ allowed: false, reason: 'suppressed', suppression: 'unsubscribe_all' });
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'transactional' })).toEqual({ allowed: true });

    // Opting back in lifts the unsubscribe-from-all.
    await t.request({ method: 'POST', url: p, scope: 'none', body: 'topic=offers', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await checkSendPermission(t.app.ctx, { email: 'leila@example.com', kind: 'marketing', topicKey: 'offers' })).toEqual({ allowed: true });
    const sources = (await t.request({ method: 'GET', url: `/api/v1/contacts/${contactId}/consent` })).json.items.map((e: { source: string }) => e.source);
    expect(sources.filter((s: string) => s === 'preference_center').length).toBeGreaterThanOrEqual(3);
  });

  it('limits requests per IP', async () => {
    let limited = 0;
    for (let i = 0; i < 320; i++) if ((await t.request({ method: 'GET', url: '/u/garbage', scope: 'none', headers: { 'x-forwarded-for': '198.51.100.99' } })).status === 429) limited++;
    expect(limited).toBeGreaterThan(0);
    expect((await t.request({ method: 'GET', url: '/u/garbage', scope: 'none', headers: { 'x-forwarded-for': '198.51.100.100' } })).status).toBe(404);
  });
});

describe('request logs', () => {
  it('never carry link tokens or query strings', async () => {
    const { loggableUrl } = await import('../../src/http/server.ts');
    expect(loggableUrl('/u/42.newsletter.m0abcdef12345678.AAAAAAAAAAAAAAAAAAAAAA')).toBe('/u/…');
    expect(loggableUrl('/c/1/m0abc/aHR0cHM6/sig')).toBe('/c/…');
    expect(loggableUrl('/api/v1/suppressions?email=someone@example.com')).toBe('/api/v1/suppressions');
    expect(loggableUrl('/api/v1/contacts/7')).toBe('/api/v1/contacts/7');
  });
});
