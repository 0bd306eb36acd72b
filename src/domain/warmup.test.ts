import { describe, expect, it } from 'vitest';
import { DEFAULT_WARMUP_PLAN, parseWarmupPlan, warmupCapFor } from './warmup.ts';

const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

describe('warmupCapFor', () => {
  const started = at('2026-03-02T15:00:00Z');

  it('follows the brief’s four weeks by default: 200, 800, 2,500 a day, then no cap', () => {
    const caps = Array.from({ length: 23 }, (_, day) => warmupCapFor(DEFAULT_WARMUP_PLAN, started, started + day * DAY)?.cap ?? null);
    expect(caps).toEqual([...Array(7).fill(200), ...Array(7).fill(800), ...Array(7).fill(2_500), null, null]);
  });

  it('counts calendar days: the first is the day the warm-up started, whatever the hour', () => {
    const late = at('2026-03-02T23:30:00Z');
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, late, late)).toEqual({
      cap: 200,
      step: 0,
      dayIndex: 0,
      dayKey: '2026-03-02',
      dayEndsAt: at('2026-03-03T00:00:00Z'),
    });
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, late, at('2026-03-03T00:00:00Z'))).toMatchObject({ dayIndex: 1, dayKey: '2026-03-03' });
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, late, at('2026-03-09T00:00:00Z'))).toMatchObject({ cap: 800, step: 1, dayIndex: 7 });
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, late, at('2026-03-22T23:59:59.999Z'))).toMatchObject({ cap: 2_500, dayIndex: 20 });
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, late, at('2026-03-23T00:00:00Z'))).toBeNull();
  });

  it('applies the first day’s cap before the warm-up has started', () => {
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, started, started - 3 * DAY)).toMatchObject({ cap: 200, dayIndex: 0, dayKey: '2026-02-27' });
  });

  it('follows the days of a time zone, daylight saving included', () => {
    // 23:30 UTC on 2 March is already 3 March in Berlin.
    const s = at('2026-03-02T23:30:00Z');
    expect(warmupCapFor(DEFAULT_WARMUP_PLAN, s, s, 'Europe/Berlin')).toMatchObject({ dayIndex: 0, dayKey: '2026-03-03', dayEndsAt: at('2026-03-03T23:00:00Z') });
    // 29 March 2026 in Berlin has 23 hours (02:00 → 03:00): it ends at 22:00 UTC, not 23:00.
    expect(warmupCapFor([{ days: 30, perDay: 100 }], s, at('2026-03-29T10:00:00Z'), 'Europe/Berlin')).toMatchObject({
      dayIndex: 26,
      dayKey: '2026-03-29',
      dayEndsAt: at('2026-03-29T22:00:00Z'),
    });
  });

  it('finds the start of a day whose midnight does not exist (Chile moves clocks at 24:00)', () => {
    const plan = [{ days: 365, perDay: 10 }];
    const day = warmupCapFor(plan, at('2026-01-01T12:00:00Z'), at('2026-09-05T20:00:00Z'), 'America/Santiago');
    // 6 September starts at 01:00 local (UTC−3), 04:00 UTC: 00:00 was skipped.
    expect(day).toMatchObject({ dayKey: '2026-09-05', dayEndsAt: at('2026-09-06T04:00:00Z') });
    expect(warmupCapFor(plan, at('2026-01-01T12:00:00Z'), day!.dayEndsAt, 'America/Santiago')).toMatchObject({ dayKey: '2026-09-06' });
    expect(warmupCapFor(plan, at('2026-01-01T12:00:00Z'), day!.dayEndsAt - 1, 'America/Santiago')).toMatchObject({ dayKey: '2026-09-05' });
  });

  it('ends each day exactly where the next begins, in many zones over a year', () => {
    const plan = [{ days: 400, perDay: 1 }];
    const from = at('2026-01-01T00:00:00Z');
    for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago', 'Asia/Tehran']) {
      let t = from;
      let previous: string | null = null;
      for (let i = 0; i < 370; i++) {
        const d = warmupCapFor(plan, from, t, zone)!;
        expect(d.dayEndsAt).toBeGreaterThan(t);
        expect(warmupCapFor(plan, from, d.dayEndsAt - 1, zone)!.dayKey).toBe(d.dayKey);
        if (previous !== null) expect(d.dayKey > previous).toBe(true);
        previous = d.dayKey;
        t = d.dayEndsAt;
      }
    }
  });

  it('rejects an unknown time zone naming the field', () => {
    expect(() => warmupCapFor(DEFAULT_WARMUP_PLAN, started, started, 'Mars/Olympus')).toThrow(/timeZone: unknown time zone "Mars\/Olympus"/);
  });
});

describe('parseWarmupPlan', () => {
  it('accepts an edited plan', () => {
    const plan = parseWarmupPlan([{ days: 3, perDay: 50 }, { days: 30, perDay: 100_000 }]);
    expect(plan).toEqual([{ days: 3, perDay: 50 }, { days: 30, perDay: 100_000 }]);
    expect(warmupCapFor(plan, 0, 3 * DAY)).toMatchObject({ cap: 100_000, step: 1 });
    expect(warmupCapFor(plan, 0, 33 * DAY)).toBeNull();
  });

  it('names every bad field', () => {
    let err: unknown;
    try {
      parseWarmupPlan([{ days: 7, perDay: 200 }, { days: 0, perDay: 1.5 }, 'x', { days: 7, perDay: 10, hourly: 5 }]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'validation_failed' });
    expect((err as { details: { field: string }[] }).details.map((d) => d.field)).toEqual(['warmup/1/days', 'warmup/1/perDay', 'warmup/2', 'warmup/3/hourly']);
    expect((err as Error).message).toMatch(/warmup\/1\/days must be a whole number of days from 1 to 365/);
  });

  it('rejects what is not a list of steps', () => {
    expect(() => parseWarmupPlan({ days: 7 })).toThrow(/warmup: must be a list of steps/);
    expect(() => parseWarmupPlan([])).toThrow(/warmup: must have 1 to 100 steps/);
  });
});
