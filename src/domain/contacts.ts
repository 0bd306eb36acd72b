import type { ErrorDetail } from '../lib/errors.ts';
import { normalizeEmail } from './emails.ts';

/** A stored contact as every layer above the database sees it. */
export interface Contact {
  id: number;
  /** Null for a customer known so far only by a store id (created from store data); such a contact is never mailed. */
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  locale: string | null;
  timezone: string | null;
  currency: string | null;
  phone: string | null;
  /** The contact's ids in other systems, by source: `{ woocommerce: "1042" }`. */
  externalIds: Record<string, string>;
  attributes: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/**
 * A contact's address where the path that reached the contact guarantees one (a signup form, a
 * signed link in an email): a contact known only by a store id is never mailed, so never has links.
 */
export function addressOf(c: Pick<Contact, 'id' | 'email'>): string {
  if (c.email === null) throw new Error(`contact ${c.id} has no email address`);
  return c.email;
}

/** The optional, nullable profile fields a caller may set. */
export const PROFILE_FIELDS = ['firstName', 'lastName', 'locale', 'timezone', 'currency', 'phone'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** What a caller sends to create or change a contact, after structural (type) checks. */
export interface ContactInput {
  email?: string;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
  timezone?: string | null;
  currency?: string | null;
  phone?: string | null;
  externalIds?: Record<string, string>;
  attributes?: Record<string, unknown>;
}

/** A validated, normalised input. `undefined` = leave unchanged; `null` = clear. */
export interface ContactDraft extends ContactInput {
  emailKey?: string;
  emailDomain?: string;
}

export type DraftCheck = { ok: true; value: ContactDraft } | { ok: false; errors: ErrorDetail[] };

/** Attribute names are used as JSON paths in segment queries, so they are kept to a safe alphabet. */
export const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const SOURCE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_ATTRIBUTES_BYTES = 16_384;
// The toman is not in ISO 4217 but is how Iranian stores price everything (1 toman = 10 rials).
const EXTRA_CURRENCIES = new Set(['IRT']);
const currencies = new Set<string>(Intl.supportedValuesOf('currency'));
const timezoneCache = new Map<string, string | null>();

/**
 * Checks the meaning of every field (address syntax, real locale, IANA time zone, currency code)
 * and normalises it. `prefix` is prepended to error paths (e.g. `contacts/3/`).
 */
export function validateContactInput(input: ContactInput, opts: { requireEmail: boolean; prefix?: string }): DraftCheck {
  const p = opts.prefix ?? '';
  const errors: ErrorDetail[] = [];
  const out: ContactDraft = {};
  const fail = (field: string, message: string) => errors.push({ field: p + field, message });

  if (input.email === undefined) {
    if (opts.requireEmail) fail('email', 'is required');
  } else {
    const r = normalizeEmail(input.email);
    if (r.ok) {
      out.email = r.value.email;
      out.emailKey = r.value.key;
      out.emailDomain = r.value.domain;
    } else fail('email', `"${truncate(input.email)}" is not a valid email address: it ${r.reason}`);
  }
  for (const field of ['firstName', 'lastName'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (v === null) out[field] = null;
    else if (/[\u0000-\u001F\u007F]/.test(v)) fail(field, 'contains control characters');
    else out[field] = v.trim() === '' ? null : v.trim();
  }
  if (input.locale !== undefined) {
    const v = input.locale === null ? null : canonicalLocale(input.locale);
    if (v === undefined) fail('locale', `"${truncate(input.locale ?? '')}" is not a BCP 47 locale such as "en" or "fa-IR"`);
    else out.locale = v;
  }
  if (input.timezone !== undefined) {
    const v = input.timezone === null ? null : canonicalTimezone(input.timezone);
    if (v === undefined) fail('timezone', `"${truncate(input.timezone ?? '')}" is not an IANA time zone such as "Asia/Tehran"`);
    else out.timezone = v;
  }
  if (input.currency !== undefined) {
    const v = input.currency === null ? null : input.currency.trim().toUpperCase();
    if (v !== null && !currencies.has(v) && !EXTRA_CURRENCIES.has(v)) {
      fail('currency', `"${truncate(input.currency ?? '')}" is not an ISO 4217 currency code (or IRT for toman)`);
    } else out.currency = v;
  }
  if (input.phone !== undefined) {
    const v = input.phone === null ? null : normalizePhone(input.phone);
    if (v === undefined) fail('phone', `"${truncate(input.phone ?? '')}" is not a phone number (digits, optional leading +)`);
    else out.phone = v;
  }
  if (input.externalIds !== undefined) {
    for (const [source, id] of Object.entries(input.externalIds)) {
      if (!SOURCE_NAME.test(source)) fail(`externalIds/${source}`, 'source names are lower-case letters, digits, - and _');
      else if (id.trim() === '' || id.length > 128) fail(`externalIds/${source}`, 'must be 1 to 128 characters');
      else if (/[\u0000-\u001F\u007F]/.test(id)) fail(`externalIds/${source}`, 'contains control characters');
    }
    out.externalIds = Object.fromEntries(Object.entries(input.externalIds).map(([s, id]) => [s, id.trim()]));
  }
  if (input.attributes !== undefined) {
    for (const name of Object.keys(input.attributes)) {
      if (!ATTRIBUTE_NAME.test(name)) fail(`attributes/${name}`, 'attribute names start with a letter or _ and hold only letters, digits and _ (at most 64)');
    }
    const json = JSON.stringify(input.attributes);
    // PostgreSQL cannot store U+0000 in text or JSONB; refuse it here rather than fail the batch.
    if (json.includes('\\u0000')) fail('attributes', 'contain a NUL character (U+0000)');
    if (Buffer.byteLength(json) > MAX_ATTRIBUTES_BYTES) {
      fail('attributes', `are larger than ${MAX_ATTRIBUTES_BYTES} bytes as JSON`);
    }
    out.attributes = input.attributes;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

const localeCache = new Map<string, string | null>();

// Memoised: an import checks the same few locales a million times, and Intl is slow at it.
function canonicalLocale(raw: string): string | undefined {
  let hit = localeCache.get(raw);
  if (hit === undefined) {
    try {
      hit = Intl.getCanonicalLocales(raw.trim().replace(/_/g, '-'))[0] ?? null;
    } catch {
      hit = null;
    }
    if (localeCache.size < 10_000) localeCache.set(raw, hit);
  }
  return hit ?? undefined;
}

function canonicalTimezone(raw: string): string | undefined {
  const key = raw.trim();
  let hit = timezoneCache.get(key);
  if (hit === undefined) {
    try {
      hit = key === '' ? null : new Intl.DateTimeFormat('en', { timeZone: key }).resolvedOptions().timeZone;
    } catch {
      hit = null;
    }
    if (timezoneCache.size < 10_000) timezoneCache.set(key, hit);
  }
  return hit ?? undefined;
}

/** Keeps a leading + and the digits; rejects anything with letters or too few/many digits. */
function normalizePhone(raw: string): string | undefined {
  const v = raw.trim();
  if (!/^\+?[0-9 ().\-/]+$/.test(v)) return undefined;
  const digits = v.replace(/[^0-9]/g, '');
  if (digits.length < 4 || digits.length > 17) return undefined;
  return (v.startsWith('+') ? '+' : '') + digits;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
