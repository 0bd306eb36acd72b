import { Context, Drop, Output, type Liquid, type Template } from 'liquidjs';
import { describe, expect, it } from 'vitest';
import { sampleContext } from '../services/template-samples.ts';
import { compileVariant } from './compile.ts';
import { renderDirectly } from './liquid-direct.ts';
import { createLiquid, type RenderEnv } from './liquid.ts';
import { loadStarterBody, STARTER_LOCALES, STARTER_TEMPLATES } from './starters/catalog.ts';

// The direct render must be invisible: every template renders to the same bytes, throws the same
// errors and writes the same pieces as liquidjs's own render of the same source.

const ENV: RenderEnv = { format: { locale: 'en-US', currency: 'USD', timezone: 'UTC' }, link: (u) => `https://t.example/c?u=${encodeURIComponent(u)}` };

function renderWith(liquid: Liquid, template: Template[], data: Record<string, unknown>, direct: boolean): string {
  if (direct) renderDirectly(template);
  const ctx = new Context(data, liquid.options, { sync: true }, { liquid });
  ctx.setRegister('chapar:env', ENV);
  return liquid.renderSync(template, ctx) as string;
}

/** Both renders of one source, each from its own parse; throws if they differ in output or error. */
function both(src: string, data: Record<string, unknown>, liquid = createLiquid()): string {
  const outcome = (direct: boolean) => {
    try {
      return { out: renderWith(liquid, liquid.parse(src), data, direct) };
    } catch (err) {
      return { err: `${(err as Error).name}: ${(err as Error).message}` };
    }
  };
  const generic = outcome(false);
  const direct = outcome(true);
  expect(direct, src).toEqual(generic);
  if ('err' in generic) throw new Error(generic.err);
  return generic.out!;
}

class Shelf extends Drop {
  override liquidMethodMissing(key: string) {
    return `shelf:${key}`;
  }
  get count() {
    return 3;
  }
}

const data = {
  s: 'Hello, World',
  n: 41,
  zero: 0,
  f: false,
  nothing: null,
  list: ['a', 'b', 'c'],
  nums: [3, 1, 2],
  deep: { a: { b: { c: 'deep value' } }, key: 'a', 'with space': 'spaced', size: 'own size' },
  obj: { x: 1, y: 2 },
  people: [{ name: 'Sara', age: 31 }, { name: 'Ali', age: 25 }],
  shelf: new Shelf(),
  lazy: { toLiquid: () => ({ name: 'converted' }) },
  when: Date.parse('2026-11-27T10:00:00Z'),
};

describe('renderDirectly', () => {
  it('renders every starter template, in both languages, byte for byte as liquidjs does', async () => {
    const liquid = createLiquid();
    for (const starter of STARTER_TEMPLATES) {
      for (const locale of STARTER_LOCALES) {
        const compiled = await compileVariant({ subject: starter.locales[locale].subject, preheader: starter.locales[locale].preheader, bodyType: 'mjml', body: loadStarterBody(starter.key, locale), textBody: null }, locale === 'fa' ? 'rtl' : 'ltr', locale);
        if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
        const context = { ...sampleContext(locale, locale === 'fa' ? 'IRT' : 'USD', Date.parse('2026-11-27T10:00:00Z'), 'https://shop.example'), contact: { first_name: 'Sara', email: 'sara@example.com' }, store: { name: 'Kaveh', address: 'Kaveh Shop\r\n12 Vali-e Asr St\nTehran' } };
        for (const source of [compiled.value.html, starter.locales[locale].subject, starter.locales[locale].preheader]) {
          const out = both(source, context, liquid);
          expect(out.length).toBeGreaterThan(0);
        }
        // The same with most of the data missing: every branch that tests for it goes the other way.
        both(compiled.value.html, { order: { items: [] } }, liquid);
      }
    }
  });

  // Each source renders both ways: the same bytes, or the same error.
  it.each([
    [
      'reads paths, literals, sizes, firsts and lasts, negative indexes and missing values alike',
      [
        '{{ s }}|{{ n }}|{{ zero }}|{{ f }}|{{ nothing }}|{{ missing }}|{{ missing.deeper.still }}',
        '{{ deep.a.b.c }}|{{ deep["a"]["b"].c }}|{{ deep["with space"] }}|{{ deep.size }}|{{ obj.size }}|{{ s.size }}|{{ list.size }}',
        '{{ list[0] }}|{{ list[-1] }}|{{ list[7] }}|{{ list.first }}|{{ list.last }}|{{ people[1].name }}|{{ people.first.age }}',
        "{{ 'quoted' }}|{{ \"double\" }}|{{ 3.5 }}|{{ -2 }}|{{ true }}|{{ false }}|{{ nil }}|{{ empty }}|{{ blank }}",
        '{{ list }}|{{ nums }}|{{ obj }}|{{ people }}',
        '{{ s.toString }}|{{ obj.constructor }}|{{ list.length }}|{{ obj.hasOwnProperty }}',
        '{{ shelf.count }}|{{ shelf.anything }}|{{ lazy.name }}|{{ deep[deep.key].b.c }}|{{ (1..4) | join: "," }}',
      ],
    ],
    [
      'runs filters with positional, keyword and variable arguments in the same order',
      [
        '{{ n | plus: 2 | times: n | minus: zero }}|{{ s | replace: "o", s | upcase | truncate: 9 }}|{{ list | join: deep.key }}',
        "{{ missing | default: 'fallback' }}|{{ f | default: 'x', allow_false: true }}|{{ f | default: 'x' }}|{{ nothing | default: list.first }}",
        '{{ when | date: "%Y-%m-%d %H:%M" }}|{{ people | map: "name" | join: ", " }}|{{ people | where: "age", 25 | map: "name" }}|{{ nums | sort | reverse }}',
        '{{ s | split: ", " | last }}|{{ s | slice: 1, 3 }}|{{ s | escape }}|{{ "<b>" | escape | append: s }}',
        "{{ 19.9 | money }}|{{ n | money: 'EUR' }}|{{ when | local_date }}|{{ n | pluralize: 'item', 'items' }}|{{ n | number: 1 }}|{{ ' https://shop.example/a ' | track_link }}",
      ],
    ],
    [
      'renders inside tags: if, unless, case, for with forloop, assign, capture, nested loops',
      [
        '{% if n > 40 %}{{ s }}{% elsif n %}{{ n }}{% else %}{{ missing }}{% endif %}{% unless f %}{{ list.last }}{% endunless %}',
        '{% for p in people %}{{ forloop.index }}:{{ p.name | upcase }}{% if forloop.last %}.{% endif %}{% else %}none{% endfor %}',
        '{% for x in missing %}{{ x }}{% else %}{{ s | downcase }}{% endfor %}{% for i in (1..3) %}{% for j in list limit: 2 %}{{ i }}{{ j }}{% endfor %}{% endfor %}',
        '{% assign total = n | plus: 1 %}{{ total }}{% capture c %}{{ deep.a.b.c }}-{{ total }}{% endcapture %}{{ c | size }}{{ c }}',
        '{% case list.size %}{% when 2 %}two{% when 3 %}{{ list | join: "+" }}{% else %}many{% endcase %}{% raw %}{{ not rendered }}{% endraw %}',
      ],
    ],
  ] as [string, string[]][])('%s', (_name, cases) => {
    for (const src of cases) both(src, data);
  });

  it('fails as liquidjs does: a filter that throws, and the memory limit', () => {
    const liquid = createLiquid({ parseLimit: 1_000_000, renderLimitMs: 1000, memoryLimit: 10_000 });
    liquid.registerFilter('explode', (v: unknown) => {
      throw new Error(`exploded on ${String(v)}`);
    });
    expect(() => both('before {{ s | explode }} after', data, liquid)).toThrow(/exploded on Hello, World/);
    expect(() => both('{% for i in (1..100) %}{{ s | append: s | append: s | append: s | append: s }}{% endfor %}', data, liquid)).toThrow(/memory alloc limit exceeded/);
  });

  it('calls a function found in the data as often as liquidjs does, even when a later value sends the output back to liquidjs', () => {
    const liquid = createLiquid();
    const calls = { generic: 0, direct: 0 };
    for (const mode of ['generic', 'direct'] as const) {
      const d = { counter: { hit: () => ++calls[mode] }, shelf: new Shelf() };
      renderWith(liquid, liquid.parse('{{ counter.hit | append: shelf.x }}{{ counter.hit }}'), d, mode === 'direct');
    }
    expect(calls.direct).toBe(calls.generic);
  });

  it('takes the direct path for the outputs of the starter templates', async () => {
    const liquid = createLiquid();
    const compiled = await compileVariant({ subject: 's', preheader: 'p', bodyType: 'mjml', body: loadStarterBody('order-confirmation', 'en'), textBody: null }, 'ltr', 'en');
    if (!compiled.ok) throw new Error('did not compile');
    const template = liquid.parse(compiled.value.html);
    renderDirectly(template);
    const outputs = template.filter((t) => t instanceof Output);
    expect(outputs.length).toBeGreaterThanOrEqual(10);
    expect(outputs.filter((t) => t.render === Output.prototype.render)).toEqual([]);
  });

  it('leaves async rendering of the same parsed template to liquidjs, with the same result', async () => {
    const liquid = createLiquid();
    const template = liquid.parse('{{ s | upcase }} {% for p in people %}{{ p.name }}{% endfor %}');
    renderDirectly(template);
    expect(await liquid.render(template, data)).toBe(renderWith(liquid, liquid.parse('{{ s | upcase }} {% for p in people %}{{ p.name }}{% endfor %}'), data, false));
  });
});
