import { selectSetting, upsertSetting } from '../db/queries/settings.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { validateContactInput } from '../domain/contacts.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import type { Utm } from '../domain/templates.ts';
import { TOPIC_KEY } from '../domain/consent.ts';
import type { StoreProfile } from '../templates/compose.ts';
import type { ServiceContext } from './context.ts';

/** The store's settings: who it is to its readers, how it sends, and its UTM defaults. */
export interface StoreSettings extends StoreProfile {
  utm: Utm | null;
  /** Web origins (`https://shop.example`) whose pages may post to the public signup (CORS and form posts). */
  signupOrigins: string[];
  /** The topics the public signup offers; a signup naming none asks for all of them. */
  signupTopics: string[];
  /** Where a signup form post is redirected (the store's thank-you page); null shows Chapar's own page. */
  signupRedirectUrl: string | null;
}

const KEY = 'store';

/** Settings for a fresh installation: a store without a postal address cannot send marketing yet. */
function defaults(publicUrl: string): StoreSettings {
  const host = new URL(publicUrl).hostname;
  const domain = /\./.test(host) && !/^[\d.]+$/.test(host) ? host : 'localhost.localdomain';
  return {
    name: 'My store',
    url: publicUrl,
    address: '',
    logoUrl: null,
    supportEmail: null,
    defaultLocale: 'en',
    defaultCurrency: 'USD',
    defaultTimezone: 'UTC',
    sendingDomain: domain,
    bounceDomain: `bounces.${domain}`,
    feedbackSenderId: 'chapar',
    utm: { source: 'chapar', medium: 'email' },
    signupOrigins: [],
    signupTopics: ['newsletter'],
    signupRedirectUrl: null,
  };
}

/** Reads the store settings (defaults for anything never set). */
export async function getStoreSettings(ctx: ServiceContext): Promise<StoreSettings> {
  const stored = await selectSetting<Partial<StoreSettings>>(ctx.db, KEY);
  return { ...defaults(ctx.publicUrl), ...stored };
}

/** Changes some store settings; every field is checked and all problems reported together. */
export async function updateStoreSettings(ctx: ServiceContext, patch: Partial<StoreSettings>): Promise<StoreSettings> {
  const next = { ...(await getStoreSettings(ctx)), ...patch };
  const errors = checkSettings(next);
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  await upsertSetting(ctx.db, KEY, next, ctx.clock.now());
  return next;
}

function checkSettings(s: StoreSettings): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (s.name.trim() === '' || /[\r\n]/.test(s.name)) fail('name', 'must be one non-empty line');
  if (!/^https?:\/\/\S+$/.test(s.url)) fail('url', 'must be an http(s) URL');
  if (s.logoUrl !== null && !/^https:\/\/\S+$/.test(s.logoUrl)) fail('logoUrl', 'must be an https URL (mail clients block http images)');
  if (s.supportEmail !== null && !normalizeEmail(s.supportEmail).ok) fail('supportEmail', 'is not a valid email address');
  for (const field of ['sendingDomain', 'bounceDomain'] as const) {
    if (!normalizeEmail(`postmaster@${s[field]}`).ok) fail(field, `"${s[field]}" is not a domain name`);
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(s.feedbackSenderId)) fail('feedbackSenderId', 'must be 1-64 letters, digits, . _ or -');
  const check = validateContactInput({ locale: s.defaultLocale, currency: s.defaultCurrency, timezone: s.defaultTimezone }, { requireEmail: false });
  if (!check.ok) for (const e of check.errors) fail(`default${e.field[0]!.toUpperCase()}${e.field.slice(1)}`, e.message);
  if (s.utm) for (const [k, v] of Object.entries(s.utm)) if (v !== undefined && (typeof v !== 'string' || v.length > 200)) fail(`utm/${k}`, 'must be text up to 200 characters');
  checkSignupSettings(s, fail);
  return errors;
}

function checkSignupSettings(s: StoreSettings, fail: (field: string, message: string) => void): void {
  if (s.signupOrigins.length > 20) fail('signupOrigins', 'at most 20 origins');
  s.signupOrigins.forEach((o, i) => {
    if (!isOrigin(o)) fail(`signupOrigins/${i}`, `"${o}" is not an origin: write scheme and host only, such as https://shop.example (no path, no trailing slash, lower case)`);
  });
  if (s.signupTopics.length > 64) fail('signupTopics', 'at most 64 topics');
  s.signupTopics.forEach((t, i) => {
    if (!TOPIC_KEY.test(t)) fail(`signupTopics/${i}`, `"${t}" is not a topic key`);
  });
  if (s.signupRedirectUrl !== null && !/^https?:\/\/\S+$/.test(s.signupRedirectUrl)) fail('signupRedirectUrl', 'must be an http(s) URL or null');
}

/** True for a serialised web origin exactly as browsers send it in the Origin header. */
export function isOrigin(o: string): boolean {
  try {
    const u = new URL(o);
    return /^https?:$/.test(u.protocol) && u.origin === o;
  } catch {
    return false;
  }
}
