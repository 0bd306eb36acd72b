import { describe, expect, it } from 'vitest';
import { createLiquid, renderParsed, staticPiecesOf, type ReaderFormat } from './liquid.ts';

const fa: ReaderFormat = { locale: 'fa', currency: 'IRT', timezone: 'Asia/Tehran' };
const en: ReaderFormat = { locale: 'en-US', currency: 'USD', timezone: 'America/New_York' };

async function render(src: string, data: Record<string, unknown>, format = en, limits?: Parameters<typeof createLiquid>[0]) {
  const liquid = createLiquid(limits);
  return renderParsed(liquid, liquid.parse(src), data, format);
}

describe('template Liquid', () => {
  it('formats money in the reader’s currency and locale, including the toman', async () => {
    expect(await render('{{ total | money }}', { total: 125000 }, fa)).toBe('۱۲۵٬۰۰۰ تومان');
    expect(await render('{{ total | money }}', { total: 19.9 }, en)).toBe('$19.90');
    expect(await render("{{ total | money: 'EUR' }}", { total: 19.9 }, { ...en, locale: 'de-DE' })).toBe('19,90\u00a0€');
    expect(await render("{{ total | money: 'IRR' }}", { total: 1250000 }, fa)).toBe('ریال\u00a0۱٬۲۵۰٬۰۰۰');
    expect(await render('{{ missing | money }}', {}, en)).toBe('');
  });

  it('formats dates in the reader’s time zone, with the Jalali calendar for Persian', async () => {
    const at = Date.parse('2026-11-27T22:30:00Z');
    expect(await render('{{ at | local_date }}', { at }, fa)).toBe('۷ آذر ۱۴۰۵');
    expect(await render('{{ at | local_date }}', { at }, en)).toBe('November 27, 2026');
    expect(await render("{{ at | local_date: 'short' }}", { at: '2026-11-27T22:30:00Z' }, { ...en, timezone: 'Asia/Tokyo' })).toBe('11/28/26');
    expect(await render('{{ at | local_date }}', { at: 'not a date' }, en)).toBe('');
  });

  it('pluralises by the locale’s rules', async () => {
    expect(await render("{{ n }} {{ n | pluralize: 'item', 'items' }}", { n: 1 })).toBe('1 item');
    expect(await render("{{ n }} {{ n | pluralize: 'item', 'items' }}", { n: 3 })).toBe('3 items');
  });

  it('renders missing values as empty or as the default filter says', async () => {
    expect(await render('Hi {{ contact.first_name }}!', { contact: {} })).toBe('Hi !');
    expect(await render("Hi {{ contact.first_name | default: 'there' }}!", { contact: {} })).toBe('Hi there!');
  });

  it('refuses unknown filters at parse time', () => {
    const liquid = createLiquid();
    expect(() => liquid.parse('{{ x | shout }}')).toThrow(/undefined filter: shout/);
  });

  it('cannot reach the file system, the environment or prototype properties', async () => {
    const liquid = createLiquid();
    await expect(liquid.parseAndRender("{% include '/etc/passwd' %}", {})).rejects.toThrow();
    await expect(liquid.parseAndRender("{% render '../package.json' %}", {})).rejects.toThrow();
    expect(await render('{{ contact.constructor }}{{ contact.__proto__ }}{{ process.env.HOME }}', { contact: { a: 1 } })).toBe('');
  });

  it('stops infinite or huge loops with an error instead of hanging', async () => {
    await expect(render('{% for i in (1..100000000) %}{{ i }}{% endfor %}', {}, en, { parseLimit: 1e6, renderLimitMs: 200, memoryLimit: 1e7 })).rejects.toThrow(/limit/i);
    const slow = '{% for a in (1..5000) %}{% for b in (1..5000) %}{% endfor %}{% endfor %}';
    await expect(render(slow, {}, en, { parseLimit: 1e6, renderLimitMs: 200, memoryLimit: 1e8 })).rejects.toThrow(/limit/i);
  });

  it('hands a listener every piece it writes, the template\'s static pieces as staticPiecesOf lists them', () => {
    const liquid = createLiquid();
    const template = liquid.parse('<p>Hi {{ name }},</p>\n{%- for i in items %} <b>{{ i | money }}</b>{% endfor %}<br>');
    const pieces: string[] = [];
    const out = renderParsed(liquid, template, { name: 'Sara', items: [1, 2] }, en, { write: (p) => pieces.push(p) });
    expect(out).toBe('<p>Hi Sara,</p> <b>$1.00</b> <b>$2.00</b><br>');
    expect(pieces.join('')).toBe(out);
    const statics = new Set(staticPiecesOf(liquid, template));
    expect(pieces.filter((p) => statics.has(p))).toEqual(['<p>Hi ', ',</p>', ' <b>', '</b>', ' <b>', '</b>', '<br>']);
  });

  it('renders text without Liquid as it is, and keeps its own render settings out of the templates\' reach', async () => {
    expect(await render('No Liquid here — سلام', {})).toBe('No Liquid here — سلام');
    expect(await render('[{{ __env }}{{ __env.format.locale }}]', {})).toBe('[]');
    expect(await render('{{ 5 | money }}', {}, fa)).toBe('۵ تومان');
  });
});
