import { AppError, type ErrorDetail } from '../../lib/errors.ts';

// The public signup's body, from an HTML form (URLSearchParams) or JSON, as one shape. Both are
// untrusted: every field's type and size is checked here and each problem is named; what the
// values mean (a valid address, a real locale) is the service's check.

/** The honeypot: a field hidden from people (CSS) that form-filling bots fill in. */
export const HONEYPOT_FIELD = 'website';

/** The fields a signup may carry. */
export interface SignupFields {
  email: string;
  topics: string[] | undefined;
  firstName: string | null;
  locale: string | null;
  wording: string;
  wordingVersion: string | null;
}

const LIMITS: Record<string, number> = { email: 320, firstName: 200, locale: 35, wording: 4000, wordingVersion: 200 };
const KNOWN = new Set([...Object.keys(LIMITS), 'topics', HONEYPOT_FIELD]);
const MAX_TOPICS = 20;

/** Reads a form post or JSON body into SignupFields, or throws validation_failed naming every bad field. */
export function readSignupFields(body: unknown): SignupFields {
  const errors: ErrorDetail[] = [];
  const get = body instanceof URLSearchParams ? fromForm(body) : fromJson(body, errors);
  const text = (field: string, required: boolean): string | null => {
    const v = get(field);
    if (v === undefined || v === null || v === '') {
      if (required) errors.push({ field, message: field === 'wording' ? 'is required: the exact consent text shown beside the form, kept as proof of consent' : 'is required' });
      return null;
    }
    if (typeof v !== 'string') {
      errors.push({ field, message: 'must be text' });
      return null;
    }
    if (v.length > LIMITS[field]!) {
      errors.push({ field, message: `is longer than ${LIMITS[field]} characters` });
      return null;
    }
    return v;
  };
  const fields = {
    email: text('email', true) ?? '',
    topics: readTopics(get('topics'), errors),
    firstName: text('firstName', false),
    locale: text('locale', false),
    wording: text('wording', true) ?? '',
    wordingVersion: text('wordingVersion', false),
  };
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  return fields;
}

/** True when the honeypot holds anything: checked before anything else, so a bot learns nothing from errors. */
export function honeypotFilled(body: unknown): boolean {
  const v = body instanceof URLSearchParams ? body.get(HONEYPOT_FIELD) : body && typeof body === 'object' ? (body as Record<string, unknown>)[HONEYPOT_FIELD] : undefined;
  return v !== undefined && v !== null && v !== '' && !(typeof v === 'string' && v.trim() === '');
}

/** The language a reply page should use, read from a body that may not be valid at all. */
export function localeHint(body: unknown): string | null {
  const v = body instanceof URLSearchParams ? body.get('locale') : body && typeof body === 'object' ? (body as Record<string, unknown>).locale : null;
  return typeof v === 'string' ? v : null;
}

type Getter = (field: string) => unknown;

function fromForm(form: URLSearchParams): Getter {
  // Forms may carry their own extra fields (a submit button's name): unknown ones are ignored.
  return (field) => (field === 'topics' ? form.getAll('topics') : form.get(field) ?? undefined);
}

function fromJson(body: unknown, errors: ErrorDetail[]): Getter {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    errors.push({ field: 'body', message: 'must be a JSON object' });
    return () => undefined;
  }
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) errors.push({ field: k, message: `is not a signup field (fields: ${[...KNOWN].join(', ')})` });
  return (field) => o[field];
}

/** Topic keys as an array, or repeated form fields, or one comma-separated text. */
function readTopics(v: unknown, errors: ErrorDetail[]): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
  if (!list || list.some((t) => typeof t !== 'string' || t.length > 700)) {
    errors.push({ field: 'topics', message: 'must be a list of topic keys' });
    return undefined;
  }
  const keys = (list as string[]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  if (keys.length > MAX_TOPICS) {
    errors.push({ field: 'topics', message: `at most ${MAX_TOPICS} topics` });
    return undefined;
  }
  return keys.length > 0 ? keys : undefined;
}
