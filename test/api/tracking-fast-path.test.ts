import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// Clicks and pixels over a real socket are answered by the fast path in front of Fastify
// (src/http/public/tracking-fast-path.ts); app.inject goes straight to Fastify's routes. Both must
// answer alike, share the per-IP limit, read X-Forwarded-For only from a trusted proxy, and leave
// what is not exactly a click or pixel to Fastify. SQLite only: the database is not what differs.
describe('click and pixel fast path over HTTP', () => {
  let t: TestApp;
  let base: string;
  const REF = 'm0fastpath0001';
  let CONTACT: number;
  let click: string;
  let pixel: string;

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(base + path, { method, redirect: 'manual', headers });
  const hits = async (type: string) => (await t.app.tracking.flush(), t.db.k.selectFrom('events').select(['ip', 'userAgent', 'properties']).where('type', '=', type).where('messageRef', '=', REF).execute());

  beforeAll(async () => {
    t = await createTestApp('sqlite', { CHAPAR_PUBLIC_URL: 'https://mail.shop.example' });
    CONTACT = (await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'sima@example.com' } })).json.id;
    const urls = t.app.ctx.composer.urls;
    click = new URL(urls.click(REF, CONTACT, 'https://shop.example/new?utm_source=chapar')).pathname;
    pixel = new URL(urls.openPixel(REF, CONTACT)).pathname;
    base = await t.http.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => t?.close());

  it('redirects a genuine click and records it, with the same answer Fastify gives', async () => {
    const r = await get(click, { 'user-agent': 'Mozilla/5.0 fast' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('https://shop.example/new?utm_source=chapar');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await r.text()).toBe('');
    const viaFastify = await t.request({ method: 'GET', url: click, scope: 'none', headers: { 'user-agent': 'Mozilla/5.0 fastify' } });
    expect(viaFastify.status).toBe(302);
    expect(viaFastify.headers.location).toBe(r.headers.get('location'));
    const clicks = await hits('email_clicked');
    expect(clicks.map((c) => c.userAgent).sort()).toEqual(['Mozilla/5.0 fast', 'Mozilla/5.0 fastify']);
  });

  it('serves the pixel, genuine or not, and records only the genuine one', async () => {
    const before = (await hits('email_opened')).length;
    const r = await get(pixel);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await r.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');
    const forged = await get(pixel.replace(/\/[^/]+\.gif$/, '/AAAAAAAAAAAAAAAAAAAAAA.gif'));
    expect(forged.status).toBe(200);
    expect(await hits('email_opened')).toHaveLength(before + 1);
  });

  it('answers a forged or re-targeted click with the invalid-link page, never a redirect', async () => {
    const evil = Buffer.from('https://evil.example/').toString('base64url');
    const parts = click.split('/');
    for (const p of [[...parts.slice(0, 4), evil, parts[5]].join('/'), click.replace(/\/[^/]+$/, '/AAAAAAAAAAAAAAAAAAAAAA')]) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await r.text()).toContain('not valid');
    }
  });

  it('answers HEAD like GET without recording a click or an open (a link checker, not a reader)', async () => {
    const [clicks, opens] = [(await hits('email_clicked')).length, (await hits('email_opened')).length];
    const head = await get(click, { 'user-agent': 'LinkChecker/1.0' }, 'HEAD');
    expect(head.status).toBe(302);
    expect(head.headers.get('location')).toBe('https://shop.example/new?utm_source=chapar');
    expect((await get(pixel, {}, 'HEAD')).status).toBe(200);
    expect((await hits('email_clicked')).length).toBe(clicks);
    expect((await hits('email_opened')).length).toBe(opens);
    expect((await get(click.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), {}, 'HEAD')).status).toBe(404);
  });

  it('leaves other shapes to Fastify: HEAD, percent-escapes, missing or extra segments, query strings ignored', async () => {
    expect((await get(click, {}, 'HEAD')).status).toBe(302);
    // An escaped character decodes to the same link: Fastify decodes it and redirects.
    expect((await get(click.replace('/c/', '/%63/'))).status).toBe(302);
    const escaped = click.replace(/\/([^/]+)$/, (_m, sig: string) => `/${encodeURIComponent(sig).replace(/^(.)/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`);
    expect((await get(escaped)).status).toBe(302);
    expect((await get(`${click}/extra`)).status).toBe(404);
    expect((await get(click.split('/').slice(0, 5).join('/'))).status).toBe(404);
    expect((await get(`${click}?from=newsletter`)).status).toBe(302);
    expect((await get('/c//x/y/z')).status).toBe(404);
  });

  it('percent-encodes a non-ASCII destination for the Location header', async () => {
    const target = 'https://shop.example/محصول/کفش?رنگ=قرمز';
    const p = new URL(t.app.ctx.composer.urls.click(REF, CONTACT, target)).pathname;
    const r = await get(p);
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(new URL(target).href);
    expect(decodeURI(r.headers.get('location')!)).toBe(target);
  });

  it('believes X-Forwarded-For only from a trusted proxy (loopback by default), as Fastify does', async () => {
    const r = await get(click, { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'xff' });
    expect(r.status).toBe(302);
    const viaFastify = await t.request({ method: 'GET', url: click, scope: 'none', headers: { 'x-forwarded-for': '203.0.113.8', 'user-agent': 'xff-inject' } });
    expect(viaFastify.status).toBe(302);
    const ips = Object.fromEntries((await hits('email_clicked')).map((c) => [c.userAgent, c.ip]));
    expect(ips.xff).toBe('203.0.113.7');
    expect(ips['xff-inject']).toBe('203.0.113.8');
  });

  it('shares the per-IP limit of 300 a minute with the Fastify routes', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.42' };
    // Half through Fastify (an unsubscribe page), the rest through the fast path.
    for (let i = 0; i < 150; i++) expect((await t.request({ method: 'GET', url: '/u/garbage', scope: 'none', headers: ip })).status).toBe(404);
    let limited = 0;
    for (let i = 0; i < 160; i++) if ((await get(pixel, ip)).status === 429) limited++;
    expect(limited).toBe(10);
    const r = await get(click, ip);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('60');
    expect((await get(click, { 'x-forwarded-for': '198.51.100.43' })).status).toBe(302);
    t.clock.advance(60_000);
    expect((await get(click, ip)).status).toBe(302);
  });
});

describe('click fast path without a trusted proxy', () => {
  it('records the socket address and ignores X-Forwarded-For', async () => {
    const t = await createTestApp('sqlite', { CHAPAR_PUBLIC_URL: 'https://mail.shop.example', CHAPAR_TRUST_PROXY: 'none' });
    try {
      const contact = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'sima@example.com' } });
      const ref = 'm0fastpath0002';
      const base = await t.http.listen({ port: 0, host: '127.0.0.1' });
      const r = await fetch(base + new URL(t.app.ctx.composer.urls.click(ref, contact.json.id, 'https://shop.example/')).pathname, { redirect: 'manual', headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(r.status).toBe(302);
      await t.app.tracking.flush();
      const rows = await t.db.k.selectFrom('events').select('ip').where('messageRef', '=', ref).execute();
      expect(rows.map((x) => x.ip)).toEqual(['127.0.0.1']);
    } finally {
      await t.close();
    }
  });
});
