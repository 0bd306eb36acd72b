import { describe, expect, it } from 'vitest';
import { classifyRefusal, DEFAULT_RETRY_POLICY, isThrottling, retryDelayMs } from './messages.ts';

describe('refusals', () => {
  it('classifies by the enhanced status code first (RFC 3463)', () => {
    expect(classifyRefusal(550, '5.1.1')).toBe('hard_bounce');
    expect(classifyRefusal(550, '5.1.10')).toBe('hard_bounce');
    expect(classifyRefusal(550, '5.2.1')).toBe('hard_bounce');
    expect(classifyRefusal(552, '5.2.2')).toBe('soft_bounce');
    expect(classifyRefusal(550, '5.7.1')).toBe('policy_block');
    expect(classifyRefusal(554, '5.7.26')).toBe('policy_block');
    expect(classifyRefusal(550, '5.4.1')).toBe('soft_bounce');
  });
  it('falls back to the basic reply code', () => {
    expect(classifyRefusal(550, undefined)).toBe('hard_bounce');
    expect(classifyRefusal(552, undefined)).toBe('soft_bounce');
    expect(classifyRefusal(554, undefined)).toBe('policy_block');
    expect(classifyRefusal(undefined, undefined)).toBe('soft_bounce');
  });
  it('recognises throttling replies', () => {
    expect(isThrottling({ status: 'deferred', response: '421 4.7.0 Try again later', code: 421, enhanced: '4.7.0' })).toBe(true);
    expect(isThrottling({ status: 'deferred', response: '450 4.7.28 rate limited', code: 450, enhanced: '4.7.28' })).toBe(true);
    expect(isThrottling({ status: 'deferred', response: '451 4.3.0 local error', code: 451, enhanced: '4.3.0' })).toBe(false);
    expect(isThrottling({ status: 'failed', response: '550 5.7.1', code: 550, enhanced: '5.7.1' })).toBe(false);
  });
});

describe('retry delays', () => {
  it('doubles per attempt with jitter between half and all of the step, capped', () => {
    const p = DEFAULT_RETRY_POLICY;
    expect(retryDelayMs(p, 1, undefined, () => 0)).toBe(30_000);
    expect(retryDelayMs(p, 1, undefined, () => 1)).toBe(60_000);
    expect(retryDelayMs(p, 3, undefined, () => 1)).toBe(240_000);
    expect(retryDelayMs(p, 30, undefined, () => 1)).toBe(p.maxDelayMs);
  });
  it('never retries sooner than Retry-After', () => {
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 1, 600_000, () => 0.5)).toBe(600_000);
  });
});
