import { describe, expect, it } from 'vitest';
import { retryAfterMsOf, sendResultOf, type ProviderReading } from '../../src/adapters/transports/http-results.ts';
import { ManualClock } from '../../src/lib/clock.ts';

const clock = new ManualClock('2026-03-02T10:00:00Z');
const reading: ProviderReading = {
  provider: 'esp',
  secrets: ['sk-live-0123456789'],
  messageIdOf: () => 'id-1',
  errorOf: ({ body }) => body || null,
};
const answer = (status: number, body = '', headers: Record<string, string> = {}) => ({ kind: 'answered' as const, status, headers: new Headers(headers), body });

describe('HTTP outcome → SendResult', () => {
  it('maps each class of status once for every ESP', () => {
    expect(sendResultOf(answer(202), reading, clock)).toEqual({ status: 'sent', providerMessageId: 'id-1', response: 'esp: 202 accepted' });
    expect(sendResultOf(answer(422, 'bad subject'), reading, clock)).toEqual({ status: 'failed', code: 422, response: 'esp: 422 bad subject' });
    expect(sendResultOf(answer(502, 'gateway'), reading, clock)).toEqual({ status: 'deferred', code: 502, response: 'esp: 502 gateway' });
    expect(sendResultOf(answer(403, 'nope'), reading, clock)).toMatchObject({ status: 'deferred', code: 403 });
    expect(sendResultOf(answer(301, '', { location: 'https://elsewhere.example/' }), reading, clock)).toMatchObject({ status: 'deferred', code: 301 });
    expect(sendResultOf({ kind: 'unanswered', reason: 'network error ECONNRESET' }, reading, clock)).toEqual({ status: 'deferred', response: 'esp: no answer (network error ECONNRESET)' });
  });

  it('never lets a secret through, even when the provider echoes it', () => {
    const r = sendResultOf(answer(401, 'invalid key sk-live-0123456789 for this account'), reading, clock);
    expect(r.response).toContain('invalid key [redacted] for this account');
    expect(r.response).not.toContain('sk-live-0123456789');
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores junk', () => {
    expect(retryAfterMsOf('120', clock.now())).toBe(120_000);
    expect(retryAfterMsOf('Mon, 02 Mar 2026 10:00:30 GMT', clock.now())).toBe(30_000);
    expect(retryAfterMsOf('Mon, 02 Mar 2026 09:00:00 GMT', clock.now())).toBe(0);
    expect(retryAfterMsOf('soon', clock.now())).toBeUndefined();
    expect(retryAfterMsOf(null, clock.now())).toBeUndefined();
  });
});
