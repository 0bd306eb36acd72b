import { convert } from 'html-to-text';
import { describe, expect, it } from 'vitest';
import { sampleContext } from '../services/template-samples.ts';
import { compileVariant } from './compile.ts';
import { htmlToText } from './html-text.ts';
import { createLiquid, renderParsed } from './liquid.ts';
import { loadStarterBody, STARTER_LOCALES, STARTER_TEMPLATES } from './starters/catalog.ts';

describe('htmlToText', () => {
  it('turns blocks into lines and paragraphs, links into "label [url]", and drops images and hidden parts', () => {
    const html = `<html><head><title>T</title><style>p{color:red}</style></head><body>
      <div data-chapar-hidden style="display:none">preview text</div><!--[if mso]><p>outlook</p><![endif]-->
      <h1>Your order</h1><p>Hi Sara,<br/>thanks &amp; welcome&nbsp;back.</p>
      <table><tr><td>Shoes</td><td>$89.00</td></tr></table>
      <p><a href="https://shop.example/o/1?a=1&amp;b=2">See your order</a> · <a href="mailto:help@shop.example">help@shop.example</a> · <a href="https://shop.example">https://shop.example</a></p>
      <img src="https://shop.example/x.png" alt="logo"></body></html>`;
    expect(htmlToText(html)).toBe(
      'Your order\n\nHi Sara,\nthanks & welcome back.\n\nShoes\n$89.00\n\nSee your order [https://shop.example/o/1?a=1&b=2] · help@shop.example · https://shop.example',
    );
  });

  it('decodes numeric entities and drops zero-width joiners', () => {
    expect(htmlToText('<p>&#1587;&#1604;&#1575;&#1605;&#8204; &#x2764;</p>')).toBe('سلام ❤');
  });

  // The starters, rendered, say the same words in the same order as html-to-text makes of them.
  const liquid = createLiquid();
  // Letters and digits only: html-to-text sometimes glues table cells together ("Total$59.50"), which ours keeps apart.
  const words = (s: string) => s.replace(/\[[^\]]*\]/g, ' ').replace(/[^\p{L}\p{N}]+/gu, '');
  for (const starter of STARTER_TEMPLATES) {
    for (const locale of STARTER_LOCALES) {
      it(`says what html-to-text says for ${starter.key}.${locale}`, async () => {
        const compiled = await compileVariant({ subject: 's', preheader: 'p', bodyType: 'mjml', body: loadStarterBody(starter.key, locale), textBody: null }, locale === 'fa' ? 'rtl' : 'ltr', locale);
        if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
        const currency = locale === 'fa' ? 'IRT' : 'USD';
        const data = { ...sampleContext(locale, currency, Date.parse('2026-11-27T10:00:00Z'), 'https://shop.example'), contact: { first_name: 'Sara', email: 's@example.com' }, store: { name: 'Kaveh', url: 'https://shop.example', address: '1 Main St\nTehran', support_email: 'help@shop.example' }, unsubscribe_url: 'https://m.example/u/1', preferences_url: 'https://m.example/p/1', view_in_browser_url: 'https://m.example/v/1', preheader: 'p', __pixel: '' };
        const html = renderParsed(liquid, liquid.parse(compiled.value.html), data, { locale, currency, timezone: 'UTC' });
        const ours = htmlToText(html);
        const theirs = convert(html.replace(/<div data-chapar-hidden[\s\S]*?<\/div>/, ''), { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, { selector: 'a', options: { hideLinkHrefIfSameAsText: true } }] });
        expect(words(ours)).toBe(words(theirs));
        expect(ours).toContain('Sara');
        expect(ours).not.toMatch(/<[a-z/]/i);
      });
    }
  }
});
