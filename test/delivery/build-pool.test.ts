import { describe, expect, it } from 'vitest';
import { BuildThreadError, type BuildJob } from '../../src/services/message-builder.ts';
import { createBuildPool } from '../../src/workers/build-pool.ts';

const job = (n: number): BuildJob => ({
  ref: `ref${n}abcdefgh`,
  now: Date.parse('2026-11-27T10:00:00Z'),
  store: { name: 'Shop', url: 'https://shop.example', address: '1 Main St', logoUrl: null, supportEmail: null, defaultLocale: 'en', defaultCurrency: 'USD', defaultTimezone: 'UTC', sendingDomain: 'shop.example', bounceDomain: 'b.shop.example', feedbackSenderId: 'shop' },
  template: { key: 't', kind: 'transactional', topicKey: null, trackOpens: false, trackClicks: false, utm: null },
  variant: { cacheKey: 'v:1', locale: 'en', fromName: 'Shop', fromEmail: 'orders@shop.example', replyTo: null, subject: 'Order {{ n }}', preheader: '', html: '<html><body><p>Order {{ n }}</p>{{ __pixel }}</body></html>', text: null },
  recipient: { contactId: 1, email: 'ana@example.com', contact: {}, format: { locale: 'en', currency: 'USD', timezone: 'UTC' } },
  context: { n },
  streamId: 'tx',
  withBodies: true,
});

describe('build pool', () => {
  it('builds in a thread, fails only the jobs of a thread that dies, and replaces the thread', async () => {
    const pool = await createBuildPool({ threads: 1, secret: Buffer.alloc(32, 3), publicUrl: 'https://mail.shop.example', keys: [] });
    try {
      const first = await pool.build(job(1));
      expect(first.parts.subject).toBe('Order 1');
      expect(first.raw.toString()).toContain('Order 1');
      // A job long enough (a big Liquid loop) to be surely under way when its thread dies.
      const slow = job(2);
      const inFlight = pool.build({ ...slow, variant: { ...slow.variant, cacheKey: 'v:slow', html: '<p>{% for i in (1..300000) %}{{ i }}{% endfor %}</p>' } });
      await new Promise((r) => setTimeout(r, 20));
      await pool.terminateThreadForTest(0);
      await expect(inFlight).rejects.toBeInstanceOf(BuildThreadError);
      // The replacement thread has never seen the variant: the pool sends it in full again.
      const after = await pool.build(job(3));
      expect(after.parts.subject).toBe('Order 3');
    } finally {
      await pool.close();
    }
  }, 60_000);
});
