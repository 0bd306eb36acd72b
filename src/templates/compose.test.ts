import { describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createKeyring } from '../lib/secrets.ts';
import { compileVariant } from './compile.ts';
import { buildMime, composeMessage, type PreparedVariant, type StoreProfile, type TemplateSettings } from './compose.ts';
import { htmlToText } from './html-text.ts';
import { createLiquid } from './liquid.ts';
import { TrackingUrls } from './tracking-urls.ts';

const store: StoreProfile = {
  name: 'Kaveh Shop',
  url: 'https://shop.example',
  address: 'Kaveh Shop, 12 Vali-e Asr St\nTehran 1234567890, Iran',
  logoUrl: null,
  supportEmail: 'help@shop.example',
  defaultLocale: 'en',
  defaultCurrency: 'USD',
  defaultTimezone: 'UTC',
  sendingDomain: 'shop.example',
  bounceDomain: 'bounce.shop.example',
  feedbackSenderId: 'kaveh',
};
const mjml = `<mjml><mj-body><mj-section><mj-column>
<mj-text>Hi {{ contact.first_name | default: 'there' }}, your cart holds {{ cart.item_count }} {{ cart.item_count | pluralize: 'item', 'items' }} worth {{ cart.value | money }}.</mj-text>
<mj-button href="{{ cart.recovery_url }}">Finish your order</mj-button>
<mj-text><a href="https://shop.example/sale?utm_source=mine">Sale</a> · <a href="mailto:help@shop.example">Help</a></mj-text>
<mj-text>{{ store.address | newline_to_br }}<br/><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>`;

async function prepare(dir: 'ltr' | 'rtl' = 'ltr', lang = 'en') {
  const liquid = createLiquid();
  const compiled = await compileVariant({ subject: '', preheader: '', bodyType: 'mjml', body: mjml, textBody: null }, dir, lang);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  const variant: PreparedVariant = {
    locale: lang,
    fromName: 'Kaveh Shop',
    fromEmail: 'news@shop.example',
    replyTo: 'help@shop.example',
    subject: liquid.parse('{{ contact.first_name | default: "Friend" }}, your cart is waiting — سبد خرید'),
    preheader: liquid.parse('Still thinking it over?'),
    html: liquid.parse(compiled.value.html),
    text: null,
  };
  return { liquid, variant, urls: new TrackingUrls('https://mail.shop.example', createKeyring(Buffer.alloc(32, 3))) };
}

const settings: TemplateSettings = { key: 'abandoned-cart-1', kind: 'marketing', topicKey: 'newsletter', trackOpens: true, trackClicks: true, utm: { source: 'chapar', medium: 'email', campaign: 'cart' } };

describe('composeMessage', () => {
  it('builds a standards-correct marketing message that mailparser reads back', async () => {
    const { liquid, variant, urls } = await prepare();
    const m = await composeMessage({ liquid, urls }, store, {
      template: settings,
      variant,
      recipient: { contactId: 42, email: 'sara@example.com', contact: { first_name: 'Sara <b>' }, format: { locale: 'en', currency: 'USD', timezone: 'UTC' } },
      context: { cart: { item_count: 2, value: 59.5, recovery_url: 'https://shop.example/cart/recover?token=a&b=1' } },
      messageRef: 'm0abcdef12345678',
      streamId: 'flow-7',
    });
    const mime = await buildMime(m, Date.parse('2026-11-27T10:00:00Z'));
    const parsed = await simpleParser(mime);
    expect(parsed.subject).toBe('Sara <b>, your cart is waiting — سبد خرید');
    expect(parsed.messageId).toBe('<m0abcdef12345678@shop.example>');
    expect(mime.toString()).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const lu = mime.toString().match(/^List-Unsubscribe: (.*)$/m)![1]!;
    expect(lu).toMatch(/^<https:\/\/mail\.shop\.example\/u\/42\.newsletter\.m0abcdef12345678\.[A-Za-z0-9_-]{22}>, <mailto:unsubscribe\+42\.newsletter\.m0abcdef12345678\.[A-Za-z0-9_-]{22}@bounce\.shop\.example>$/);
    expect(mime.toString()).toMatch(/^Feedback-ID: flow-7:abandoned-cart-1:marketing:kaveh$/m);
    expect(m.envelope.from).toMatch(/^bounces\+m0abcdef12345678-[0-9a-f]{10}@bounce\.shop\.example$/);
    expect(urls.readVerp(m.envelope.from)).toBe('m0abcdef12345678');
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });

    const html = parsed.html as string;
    // Contact data is escaped in HTML; the store address keeps its line breaks.
    expect(html).toContain('Hi Sara &lt;b&gt;');
    expect(html).toContain('12 Vali-e Asr St<br />');
    expect(html).toContain('Still thinking it over?');
    expect(html).not.toMatch(/<link[^>]+stylesheet/i);
    // Every http link is a signed click link carrying UTM; the existing utm_ link keeps its own.
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((x) => x[1]!.replace(/&amp;/g, '&'));
    const clicks = hrefs.filter((h) => h.includes('/c/'));
    expect(clicks).toHaveLength(2);
    const dests = clicks.map((h) => {
      const [, contact, ref, u, sig] = /\/c\/(\d+)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(h)!;
      expect(contact).toBe('42');
      return urls.verifyClick(contact!, ref!, u!, sig!);
    });
    expect(dests).toEqual(['https://shop.example/cart/recover?token=a&b=1&utm_source=chapar&utm_medium=email&utm_campaign=cart', 'https://shop.example/sale?utm_source=mine']);
    expect(hrefs).toContain('mailto:help@shop.example');
    expect(hrefs.some((h) => h.startsWith('https://mail.shop.example/u/42.newsletter.'))).toBe(true);
    expect(html).toMatch(/<img src="https:\/\/mail\.shop\.example\/o\/42\/m0abcdef12345678\/[A-Za-z0-9_-]{22}\.gif"/);

    const text = parsed.text as string;
    expect(text).toContain('Hi Sara <b>, your cart holds 2 items worth $59.50.');
    expect(text).toContain('Finish your order [https://mail.shop.example/c/42/m0abcdef12345678/');
    expect(text).not.toContain('{{');
    // Built while Liquid wrote the HTML, the text part is what htmlToText makes of the finished HTML.
    expect(m.text).toBe(htmlToText(m.html));
  });

  it('refuses a value that would inject a header', async () => {
    const { liquid, variant, urls } = await prepare();
    const evil = { ...variant, subject: liquid.parse('Hello {{ contact.first_name }}') };
    await expect(
      composeMessage({ liquid, urls }, store, {
        template: settings,
        variant: evil,
        recipient: { contactId: 1, email: 'x@example.com', contact: { first_name: 'x\r\nBcc: victim@example.com' }, format: { locale: 'en', currency: 'USD', timezone: 'UTC' } },
        context: {},
        messageRef: 'm0abcdef12345679',
        streamId: 's',
      }),
    ).rejects.toThrow(/line break/);
  });

  it('escapes a value once in the HTML, also where the template asks for | escape out of habit', async () => {
    const { liquid, variant, urls } = await prepare();
    const html = liquid.parse('<p>{{ contact.first_name }}|{{ contact.first_name | escape }}|{{ contact.first_name | escape_once }}|{{ "R&D <x>" | escape }}|{{ "a &amp; b" | escape }}</p>');
    const m = await composeMessage({ liquid, urls }, store, {
      template: settings,
      variant: { ...variant, html },
      recipient: { contactId: 9, email: 'tom@example.com', contact: { first_name: `Tom & "Jerry's" <b>` }, format: { locale: 'en', currency: 'USD', timezone: 'UTC' } },
      context: {},
      messageRef: 'm0abcdef12345671',
      streamId: 's',
    });
    const once = 'Tom &amp; &quot;Jerry&#39;s&quot; &lt;b&gt;';
    expect(m.html).toBe(`<p>${once}|${once}|${once}|R&amp;D &lt;x&gt;|a &amp; b</p>`);
    expect(m.text).toBe(`Tom & "Jerry's" <b>|Tom & "Jerry's" <b>|Tom & "Jerry's" <b>|R&D <x>|a & b`);
    // In a plain-text render (the subject), escape is what it says.
    const subject = await composeMessage({ liquid, urls }, store, {
      template: settings,
      variant: { ...variant, subject: liquid.parse('{{ contact.first_name | escape }}') },
      recipient: { contactId: 9, email: 'tom@example.com', contact: { first_name: 'Tom & Jerry' }, format: { locale: 'en', currency: 'USD', timezone: 'UTC' } },
      context: {},
      messageRef: 'm0abcdef12345672',
      streamId: 's',
    });
    expect(subject.subject).toBe('Tom &amp; Jerry');
  });

  it('omits unsubscribe headers, pixel and click tracking when the template says so', async () => {
    const { liquid, variant, urls } = await prepare('rtl', 'fa');
    const m = await composeMessage({ liquid, urls }, store, {
      template: { ...settings, kind: 'transactional', topicKey: null, trackOpens: false, trackClicks: false, utm: null },
      variant,
      recipient: { contactId: 5, email: 'ali@example.ir', contact: { first_name: 'علی' }, format: { locale: 'fa', currency: 'IRT', timezone: 'Asia/Tehran' } },
      context: { cart: { item_count: 1, value: 125000, recovery_url: 'https://shop.example/r' } },
      messageRef: 'm0abcdef12345670',
      streamId: 'tx',
    });
    expect(m.headers.map(([k]) => k)).toEqual(['Feedback-ID']);
    expect(m.html).not.toContain('/o/');
    expect(m.html).toContain('href="https://shop.example/r"');
    expect(m.html).toMatch(/<html[^>]* lang="fa" dir="rtl">/);
    expect(m.text).toContain('۱۲۵٬۰۰۰ تومان');
  });
});
