// Time windows in segment definitions: relative (`{ "within": "30d" }`, `{ "olderThan": "90d" }`)
// or absolute (`{ "after": "2026-01-01T00:00:00Z", "before": "…" }`), resolved against `now` from
// the injected clock only when a segment is evaluated, so a saved segment keeps sliding.

/** A time window; every key given must hold (they are ANDed). */
export interface DateRange {
  /** At most this long ago (`30d`, `12h`, `2w`). */
  within?: string;
  /** More than this long ago. */
  olderThan?: string;
  /** At or after this instant (ISO 8601 with a zone). */
  after?: string;
  /** Strictly before this instant (ISO 8601 with a zone). */
  before?: string;
}

/** Milliseconds bounds of a resolved window: `from <= t < to`; a missing bound is open. */
export interface ResolvedRange {
  from?: number;
  to?: number;
}

const DURATION = /^([1-9]\d{0,4})([hdw])$/;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
/** Ten years: a longer relative window is surely a typo. */
const MAX_DURATION_MS = 3650 * 86_400_000;
// A zone is required: an ISO time without one would be read in the server's zone.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const RANGE_KEYS = ['within', 'olderThan', 'after', 'before'] as const;

/** Parses `30d`, `12h`, `2w` into milliseconds; null when malformed or over ten years. */
export function parseDuration(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = DURATION.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > MAX_DURATION_MS ? null : ms;
}

/** Parses an ISO 8601 instant with a zone; null otherwise. */
export function parseInstant(text: unknown): number | null {
  if (typeof text !== 'string' || !ISO_INSTANT.test(text)) return null;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : null;
}

/** Checks a window and returns its problems as (path, message) pairs; an empty list means valid. */
export function checkDateRange(value: unknown, path: string): { path: string; message: string }[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ path, message: 'must be a time window such as {"within": "30d"} or {"after": "2026-01-01T00:00:00Z"}' }];
  }
  const errors: { path: string; message: string }[] = [];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) errors.push({ path, message: `needs at least one of ${RANGE_KEYS.join(', ')}` });
  for (const [k, v] of entries) {
    if (k === 'within' || k === 'olderThan') {
      if (parseDuration(v) === null) errors.push({ path: `${path}/${k}`, message: 'must be a duration like "30d", "12h" or "2w" (at most 10 years)' });
    } else if (k === 'after' || k === 'before') {
      if (parseInstant(v) === null) errors.push({ path: `${path}/${k}`, message: 'must be an ISO 8601 time with a zone, e.g. "2026-01-01T00:00:00Z"' });
    } else {
      errors.push({ path: `${path}/${k}`, message: `is not a known field (expected ${RANGE_KEYS.join(', ')})` });
    }
  }
  return errors;
}

/** Turns a checked window into millisecond bounds at `now`. */
export function resolveDateRange(range: DateRange, now: number): ResolvedRange {
  const froms: number[] = [];
  const tos: number[] = [];
  if (range.within !== undefined) froms.push(now - parseDuration(range.within)!);
  if (range.after !== undefined) froms.push(parseInstant(range.after)!);
  if (range.olderThan !== undefined) tos.push(now - parseDuration(range.olderThan)!);
  if (range.before !== undefined) tos.push(parseInstant(range.before)!);
  return { from: froms.length ? Math.max(...froms) : undefined, to: tos.length ? Math.min(...tos) : undefined };
}

/** True when the window moves with the clock (a member can leave without any data changing). */
export function isRelativeRange(range: DateRange): boolean {
  return range.within !== undefined || range.olderThan !== undefined;
}
