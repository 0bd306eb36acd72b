// Every starter template, in every locale, compiled and rendered the way a real send does it:
// MJML once (strict), then Liquid with a realistic English or Persian contact, then a text part
// and a MIME message that SpamAssassin scores. The scores must stay below 2.0 (issue 3).
import { convert } from 'html-to-text';
import mjml2html from 'mjml';
import { beforeAll, describe, expect, it } from 'vitest';
import { missingMarketingFooter } from '../../src/domain/templates.ts';
import { createLiquid, renderParsed, type ReaderFormat } from '../../src/templates/liquid.ts';
import { STARTER_LOCALES, STARTER_TEMPLATES, loadStarterBody, type StarterLocale, type StarterTemplate } from '../../src/templates/starters/catalog.ts';


const FORMATS: Record<StarterLocale, ReaderFormat> = {
  en: { locale: 'en', currency: 'USD', timezone: 'America/New_York' },
  fa: { locale: 'fa', currency: 'IRT', timezone: 'Asia/Tehran' },
};

const LINKS = {
  unsubscribe_url: 'https://shop.example/u/tok',
  preferences_url: 'https://shop.example/p/tok',
  view_in_browser_url: 'https://shop.example/v/tok',
};

const img = (name: string) => `https://shop.example/media/products/${name}.jpg`;
const url = (name: string) => `https://shop.example/products/${name}`;

/** What a flow or campaign hands the templates, for a customer of an American and of an Iranian store. */
const SAMPLES: Record<StarterLocale, Record<string, unknown>> = {
  en: {
    contact: { email: 'sara.miller@example.com', first_name: 'Sara', last_name: 'Miller', locale: 'en', currency: 'USD', attributes: {} },
    store: {
      name: 'Juniper Goods',
      url: 'https://shop.example',
      logo_url: 'https://shop.example/media/logo.png',
      address: 'Juniper Goods LLC\n1200 Market Street, Suite 400\nSan Francisco, CA 94102\nUnited States',
      support_email: 'help@shop.example',
    },
    order: {
      number: '1042',
      total: 128.5,
      subtotal: 135,
      discount: 13.5,
      currency: 'USD',
      created_at: '2026-11-20T14:05:00Z',
      status_url: 'https://shop.example/account/orders/1042',
      categories: ['Shoes', 'Accessories'],
      items: [
        { name: 'Trail Runner Sneakers', quantity: 1, price: 89, image_url: img('trail-runner'), url: url('trail-runner') },
        { name: 'Merino Wool Socks', quantity: 2, price: 23, image_url: img('merino-socks'), url: url('merino-socks') },
      ],
      shipping: { carrier: 'UPS', tracking_number: '1Z999AA10123456784', tracking_url: 'https://www.ups.com/track?tracknum=1Z999AA10123456784' },
    },
    cart: {
      value: 112,
      currency: 'USD',
      item_count: 2,
      recovery_url: 'https://shop.example/cart/recover/7f3a9c',
      items: [
        { name: 'Linen Throw Blanket', quantity: 1, price: 79, image_url: img('linen-throw'), url: url('linen-throw') },
        { name: 'Ceramic Mug Set', quantity: 1, price: 33, image_url: img('mug-set'), url: url('mug-set') },
      ],
    },
    product: { name: 'Stoneware Pour-Over Set', url: url('pour-over'), image_url: img('pour-over'), price: 64 },
    last_purchased_product: { name: 'Linen Throw Blanket', url: url('linen-throw'), image_url: img('linen-throw') },
    coupon: { code: 'WELCOME-7KQ2', expires_at: '2026-12-15T23:59:00Z' },
    ...LINKS,
  },
  fa: {
    contact: { email: 'maryam.ahmadi@example.com', first_name: 'مریم', last_name: 'احمدی', locale: 'fa', currency: 'IRT', attributes: {} },
    store: {
      name: 'فروشگاه سرو',
      url: 'https://shop.example',
      logo_url: null,
      address: 'فروشگاه سرو\nتهران، خیابان ولیعصر، بالاتر از پارک ساعی، پلاک ۲۴۱۸\nکد پستی ۱۵۱۱۷۳۳۱۱۱',
      support_email: 'help@shop.example',
    },
    order: {
      number: '1042',
      total: 3_520_000,
      subtotal: 3_450_000,
      discount: 180_000,
      currency: 'IRT',
      created_at: '2026-11-20T14:05:00Z',
      status_url: 'https://shop.example/account/orders/1042',
      categories: ['کفش', 'جوراب'],
      items: [
        { name: 'کفش پیاده‌روی سبک', quantity: 1, price: 2_900_000, image_url: img('walking-shoe'), url: url('walking-shoe') },
        { name: 'جوراب پشمی', quantity: 2, price: 275_000, image_url: img('wool-socks'), url: url('wool-socks') },
      ],
      shipping: { carrier: 'پست پیشتاز', tracking_number: '112233445566778899001122', tracking_url: 'https://tracking.post.ir/?id=112233445566778899001122' },
    },
    cart: {
      value: 4_350_000,
      currency: 'IRT',
      item_count: 2,
      recovery_url: 'https://shop.example/cart/recover/7f3a9c',
      items: [
        { name: 'پتوی کتان', quantity: 1, price: 3_100_000, image_url: img('linen-throw'), url: url('linen-throw') },
        { name: 'ست ماگ سرامیکی', quantity: 1, price: 1_250_000, image_url: img('mug-set'), url: url('mug-set') },
      ],
    },
    product: { name: 'ست دم‌آوری قهوه', url: url('pour-over'), image_url: img('pour-over'), price: 2_450_000 },
    last_purchased_product: { name: 'پتوی کتان', url: url('linen-throw'), image_url: img('linen-throw') },
    coupon: { code: 'SARV-7KQ2', expires_at: '2026-12-15T23:59:00Z' },
    ...LINKS,
  },
};

/** The text part as the composer makes it: links kept as "label [url]", images left out. */
function toText(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true, ignoreHref: false } },
      { selector: 'table', format: 'block' },
      { selector: 'tr', format: 'block' },
      { selector: 'td', format: 'block' },
    ],
  })
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

interface Rendered {
  template: StarterTemplate;
  locale: StarterLocale;
  source: string;
  compiled: string;
  errors: unknown[];
  subject: string;
  preheader: string;
  html: string;
  text: string;
}

const liquid = createLiquid();
const cases = STARTER_TEMPLATES.flatMap((template) => STARTER_LOCALES.map((locale) => ({ template, locale, id: `${template.key}.${locale}` })));
const rendered = new Map<string, Rendered>();

async function renderCase(template: StarterTemplate, locale: StarterLocale, data: Record<string, unknown>): Promise<Rendered> {
  const source = loadStarterBody(template.key, locale);
  const { html: compiled, errors } = await mjml2html(source, { validationLevel: 'strict' });
  const format = FORMATS[locale];
  const render = (src: string) => renderParsed(liquid, liquid.parse(src), data, format);
  const html = await render(compiled);
  return {
    template,
    locale,
    source,
    compiled,
    errors,
    subject: (await render(template.locales[locale].subject)).trim(),
    preheader: (await render(template.locales[locale].preheader)).trim(),
    html,
    text: toText(html),
  };
}

beforeAll(async () => {
  for (const c of cases) rendered.set(c.id, await renderCase(c.template, c.locale, SAMPLES[c.locale]));
});

const get = (id: string): Rendered => {
  const r = rendered.get(id);
  if (!r) throw new Error(`${id} was not rendered`);
  return r;
};

/** The Liquid tags and outputs of a source, as written. */
const liquidTags = (src: string) => new Set(src.match(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g) ?? []);

describe('starter catalog', () => {
  it('lists the eleven starters the issue asks for (and the double opt-in confirmation), each with a topic exactly when it is marketing', () => {
    expect(STARTER_TEMPLATES.map((t) => t.key)).toEqual([
      'welcome-1', 'welcome-2', 'welcome-3', 'abandoned-cart-1', 'abandoned-cart-2', 'abandoned-cart-3',
      'order-confirmation', 'shipping-notice', 'signup-confirmation', 'feedback-request', 'win-back', 'newsletter',
    ]);
    for (const t of STARTER_TEMPLATES) expect(t.topic === null).toBe(t.kind === 'transactional');
  });

  it('refuses an unknown key instead of reading some other file', () => {
    expect(() => loadStarterBody('../catalog', 'en')).toThrow(/no starter template/);
    expect(() => loadStarterBody('welcome-1', 'de' as StarterLocale)).toThrow(/no starter template/);
  });

  it('passes the footer rule every saved marketing template must (address and unsubscribe link)', () => {
    for (const { template, locale } of cases.filter((c) => c.template.kind === 'marketing')) {
      const variant = { ...template.locales[locale], fromName: 'Shop', fromEmail: 'shop@shop.example', replyTo: null, bodyType: 'mjml' as const, body: loadStarterBody(template.key, locale), textBody: null };
      expect(missingMarketingFooter(variant, '')).toEqual([]);
    }
  });

  it('gives the discount code to the emails that promise one', () => {
    for (const key of ['welcome-1', 'abandoned-cart-3']) {
      for (const locale of STARTER_LOCALES) expect(get(`${key}.${locale}`).html).toContain(String((SAMPLES[locale].coupon as { code: string }).code));
    }
  });
});

describe.each(cases)('starter $id', ({ template, locale, id }) => {
  const sample = SAMPLES[locale];
  const contact = sample.contact as { first_name: string };
  const store = sample.store as { address: string; support_email: string };
  const order = sample.order as { number: string };

  it('compiles as strict MJML with its Liquid intact', () => {
    const r = get(id);
    expect(r.errors).toEqual([]);
    const kept = liquidTags(r.compiled);
    const lost = [...liquidTags(r.source)].filter((tag) => !kept.has(tag));
    expect(lost).toEqual([]);
    expect(r.source).not.toMatch(/<mj-preview|<mj-font|<script/i);
  });

  it('renders every Liquid tag, with nothing left over', () => {
    const r = get(id);
    for (const part of [r.html, r.text, r.subject, r.preheader]) {
      expect(part).not.toMatch(/\{\{|\}\}|\{%|%\}/);
      expect(part).not.toMatch(/undefined|NaN|\[object /);
    }
    expect(r.subject.length).toBeGreaterThan(5);
    expect(r.subject.length).toBeLessThanOrEqual(70);
    expect(r.subject).not.toMatch(/!|[A-Z]{4,}/);
    expect(r.preheader.length).toBeGreaterThan(20);
  });

  it('has no external CSS or script, a 600px layout, 16px text and sized, described images', () => {
    const r = get(id);
    expect(r.html).not.toMatch(/<link\b[^>]*stylesheet|@import|<script/i);
    expect(r.html).toContain('max-width:600px');
    expect(r.html).toMatch(/font-size:16px/);
    for (const tag of r.html.match(/<img\b[^>]*>/g) ?? []) {
      expect(tag).toMatch(/\salt="[^"]+"/);
      expect(tag).toMatch(/\swidth="\d+"/);
    }
    expect(r.html.match(/<a\b[^>]*>\s*[^<]*\s*<\/a>/g)?.length).toBeGreaterThan(0);
    // One button: MJML renders each mj-button as a table cell with the button's background colour.
    expect(r.html.match(/role="presentation" style="border:none;border-radius:6px;cursor:auto;/g)).toHaveLength(1);
  });

  it(`is laid out ${locale === 'fa' ? 'right to left' : 'left to right'}`, () => {
    const r = get(id);
    const dir = locale === 'fa' ? 'rtl' : 'ltr';
    expect(r.html).toMatch(new RegExp(`<html[^>]*\\sdir="${dir}"`));
    expect(r.html).toMatch(new RegExp(`<div[^>]*\\slang="${locale}" dir="${dir}"`));
    if (locale === 'fa') {
      expect(r.html).not.toMatch(/line-height:28px;text-align:left/);
      expect(r.html).not.toMatch(/<td[^>]*style="[^"]*direction:ltr/);
    }
  });

  it(template.kind === 'marketing' ? 'shows the postal address, preferences and unsubscribe links' : 'shows the postal address and support contact, and no unsubscribe link', () => {
    const r = get(id);
    for (const line of store.address.split('\n')) {
      expect(r.html).toContain(line);
      expect(r.text).toContain(line);
    }
    if (template.kind === 'marketing') {
      expect(r.html).toContain(`href="${LINKS.unsubscribe_url}"`);
      expect(r.html).toContain(`href="${LINKS.preferences_url}"`);
      expect(r.text).toContain(LINKS.unsubscribe_url);
    } else {
      expect(r.html).not.toContain(LINKS.unsubscribe_url);
      expect(r.html).toContain(store.support_email);
    }
  });

  it('has a readable text part', () => {
    const r = get(id);
    expect(r.text).toContain(contact.first_name);
    if (/order|shipping|feedback/.test(template.key)) expect(r.text).toContain(order.number);
    expect(r.text.split('\n').every((line) => line.length < 600)).toBe(true);
    if (locale === 'fa') {
      // Amounts, counts and dates are in Persian digits; only identifiers and links keep Latin ones.
      const identifiers = [order.number, '112233445566778899001122', 'SARV-7KQ2'];
      let prose = r.text.replace(/\[[^\]]*\]|https?:\/\/\S+|\S+@\S+/g, '');
      for (const id of identifiers) prose = prose.split(id).join('');
      expect(prose).not.toMatch(/[0-9]/);
    }
  });
});

describe('starters with sparse data', () => {
  it('render with defaults when the name, logo, product, coupon expiry and support address are missing', async () => {
    for (const { template, locale } of cases) {
      const full = SAMPLES[locale];
      const data = {
        ...full,
        contact: { email: 'x@example.com' },
        store: { ...(full.store as object), logo_url: null, support_email: null },
        product: undefined,
        last_purchased_product: undefined,
        coupon: { code: 'CODE-1' },
        order: { ...(full.order as object), categories: [], discount: 0, shipping: {} },
      };
      const r = await renderCase(template, locale, data);
      expect(r.html).not.toMatch(/\{\{|\{%|undefined|NaN/);
      expect(r.text).toContain(locale === 'fa' ? 'دوست عزیز' : 'Hi there');
      expect(r.html).not.toMatch(/<img[^>]*src=""/);
      expect(r.subject).not.toMatch(/^[\s،,]|[,،]\s*[?؟]|\s{2}/);
    }
  });
});

describe('content by product category', () => {
  const tips = { en: 'Tip for your new shoes', fa: 'نکته‌ای برای کفش تازه‌تان' };
  it('adds the shoe tip to an order confirmation only when the order has shoes', async () => {
    for (const locale of STARTER_LOCALES) {
      const template = STARTER_TEMPLATES.find((t) => t.key === 'order-confirmation')!;
      expect(get(`order-confirmation.${locale}`).html).toContain(tips[locale]);
      const other = { ...SAMPLES[locale], order: { ...(SAMPLES[locale].order as object), categories: ['Kitchen'] } };
      expect((await renderCase(template, locale, other)).html).not.toContain(tips[locale]);
    }
  });

  it('matches category names in any case and in Persian', async () => {
    const template = STARTER_TEMPLATES.find((t) => t.key === 'feedback-request')!;
    for (const categories of [['Running SHOES'], ['کفش ورزشی']]) {
      const data = { ...SAMPLES.en, order: { ...(SAMPLES.en.order as object), categories } };
      expect((await renderCase(template, 'en', data)).text).toContain('Bought shoes?');
    }
  });
});

// SpamAssassin and MIME checks run on the real send path: test/templates/starter-messages.test.ts.
