import { Context, Liquid, toValue, toValueSync, Tokenizer, TypeGuards, type Emitter, type Template } from 'liquidjs';
import { formatDate, formatMoney, pluralWord, type DateStyle } from './formatting.ts';
import { renderDirectly } from './liquid-direct.ts';

/** What liquidjs binds `this` to in a filter (its own type is not exported). */
interface FilterImpl {
  context: Context;
}

/** How the reader formats things: taken from the contact, falling back to the store's defaults. */
export interface ReaderFormat {
  locale: string;
  currency: string;
  timezone: string;
}

/** What one render call gives the filters besides the data: the reader's format and the link tracker. */
export interface RenderEnv {
  format: ReaderFormat;
  /** Turns a link's destination into what the email should carry (signed click URL, UTM); identity when absent. */
  link?: (url: string) => string;
}

/**
 * The register under which each render carries its RenderEnv: registers belong to the render, out
 * of the templates' reach, and need no copy of the data (a spread per render cost ~2 µs a message).
 */
const ENV_KEY = 'chapar:env';

/** Limits that keep one template from hurting the sender: parse size, render time, memory. */
export interface RenderLimits {
  parseLimit: number;
  renderLimitMs: number;
  memoryLimit: number;
}

export const DEFAULT_LIMITS: RenderLimits = { parseLimit: 1_000_000, renderLimitMs: 1000, memoryLimit: 10_000_000 };

function env(ctx: FilterImpl): RenderEnv | undefined {
  return ctx.context.getRegister(ENV_KEY) as RenderEnv | undefined;
}

function reader(ctx: FilterImpl): ReaderFormat {
  return env(ctx)?.format ?? { locale: 'en', currency: 'USD', timezone: 'UTC' };
}

/**
 * A Liquid engine for email templates. Sandboxed: no file system (partials come only from the
 * given in-memory map), only own properties of the data are readable, unknown filters are errors,
 * and parse size, render time and memory are limited. Missing variables render empty.
 */
export function createLiquid(limits: RenderLimits = DEFAULT_LIMITS, partials: Record<string, string> = {}): Liquid {
  const liquid = new Liquid({
    templates: partials,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    jsTruthy: false,
    outputEscape: undefined,
    parseLimit: limits.parseLimit,
    renderLimit: limits.renderLimitMs,
    memoryLimit: limits.memoryLimit,
    cache: false,
  });
  liquid.registerFilter('money', function (this: FilterImpl, value: unknown, currency?: string) {
    const r = reader(this);
    const n = typeof value === 'number' ? value : Number(value);
    return value === null || value === undefined || value === '' || Number.isNaN(n) ? '' : formatMoney(n, currency ?? r.currency, r.locale);
  });
  liquid.registerFilter('local_date', function (this: FilterImpl, value: unknown, style?: DateStyle) {
    const r = reader(this);
    return formatDate(value, { locale: r.locale, timezone: r.timezone, style: style ?? 'long' });
  });
  liquid.registerFilter('local_datetime', function (this: FilterImpl, value: unknown, style?: DateStyle) {
    const r = reader(this);
    return formatDate(value, { locale: r.locale, timezone: r.timezone, style: style ?? 'long', withTime: true });
  });
  liquid.registerFilter('pluralize', function (this: FilterImpl, count: unknown, one: string, other: string, few?: string, many?: string) {
    const n = Number(count);
    return pluralWord(Number.isFinite(n) ? n : 0, reader(this).locale, { one, other, ...(few ? { few } : {}), ...(many ? { many } : {}) });
  });
  liquid.registerFilter('number', function (this: FilterImpl, value: unknown, digits?: number) {
    const n = Number(value);
    return Number.isFinite(n) ? new Intl.NumberFormat(reader(this).locale, { maximumFractionDigits: digits ?? 2 }).format(n) : '';
  });
  // In the HTML part every value is escaped before the render (compose.ts), so the standard
  // `escape` (a habit from Shopify, whose outputs are not escaped) would escape it twice and the
  // reader would see "&amp;". Both filters here escape what is not escaped yet, as escape_once
  // does, knowing the entities Chapar's own escaping writes (&quot;, which liquidjs's escape_once
  // would escape again). A literal such as {{ "a & b" | escape }} is escaped as before.
  for (const name of ['escape', 'escape_once']) {
    liquid.registerFilter(name, function (this: FilterImpl, value: unknown) {
      const s = stringify(value);
      this.context.memoryLimit.use(s.length);
      return s.replace(/&(?:amp|lt|gt|quot|#34|#39);/g, (e) => UNESCAPES[e]!).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
    });
  }
  // Added to every link at compile time (see compile.ts), so link tracking happens inside the one
  // render pass instead of a second scan of each message's HTML.
  liquid.registerFilter('track_link', function (this: FilterImpl, value: unknown) {
    const url = String(value ?? '').trim();
    const link = env(this)?.link;
    return link ? link(url) : url;
  });
  return liquid;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const UNESCAPES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#34;': '"', '&#39;': "'" };

/** Receives each piece of a render's output as Liquid writes it (the text part is built this way). */
export interface RenderListener {
  write(piece: string): void;
}

/**
 * Renders a parsed template with the data and the reader's format. Synchronous on purpose: every
 * filter here is synchronous and the data is in memory, and liquidjs's async path spends most of
 * its time wrapping each node in promises (measured: bench:render). A listener sees every piece
 * of the output as it is written.
 */
export function renderParsed(liquid: Liquid, template: Template[], data: Record<string, unknown>, format: ReaderFormat | RenderEnv, listener?: RenderListener): string {
  if (!listener) {
    const fixed = staticTextOf(template);
    if (fixed !== null) return fixed;
  }
  renderDirectly(template);
  const ctx = new Context(data, liquid.options, { sync: true }, { liquid });
  ctx.setRegister(ENV_KEY, 'format' in format ? format : { format });
  if (!listener) return liquid.renderSync(template, ctx) as string;
  const emitter: Emitter = {
    buffer: '',
    write(value: unknown) {
      const piece = stringify(value);
      this.buffer += piece;
      listener.write(piece);
    },
  };
  return toValueSync(liquid.renderer.renderTemplates(template, ctx, emitter)) as string;
}

// What liquidjs's own emitter writes for a value.
function stringify(value: unknown): string {
  const v = toValue(value);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringify).join('');
  return String(v);
}

const staticTexts = new WeakMap<Template[], string | null>();

// The output of a template without any Liquid in it (a fixed subject line, say), or null: a render
// of one costs ~4 µs for nothing.
function staticTextOf(template: Template[]): string | null {
  let text = staticTexts.get(template);
  if (text === undefined) {
    text = '';
    for (const t of template) {
      if (!TypeGuards.isHTMLToken(t.token)) {
        text = null;
        break;
      }
      text += t.token.getContent();
    }
    staticTexts.set(template, text);
  }
  return text;
}

/**
 * The static pieces of a parsed template: the text between its Liquid tags and outputs, exactly as
 * a render writes it. Read again from the template's source with the engine's own tokenizer.
 */
export function staticPiecesOf(liquid: Liquid, template: Template[]): string[] {
  const source = template[0]?.token.input;
  if (source === undefined) return [];
  const tokens = new Tokenizer(source, liquid.options.operators, undefined, undefined, liquid.options.groupedExpressions).readTopLevelTokens(liquid.options);
  return tokens.filter((t) => TypeGuards.isHTMLToken(t)).map((t) => t.getContent());
}
