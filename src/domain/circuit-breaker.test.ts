import { describe, expect, it } from 'vitest';
import { DEFAULT_BREAKER_CONFIG as config, breakerWindowStart, judgeBreaker, parseBreakerConfig } from './circuit-breaker.ts';

const NOW = Date.parse('2026-03-02T12:00:00Z');
const HOUR = 3_600_000;
const judge = (sent: number, hardBounces: number, complaints: number, resumedAt?: number) =>
  judgeBreaker({ sent, hardBounces, complaints }, config, { now: NOW, resumedAt });

describe('judgeBreaker', () => {
  it('stays normal within the thresholds, with the figures in the reason', () => {
    expect(judge(10_000, 200, 10)).toEqual({
      state: 'normal',
      rateFactor: 1,
      reason: 'hard bounces 200 of 10,000 sent (2.00%), complaints 10 of 10,000 sent (0.100%) in the last 24 h: within limits',
      bounceRate: 0.02,
      complaintRate: 0.001,
    });
  });

  it('slows down above 2% hard bounces or 0.1% complaints', () => {
    expect(judge(10_000, 201, 0)).toMatchObject({
      state: 'slowed',
      rateFactor: 0.5,
      reason: 'slowed: hard bounces 201 of 10,000 sent (2.01%) above the slow-down threshold of 2% in the last 24 h',
    });
    expect(judge(10_000, 0, 11)).toMatchObject({ state: 'slowed', reason: expect.stringContaining('complaints 11 of 10,000 sent (0.110%) above the slow-down threshold of 0.1%') });
  });

  it('pauses above 5% hard bounces or 0.3% complaints, whichever trips, naming each', () => {
    expect(judge(1_000, 51, 0)).toMatchObject({ state: 'paused', rateFactor: 0, reason: 'paused: hard bounces 51 of 1,000 sent (5.10%) above the pause threshold of 5% in the last 24 h' });
    expect(judge(1_000, 0, 4)).toMatchObject({ state: 'paused', reason: expect.stringContaining('complaints 4 of 1,000 sent (0.400%) above the pause threshold of 0.3%') });
    const both = judge(1_000, 30, 4);
    expect(both.state).toBe('paused');
    expect(both.reason).toBe(
      'paused: hard bounces 30 of 1,000 sent (3.00%) above the slow-down threshold of 2%; complaints 4 of 1,000 sent (0.400%) above the pause threshold of 0.3% in the last 24 h',
    );
  });

  it('does not judge a sample that is too small', () => {
    expect(judge(3, 1, 0)).toMatchObject({ state: 'normal', reason: '3 sent in the last 24 h: too few to judge (at least 100 needed)' });
    expect(judge(99, 50, 50).state).toBe('normal');
  });

  it('does not act on a single event', () => {
    expect(judge(100, 1, 1).state).toBe('normal');
    expect(judge(100, 0, 2).state).toBe('paused');
    expect(judge(100, 3, 0).state).toBe('slowed');
  });

  it('after an operator’s resume, counts only from the resume, and says so', () => {
    const resumedAt = NOW - 2 * HOUR;
    expect(breakerWindowStart(NOW, config, resumedAt)).toBe(resumedAt);
    expect(breakerWindowStart(NOW, config, NOW - 48 * HOUR)).toBe(NOW - 24 * HOUR);
    expect(breakerWindowStart(NOW, config)).toBe(NOW - 24 * HOUR);
    expect(judge(40, 10, 0, resumedAt)).toMatchObject({ state: 'normal', reason: '40 sent since the resume at 2026-03-02 10:00 UTC: too few to judge (at least 100 needed)' });
    expect(judge(200, 11, 0, resumedAt)).toMatchObject({ state: 'paused', reason: expect.stringMatching(/since the resume at 2026-03-02 10:00 UTC$/) });
  });

  it('uses configured thresholds and window', () => {
    const strict = parseBreakerConfig({ slowBounceRate: 0.01, pauseBounceRate: 0.01, windowMs: 6 * HOUR, minSent: 10 });
    expect(judgeBreaker({ sent: 10, hardBounces: 2, complaints: 0 }, strict, { now: NOW })).toMatchObject({ state: 'paused', reason: expect.stringContaining('in the last 6 h') });
    expect(breakerWindowStart(NOW, strict)).toBe(NOW - 6 * HOUR);
  });
});

describe('parseBreakerConfig', () => {
  it('returns the defaults for nothing', () => {
    expect(parseBreakerConfig(undefined)).toEqual(config);
  });

  it('names bad fields, and a pause threshold below its slow-down threshold', () => {
    expect(() => parseBreakerConfig({ slowBounceRate: 2, window: 1 })).toThrow(/circuitBreaker\/slowBounceRate must be a fraction from 0 to 1.*circuitBreaker\/window unknown setting/);
    expect(() => parseBreakerConfig({ slowComplaintRate: 0.005 })).toThrow(/circuitBreaker\/pauseComplaintRate must be at least slowComplaintRate \(0.005\)/);
    expect(() => parseBreakerConfig({ windowMs: 1_000 })).toThrow(/windowMs must be a whole number of milliseconds from 1 minute to 30 days/);
  });
});
