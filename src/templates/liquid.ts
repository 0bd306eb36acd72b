import { Liquid, type Context, type Template } from 'liquidjs';

/** What liquidjs binds `this` to in a filter (its own type is not exported). */
interface FilterImpl {
  context: Context;
}
import { formatDate, formatMoney, pluralWord, type DateStyle } from './formatting.ts';

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

/** The key under which each render carries its RenderEnv (not a template variable anyone documents). */
const ENV_KEY = '__env';

/** Limits that keep one template from hurting the sender: parse size, render time, memory. */
export interface RenderLimits {
  parseLimit: number;
  renderLimitMs: number;
  memoryLimit: number;
}

export const DEFAULT_LIMITS: RenderLimits = { parseLimit: 1_000_000, renderLimitMs: 1000, memoryLimit: 10_000_000 };

function env(ctx: FilterImpl): RenderEnv | undefined {
  return ctx.context.getSync([ENV_KEY]) as RenderEnv | undefined;
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
  // Added to every link at compile time (see compile.ts), so link tracking happens inside the one
  // render pass instead of a second scan of each message's HTML.
  liquid.registerFilter('track_link', function (this: FilterImpl, value: unknown) {
    const url = String(value ?? '').trim();
    const link = env(this)?.link;
    return link ? link(url) : url;
  });
  return liquid;
}

/**
 * Renders a parsed template with the data and the reader's format. Synchronous on purpose: every
 * filter here is synchronous and the data is in memory, and liquidjs's async path spends most of
 * its time wrapping each node in promises (measured: bench:render).
 */
export function renderParsed(liquid: Liquid, template: Template[], data: Record<string, unknown>, format: ReaderFormat | RenderEnv): string {
  const renderEnv: RenderEnv = 'format' in format ? format : { format };
  return liquid.renderSync(template, { ...data, [ENV_KEY]: renderEnv });
}
