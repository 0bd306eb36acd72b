import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { createMemorySendLimiter } from '../adapters/limiter/memory.ts';
import type { TransportDefinition } from '../domain/transports.ts';
import { ManualClock } from '../lib/clock.ts';
import { BreakerBoard } from './breakers.ts';
import type { ServiceContext } from './context.ts';
import { createSendGate } from './send-gate.ts';

const def = (settings: Record<string, unknown>, extra: Partial<TransportDefinition> = {}): TransportDefinition => ({
  name: 'mx', kind: 'smtp', settings: { host: 'x', ...settings }, secrets: {}, maxPerSecond: null, maxConnections: null, warmup: null, warmupStartedAt: null, enabled: true, ...extra,
});

function gate() {
  const clock = new ManualClock('2026-11-27T10:00:00Z');
  const ctx = { clock, logger: pino({ level: 'silent' }) } as unknown as ServiceContext;
  return { clock, gate: createSendGate({ limiter: createMemorySendLimiter(), breakers: new BreakerBoard(ctx), owner: 'w1', clock }) };
}
const msg = (recipientDomain: string) => ({ stream: 'transactional' as const, recipientDomain, campaignId: null });

describe('send gate', () => {
  it("keeps a domain group's rate and halves it after a throttling reply", async () => {
    const { clock, gate: g } = gate();
    const t = def({ domainLimits: { gmail: { perSecond: 2, burst: 2, concurrency: 10 } } });
    const now = clock.now();
    const a = await g.admit(t, msg('gmail.com'), now);
    const b = await g.admit(t, msg('googlemail.com'), now);
    expect(a.ok && b.ok).toBe(true);
    const c = await g.admit(t, msg('gmail.com'), now);
    expect(c).toMatchObject({ ok: false, retryAt: now + 500 });
    // Other groups have buckets of their own.
    expect((await g.admit(t, msg('example.org'), now)).ok).toBe(true);
    if (a.ok) a.done({ status: 'deferred', response: '421 4.7.0 Try again later', code: 421, enhanced: '4.7.0' });
    if (b.ok) b.done({ status: 'sent', providerMessageId: null, response: '250 ok' });
    // At 2/s, half a second would have refilled a token; halved to 1/s it refilled half of one.
    const d = await g.admit(t, msg('gmail.com'), now + 500);
    expect(d).toMatchObject({ ok: false, retryAt: now + 1000 });
  });

  it("limits concurrent sends per transport and per group, freeing a slot when a send is done", async () => {
    const { clock, gate: g } = gate();
    const t = def({ domainLimits: false }, { maxConnections: 1 });
    const first = await g.admit(t, msg('example.com'), clock.now());
    expect(first.ok).toBe(true);
    expect(await g.admit(t, msg('example.com'), clock.now())).toMatchObject({ ok: false, reason: 'all connections of mx busy' });
    if (first.ok) first.done({ status: 'sent', providerMessageId: null, response: '250' });
    await new Promise((r) => setTimeout(r, 0));
    expect((await g.admit(t, msg('example.com'), clock.now())).ok).toBe(true);
  });

  it("applies a transport's messages per second and leaves ESPs and capture free of domain-group limits", async () => {
    const { clock, gate: g } = gate();
    const ses: TransportDefinition = { ...def({}), kind: 'ses', maxPerSecond: 1 };
    const now = clock.now();
    expect((await g.admit(ses, msg('gmail.com'), now)).ok).toBe(true);
    expect(await g.admit(ses, msg('yahoo.com'), now)).toMatchObject({ ok: false, retryAt: now + 1000 });
    for (let i = 0; i < 50; i++) expect((await g.admit(null, msg('gmail.com'), now)).ok).toBe(true);
  });
});

describe('send gates of several workers', () => {
  it('slow down together when one of them gets a throttling reply', async () => {
    const clock = new ManualClock('2026-11-27T10:00:00Z');
    const ctx = { clock, logger: pino({ level: 'silent' }) } as unknown as ServiceContext;
    const limiter = createMemorySendLimiter();
    const [a, b] = ['w1', 'w2'].map((owner) => createSendGate({ limiter, breakers: new BreakerBoard(ctx), owner, clock }));
    const t = def({ domainLimits: { gmail: { perSecond: 2, burst: 2, concurrency: 10 } } });
    const now = clock.now();
    const first = await a!.admit(t, msg('gmail.com'), now);
    const second = await b!.admit(t, msg('gmail.com'), now);
    expect(first.ok && second.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 10)); // subscriptions are live
    if (first.ok) first.done({ status: 'deferred', response: '421 4.7.0 slow down', code: 421, enhanced: '4.7.0' });
    await new Promise((r) => setTimeout(r, 10));
    // Worker b never saw a 421 itself, yet at 2/s half a second would refill a token; at 1/s it does not.
    expect(await b!.admit(t, msg('gmail.com'), now + 500)).toMatchObject({ ok: false, retryAt: now + 1000 });
    await limiter.close();
  });
});
