import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THROTTLE_CONFIG as config,
  isThrottleReply,
  onDelivered,
  onThrottled,
  parseThrottleConfig,
  startThrottle,
  throttledRate,
  type ThrottleState,
} from './adaptive-throttle.ts';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const SECOND = 1_000;
const MINUTE = 60_000;

/** `count` successful sends spread evenly over `ms` from `from`. */
function deliverMany(state: ThrottleState, configured: number, from: number, ms: number, count: number): ThrottleState {
  let s = state;
  for (let i = 1; i <= count; i++) s = onDelivered(s, configured, config, from + Math.floor((ms * i) / count));
  return s;
}

describe('isThrottleReply', () => {
  it.each([
    [{ code: 421, enhanced: '4.7.0' }, true],
    [{ code: 421 }, true],
    [{ code: 450, enhanced: '4.7.28' }, true],
    [{ code: 451, enhanced: '4.7.650' }, true],
    [{ code: 452, enhanced: '4.2.2' }, false],
    [{ code: 450, enhanced: '4.2.1' }, false],
    [{ code: 550, enhanced: '5.7.1' }, false],
    [{ code: 451, enhanced: '4.4.2' }, false],
    [{}, false],
  ])('%j → %s', (reply, expected) => {
    expect(isThrottleReply(reply)).toBe(expected);
  });
});

describe('adaptive throttle', () => {
  it('halves the rate on a throttling reply and holds it for the cool-down', () => {
    let s = onThrottled(startThrottle(20, T0), 20, config, T0);
    expect(s.perSecond).toBe(10);
    expect(s.holdUntil).toBe(T0 + config.coolDownMs);
    s = deliverMany(s, 20, T0, config.coolDownMs - 1, 500);
    expect(throttledRate(s, 20)).toBe(10);
  });

  it('does not halve again for replies to messages already on their way, but lengthens the hold', () => {
    let s = onThrottled(startThrottle(20, T0), 20, config, T0);
    s = onThrottled(s, 20, config, T0 + 5 * SECOND);
    expect(s.perSecond).toBe(10);
    expect(s.holdUntil).toBe(T0 + 5 * SECOND + config.coolDownMs);
    s = onThrottled(s, 20, config, T0 + 10 * SECOND);
    expect(s.perSecond).toBe(5);
  });

  it('never goes below the floor', () => {
    let s = startThrottle(20, T0);
    for (let i = 0; i < 20; i++) s = onThrottled(s, 20, config, T0 + i * config.settleMs);
    expect(s.perSecond).toBe(config.minPerSecond);
    // A configured rate below the floor is its own floor.
    expect(onThrottled(startThrottle(0.2, T0), 0.2, config, T0).perSecond).toBe(0.2);
  });

  it('climbs back additively after the hold, one step a minute while sends succeed, up to the configured rate', () => {
    let s = onThrottled(startThrottle(20, T0), 20, config, T0);
    let t = s.holdUntil;
    const rates: number[] = [];
    for (let minute = 1; minute <= 7; minute++) {
      s = deliverMany(s, 20, t, MINUTE, 30);
      t += MINUTE;
      rates.push(s.perSecond);
    }
    expect(rates).toEqual([12, 14, 16, 18, 20, 20, 20]);
  });

  it('earns nothing while idle: an increase needs successes, not only time', () => {
    let s = onThrottled(startThrottle(20, T0), 20, config, T0);
    s = deliverMany(s, 20, s.holdUntil + 10 * MINUTE, 1, config.successesPerStep - 1);
    expect(s.perSecond).toBe(10);
    s = onDelivered(s, 20, config, s.holdUntil + 10 * MINUTE + 2);
    expect(s.perSecond).toBe(12);
  });

  it('follows a lowered configured rate at once', () => {
    const s = startThrottle(20, T0);
    expect(throttledRate(s, 8)).toBe(8);
    expect(onThrottled(s, 8, config, T0).perSecond).toBe(4);
    expect(onDelivered(s, 8, config, T0).perSecond).toBe(8);
  });

  it('keeps its state as plain JSON', () => {
    const s = onThrottled(startThrottle(20, T0), 20, config, T0);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(JSON.parse(JSON.stringify(startThrottle(20, T0)))).toEqual(startThrottle(20, T0));
  });
});

describe('parseThrottleConfig', () => {
  it('takes overrides and names bad fields', () => {
    expect(parseThrottleConfig({ coolDownMs: 0 }).coolDownMs).toBe(0);
    expect(() => parseThrottleConfig({ decreaseFactor: 1.5, nope: 1 })).toThrow(/throttle\/decreaseFactor must be a number between 0 and 1.*throttle\/nope unknown setting/);
  });
});
