import { convert } from 'html-to-text';
import { describe, expect, it } from 'vitest';
import { sampleContext } from '../services/template-samples.ts';
import { compileVariant } from './compile.ts';
import { htmlToText, HtmlTextWriter, StaticPieces } from './html-text.ts';
import { createLiquid, renderParsed, staticPiecesOf } from './liquid.ts';
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

  it('decodes once, keeps unknown names, and shows a number that is no character as U+FFFD', () => {
    expect(htmlToText('<p>&amp;lt; &constructor; &toString; &bogus; &#99999999; &#xZ; &#;</p>')).toBe('&lt; &constructor; &toString; &bogus; \ufffd &#xZ; &#;');
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

describe('HtmlTextWriter', () => {
  // A seeded generator: the same "random" documents and cuts on every run.
  let seed = 7;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  // Fragments chosen to straddle piece boundaries: comment and tag openers cut short, closing tags
  // of skipped elements cut in two, entities, blanks and links.
  const FRAGMENTS = ['<p>', '</p>', '<DIV class="x">', '</div>', '<br/>', '<a href="https://x.example/a?b=1&amp;c=2">', "<a href='mailto:a@b'>", '</a>', '<td>', '<tr>', '<table>', '<span>', '<h1>', '<li>', '<style>p{}</style>', '<head><title>t</title></head>', '<!-- c -->', '<!--[if mso]><p>o</p><![endif]-->', '<div data-chapar-hidden>hid</div>', 'hello', ' world ', '\n   ', '&nbsp;', '&amp;', '&#1587;', '&zwnj;', '\u00a0', 'x\u2003', 'سلام', '<o:p>', '<hr>', '<', '>', 'a<b', '<!-->', '--', '->', '</style', '</title>', '<title>', '<!', '<!-', '</sty', 'le>', '<!-x>', '<!doctype html>'];

  it('gives exactly htmlToText of the whole document, however the pieces fall and whichever were recorded', () => {
    for (let d = 0; d < 2000; d++) {
      let html = '';
      for (let k = 1 + rnd(30); k > 0; k--) html += FRAGMENTS[rnd(FRAGMENTS.length)];
      const cuts = [0];
      for (let p = 1 + rnd(8); p < html.length; p += 1 + rnd(8)) cuts.push(p);
      cuts.push(html.length);
      const pieces = cuts.slice(1).map((end, k) => html.slice(cuts[k], end));
      const statics = new StaticPieces(pieces.filter(() => rnd(3) > 0));
      // Twice: the first pass records the static pieces, the second replays them.
      for (const pass of [1, 2]) {
        const writer = new HtmlTextWriter(statics);
        for (const piece of pieces) writer.write(piece);
        expect(writer.finish(), `pass ${pass} of ${JSON.stringify(pieces)}`).toBe(htmlToText(html));
      }
    }
  });

  it('builds the same text from a starter render as htmlToText does from the finished HTML', async () => {
    const liquid = createLiquid();
    for (const starter of STARTER_TEMPLATES) {
      const compiled = await compileVariant({ subject: 's', preheader: 'p', bodyType: 'mjml', body: loadStarterBody(starter.key, 'en'), textBody: null }, 'ltr', 'en');
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
      const template = liquid.parse(compiled.value.html);
      const statics = new StaticPieces(staticPiecesOf(liquid, template));
      for (const name of ['Sara', 'Ali <b>&amp;']) {
        const data = { ...sampleContext('en', 'USD', Date.parse('2026-11-27T10:00:00Z'), 'https://shop.example'), contact: { first_name: name }, store: { name: 'Kaveh', url: 'https://shop.example', address: '1 Main St' }, preheader: 'p', __pixel: '<img src="https://m.example/o.gif">' };
        const writer = new HtmlTextWriter(statics);
        const html = renderParsed(liquid, template, data, { locale: 'en', currency: 'USD', timezone: 'UTC' }, writer);
        expect(writer.finish()).toBe(htmlToText(html));
      }
    }
  });
});
