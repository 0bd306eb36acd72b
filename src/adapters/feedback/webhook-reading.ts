import type { FeedbackEvent } from '../../domain/feedback.ts';
import type { UnmatchedFeedback } from '../../domain/feedback.ts';

// What every ESP webhook adapter hands back once a body is verified, and the small readers they
// share for picking fields out of untrusted JSON without trusting its types or sizes.

/** A verified webhook body, normalised: events to record, items kept for an operator, and a count of routine ones dropped. */
export interface WebhookReading {
  events: FeedbackEvent[];
  unmatched: UnmatchedFeedback[];
  /** Events that say nothing Chapar acts on (Mailgun `accepted`, SendGrid `processed`, SES `Send`). */
  ignored: number;
}

/** A signature check's answer: the parsed body when it holds, or why not, in words for a log line. */
export type Verification<T> = { ok: true; value: T } | { ok: false; why: string };

/** An empty reading, to add to. */
export function emptyReading(): WebhookReading {
  return { events: [], unmatched: [], ignored: 0 };
}

/** The value as a plain object, or undefined when it is anything else (an array, null, a string). */
export function objectOf(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A trimmed, non-empty string cut to `max` characters, or null. Numbers are written out (ids, codes). */
export function textOf(v: unknown, max = 1000): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t.slice(0, max);
}

/** A whole number, or null (SMTP codes arrive as numbers or digit strings). */
export function integerOf(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d{1,9}$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}

/** Epoch milliseconds from seconds (number or digit string), or `fallback` when absent or absurd. */
export function secondsToMs(v: unknown, fallback: number): number {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 && n < 1e11 ? Math.round(n * 1000) : fallback;
}

/** Epoch milliseconds from an ISO 8601 time, or `fallback`. */
export function isoToMs(v: unknown, fallback: number): number {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : fallback;
}

// The excerpt kept with an event or an unmatched item: enough for an operator to recognise it.
const RAW_EXCERPT = 500;

/** The first bytes of a JSON value, for `raw`: never the whole body. */
export function excerptOf(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  return s.length > RAW_EXCERPT ? `${s.slice(0, RAW_EXCERPT)}…` : s;
}
