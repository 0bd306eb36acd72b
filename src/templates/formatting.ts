// Locale-aware formatting for templates: money, dates and plurals, through Intl so every locale
// Node knows works, with the two things Intl lacks for Iranian stores: the toman (IRT, not in
// ISO 4217; 1 toman = 10 rials) and a Persian-calendar default for Persian readers.

const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();
const pluralRules = new Map<string, Intl.PluralRules>();

function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let v = map.get(key);
  if (!v) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Locales whose readers expect the Solar Hijri (Jalali) calendar. */
function usesPersianCalendar(locale: string): boolean {
  return /^fa(-|$)/i.test(locale);
}

/** Right-to-left scripts: Persian, Arabic, Hebrew, Urdu. */
export function isRtl(locale: string): boolean {
  return /^(fa|ar|he|ur|ps|ckb|yi)(-|$)/i.test(locale);
}

const TOMAN_WORD: Record<string, string> = { fa: 'تومان', en: 'Toman' };

/**
 * Formats an amount in a currency for a locale: `formatMoney(125000, 'IRT', 'fa')` → «۱۲۵٬۰۰۰ تومان»,
 * `formatMoney(19.9, 'EUR', 'de-DE')` → «19,90 €». Rials and tomans have no minor unit in use.
 */
export function formatMoney(amount: number, currency: string, locale: string): string {
  if (!Number.isFinite(amount)) return '';
  const cur = currency.toUpperCase();
  if (cur === 'IRT') {
    const nf = cached(numberFormats, `${locale}|IRT`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }));
    const word = TOMAN_WORD[locale.slice(0, 2).toLowerCase()] ?? TOMAN_WORD.en;
    return `${nf.format(amount)} ${word}`;
  }
  const nf = cached(numberFormats, `${locale}|${cur}`, () =>
    new Intl.NumberFormat(locale, { style: 'currency', currency: cur, ...(cur === 'IRR' ? { maximumFractionDigits: 0 } : {}) }),
  );
  // Intl puts a left-to-right mark before some currency names; it only confuses mail clients.
  return nf.format(amount).replace(/\u200e/g, '');
}

export type DateStyle = 'short' | 'medium' | 'long' | 'full';

/**
 * Formats a time in the reader's time zone and locale; Persian readers get the Jalali calendar.
 * Accepts epoch milliseconds, ISO text or a Date; returns '' for anything unreadable.
 */
export function formatDate(value: unknown, opts: { locale: string; timezone: string; style?: DateStyle; withTime?: boolean }): string {
  const d = toDate(value);
  if (!d) return '';
  const calendar = usesPersianCalendar(opts.locale) ? '-u-ca-persian' : '';
  const key = `${opts.locale}${calendar}|${opts.timezone}|${opts.style ?? 'long'}|${opts.withTime ? 1 : 0}`;
  const df = cached(dateFormats, key, () => {
    try {
      return new Intl.DateTimeFormat(`${opts.locale}${calendar}`, { dateStyle: opts.style ?? 'long', ...(opts.withTime ? { timeStyle: 'short' } : {}), timeZone: opts.timezone });
    } catch {
      return new Intl.DateTimeFormat('en', { dateStyle: opts.style ?? 'long', ...(opts.withTime ? { timeStyle: 'short' } : {}), timeZone: 'UTC' });
    }
  });
  return df.format(d);
}

/** Picks the word for a count by the locale's plural rules: `pluralWord(3, 'en', {one: 'item', other: 'items'})`. */
export function pluralWord(count: number, locale: string, forms: { one?: string; other: string; few?: string; many?: string; two?: string; zero?: string }): string {
  const rules = cached(pluralRules, locale, () => {
    try {
      return new Intl.PluralRules(locale);
    } catch {
      return new Intl.PluralRules('en');
    }
  });
  const cat = rules.select(count) as keyof typeof forms;
  return forms[cat] ?? forms.other;
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string' && value.trim() !== '') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    return Number.isNaN(ms) ? undefined : new Date(ms);
  }
  return undefined;
}
