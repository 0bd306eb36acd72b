import { AppError, invalid, type ErrorDetail } from '../lib/errors.ts';

/**
 * Warm-up plans: how many messages a new IP or transport may send a day while receivers learn to
 * trust it. A plan is a list of steps, each a number of days at a daily cap; after the last step
 * there is no cap. Days are calendar days in the plan's time zone, the first being the day the
 * warm-up started (a full day's cap, whatever the hour). The delivery service counts each day's sends
 * with the limiter's `countIfBelow(<key>:<dayKey>, cap, dayEndsAt, now)`; what exceeds the cap waits
 * until `dayEndsAt`. Transactional mail is never held by a marketing transport's warm-up cap.
 */

/** One step of a plan: `days` calendar days of at most `perDay` messages each. */
export interface WarmupStep {
  days: number;
  perDay: number;
}

/** The steps in order; after the last, sending is no longer capped. */
export type WarmupPlan = readonly WarmupStep[];

/** The brief's four weeks: 200 a day, then 800, then 2,500, then normal volume from day 22. */
export const DEFAULT_WARMUP_PLAN: WarmupPlan = [
  { days: 7, perDay: 200 },
  { days: 7, perDay: 800 },
  { days: 7, perDay: 2_500 },
];

const MAX_STEPS = 100;
const MAX_STEP_DAYS = 365;
const MAX_PER_DAY = 10_000_000;

/** Validates a plan from config or the API; throws one error naming every bad field (`warmup/1/perDay`). */
export function parseWarmupPlan(input: unknown, field = 'warmup'): WarmupPlan {
  if (!Array.isArray(input)) throw invalid(field, 'must be a list of steps such as [{ "days": 7, "perDay": 200 }]');
  if (input.length === 0 || input.length > MAX_STEPS) throw invalid(field, `must have 1 to ${MAX_STEPS} steps`);
  const details: ErrorDetail[] = [];
  const steps: WarmupStep[] = [];
  input.forEach((raw: unknown, i) => {
    const at = `${field}/${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      details.push({ field: at, message: 'must be an object with days and perDay' });
      return;
    }
    const step = raw as Record<string, unknown>;
    for (const name of Object.keys(step)) {
      if (name !== 'days' && name !== 'perDay') details.push({ field: `${at}/${name}`, message: 'unknown field; a step has only days and perDay' });
    }
    const { days, perDay } = step;
    if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > MAX_STEP_DAYS) {
      details.push({ field: `${at}/days`, message: `must be a whole number of days from 1 to ${MAX_STEP_DAYS}` });
    }
    if (!Number.isInteger(perDay) || (perDay as number) < 1 || (perDay as number) > MAX_PER_DAY) {
      details.push({ field: `${at}/perDay`, message: `must be a whole number of messages from 1 to ${MAX_PER_DAY.toLocaleString('en')}` });
    }
    steps.push({ days: days as number, perDay: perDay as number });
  });
  if (details.length > 0) {
    throw new AppError('validation_failed', `invalid warm-up plan: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
  }
  return steps;
}

/** The cap of one warm-up day. */
export interface WarmupDay {
  /** The most messages this day. */
  cap: number;
  /** Which step of the plan (0-based) and which day of the warm-up (0 = the day it started). */
  step: number;
  dayIndex: number;
  /** The local date, `YYYY-MM-DD`: put it in the counter's key so each day counts afresh. */
  dayKey: string;
  /** When this day ends (ms since the epoch): what exceeds the cap waits until then. */
  dayEndsAt: number;
}

/**
 * The cap for the day containing `now`, for a warm-up that started at `startedAt`, or null once the
 * plan is over. Before `startedAt` the first day's cap applies (an early send is still a cold one).
 * `timeZone` is an IANA name (default UTC); days follow its midnights, daylight saving included.
 */
export function warmupCapFor(plan: WarmupPlan, startedAt: number, now: number, timeZone = 'UTC'): WarmupDay | null {
  const zone = localCalendar(timeZone);
  const today = zone.dayNumber(now);
  const dayIndex = Math.max(0, today - zone.dayNumber(startedAt));
  let first = 0;
  for (const [step, s] of plan.entries()) {
    if (dayIndex < first + s.days) {
      return { cap: s.perDay, step, dayIndex, dayKey: dayKeyOf(today), dayEndsAt: zone.startOfDay(today + 1) };
    }
    first += s.days;
  }
  return null;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of a day number (days since 1970-01-01). */
function dayKeyOf(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

interface LocalCalendar {
  /** The local date of an instant, as days since 1970-01-01. */
  dayNumber(t: number): number;
  /** The first instant of a local date (local midnight, or later where a DST change skips midnight). */
  startOfDay(dayNumber: number): number;
}

// Formatters are costly to build and a worker asks for the same few zones all day: keep them,
// and the day starts already found (a bounded memo, not shared state: the answers never change).
const calendars = new Map<string, LocalCalendar>();

function localCalendar(timeZone: string): LocalCalendar {
  let cal = calendars.get(timeZone);
  if (cal) return cal;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw invalid('timeZone', `unknown time zone "${String(timeZone).slice(0, 64)}"; use an IANA name such as Europe/Berlin`);
  }
  /** The instant's local wall-clock time, read as if it were UTC (ms, whole seconds). */
  const wallClock = (t: number): number => {
    const p: Record<string, number> = {};
    for (const part of format.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  };
  const dayNumber = (t: number): number => Math.floor(wallClock(t) / DAY_MS);
  const starts = new Map<number, number>();
  const startOfDay = (day: number): number => {
    const known = starts.get(day);
    if (known !== undefined) return known;
    // Local midnight is UTC midnight minus the offset then; two rounds settle the offset.
    const utcMidnight = day * DAY_MS;
    let t = utcMidnight - (wallClock(utcMidnight) - Math.floor(utcMidnight / 1000) * 1000);
    t = utcMidnight - (wallClock(t) - Math.floor(t / 1000) * 1000);
    if (!(dayNumber(t) >= day && dayNumber(t - 1) < day)) {
      // Midnight did not exist that day (a DST change at 00:00): the day starts at the first
      // instant whose local date is `day`. Offsets lie within ±15 h.
      let lo = utcMidnight - 15 * 3_600_000;
      let hi = utcMidnight + 15 * 3_600_000;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (dayNumber(mid) >= day) hi = mid;
        else lo = mid;
      }
      t = hi;
    }
    if (starts.size > 1_000) starts.clear();
    starts.set(day, t);
    return t;
  };
  // Most calls ask about today and the plan's first day: answer those from the days' known bounds,
  // without formatting (about 2 µs a call instead of 20 on this machine).
  const spans: { day: number; from: number; to: number }[] = [];
  const cachedDayNumber = (t: number): number => {
    for (const span of spans) if (t >= span.from && t < span.to) return span.day;
    const day = dayNumber(t);
    if (spans.length >= 4) spans.shift();
    spans.push({ day, from: startOfDay(day), to: startOfDay(day + 1) });
    return day;
  };
  cal = { dayNumber: cachedDayNumber, startOfDay };
  if (calendars.size > 1_000) calendars.clear();
  calendars.set(timeZone, cal);
  return cal;
}
