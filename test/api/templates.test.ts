import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

const body = (extra = '') => `<mjml><mj-body><mj-section><mj-column>
<mj-text>Hello {{ contact.first_name | default: 'friend' }}, your total is {{ order.total | money }}.</mj-text>
<mj-button href="{{ order.status_url }}">See your order</mj-button>
${extra}
</mj-column></mj-section></mj-body></mjml>`;
const footer = `<mj-text>{{ store.address | newline_to_br }}<br/><a href="{{ unsubscribe_url }}">Unsubscribe</a> · <a href="{{ preferences_url }}">Preferences</a></mj-text>`;
const variant = (b: string, extra: Record<string, unknown> = {}) => ({ subject: 'Hi {{ contact.first_name }}', preheader: 'A short preview', fromName: 'Kaveh Shop', fromEmail: 'news@shop.example', body: b, ...extra });

describe.each(DIALECTS)('templates API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'Newsletter' } });
  });
  afterAll(async () => t?.close());

  it('refuses a marketing template until the store has a postal address, and without the footer', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/templates', body: { key: 'promo', name: 'Promo', kind: 'marketing', topic: 'newsletter', defaultLocale: 'en', variants: { en: variant(body()) } } });
    expect(r.status).toBe(400);
    const fields = r.json.error.details.map((d: { field: string; message: string }) => `${d.field}: ${d.message}`);
    expect(fields).toEqual(
      expect.arrayContaining([expect.stringContaining('variants/en/body: a marketing email needs a visible unsubscribe link'), expect.stringContaining("variants/en/body: a marketing email must show the store's postal address"), expect.stringContaining('store.address: the store has no postal address')]),
    );
    const s = await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { name: 'Kaveh Shop', address: 'Kaveh Shop, 12 Vali-e Asr St\nTehran, Iran', sendingDomain: 'shop.example', bounceDomain: 'bounce.shop.example', url: 'https://shop.example' } });
    expect(s.status).toBe(200);
    const ok = await t.request({ method: 'POST', url: '/api/v1/templates', body: { key: 'promo', name: 'Promo', kind: 'marketing', topic: 'newsletter', defaultLocale: 'en', variants: { en: variant(body(footer)) } } });
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({ key: 'promo', kind: 'marketing', topic: 'newsletter', version: 1, variants: { en: { subject: 'Hi {{ contact.first_name }}', bodyType: 'mjml' } } });
  });

  it('reports Liquid and MJML errors with line and column', async () => {
    const r = await t.request({
      method: 'POST',
      url: '/api/v1/templates',
      body: { key: 'broken', name: 'Broken', kind: 'transactional', defaultLocale: 'en', variants: { en: variant(body('<mj-text>{{ order.total | nosuchfilter }}</mj-text>'), { subject: 'Hi {{ contact.first_name ' }), fa: variant(body('<mj-bogus></mj-bogus>')) } },
    });
    expect(r.status).toBe(400);
    const d = r.json.error.details as { field: string; message: string; line?: number; column?: number }[];
    expect(d).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'variants/en/subject', line: 1 }),
        expect.objectContaining({ field: 'variants/en/body', line: 4, message: expect.stringContaining('nosuchfilter') }),
        expect.objectContaining({ field: 'variants/fa/body', line: expect.any(Number), message: expect.stringContaining('mj-bogus') }),
      ]),
    );
    expect((await t.request({ method: 'GET', url: '/api/v1/templates/broken' })).status).toBe(404);
  });

  it('previews with sample data and with a real contact, picking the variant by locale', async () => {
    await t.request({
      method: 'PUT',
      url: '/api/v1/templates/promo',
      body: { key: 'promo', name: 'Promo', kind: 'marketing', topic: 'newsletter', defaultLocale: 'en', variants: { en: variant(body(footer)), fa: variant(body(footer), { subject: 'سلام {{ contact.first_name }}' }) } },
    });
    const sample = await t.request({ method: 'POST', url: '/api/v1/templates/promo/preview', body: {} });
    expect(sample.status).toBe(200);
    expect(sample.json).toMatchObject({ locale: 'en', subject: 'Hi Jane' });
    expect(sample.json.html).toContain('Hello Jane');
    const c = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'reza@example.ir', firstName: 'رضا', locale: 'fa-IR', currency: 'IRT', timezone: 'Asia/Tehran' } });
    const real = await t.request({ method: 'POST', url: '/api/v1/templates/promo/preview', body: { contactId: c.json.id, context: { order: { total: 250000, status_url: 'https://shop.example/o/1' } } } });
    expect(real.json).toMatchObject({ locale: 'fa', subject: 'سلام رضا', to: 'reza@example.ir' });
    expect(real.json.html).toContain('۲۵۰٬۰۰۰ تومان');
    expect(real.json.html).toMatch(/<html[^>]*dir="rtl"/);
    const page = await t.request({ method: 'GET', url: `/api/v1/templates/promo/preview.html?contactId=${c.json.id}` });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('width="600"');
    expect(page.body).toContain('width="375"');
  });

  it('a template that loops forever or overflows at render time fails with an error, not a hang', async () => {
    const loop = '<mjml><mj-body><mj-section><mj-column><mj-text>{% for i in (1..50000000) %}{{ i }}{% endfor %}</mj-text></mj-column></mj-section></mj-body></mjml>';
    const saved = await t.request({ method: 'POST', url: '/api/v1/templates', body: { key: 'loop', name: 'Loop', kind: 'transactional', defaultLocale: 'en', variants: { en: variant(loop) } } });
    expect(saved.status).toBe(201);
    const r = await t.request({ method: 'POST', url: '/api/v1/templates/loop/preview', body: {} });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/could not be rendered.*limit/i);
  });

  it('test-sends one copy through the capture transport', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/templates/promo/test-send', body: { to: 'qa@shop.example' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ transport: 'capture', result: { status: 'sent' } });
    const list = await t.request({ method: 'GET', url: '/api/v1/captured-messages?to=qa@shop.example' });
    expect(list.json.items).toHaveLength(1);
    const raw = await t.request({ method: 'GET', url: `/api/v1/captured-messages/${list.json.items[0].id}` });
    const parsed = await simpleParser(raw.body);
    expect(parsed.subject).toBe('[Test] Hi Jane');
    expect(parsed.to).toMatchObject({ text: 'qa@shop.example' });
    expect(raw.body).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    const bad = await t.request({ method: 'POST', url: '/api/v1/templates/promo/test-send', body: { to: 'not an address' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].field).toBe('to');
  });
});
