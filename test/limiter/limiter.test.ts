import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemorySendLimiter } from '../../src/adapters/limiter/memory.ts';
import { createRedisSendLimiter } from '../../src/adapters/limiter/redis.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import type { SendLimiter } from '../../src/ports/send-limiter.ts';
import { TEST_REDIS_URL, deleteKeys, uniqueKeyPrefix } from '../helpers/redis.ts';

// One contract, every adapter: the memory limiter always, the Redis one when CHAPAR_TEST_REDIS is set.
interface Subject {
  limiter: SendLimiter;
  /** A second limiter over the same shared state (another process); the same object in memory. */
  twin: () => Promise<SendLimiter>;
  cleanup: () => Promise<void>;
}

const ADAPTERS: { name: string; open: () => Promise<Subject> }[] = [
  {
    name: 'memory',
    async open() {
      const limiter = createMemorySendLimiter();
      return { limiter, twin: async () => limiter, cleanup: () => limiter.close() };
    },
  },
];
if (TEST_REDIS_URL) {
  const url = TEST_REDIS_URL;
  ADAPTERS.push({
    name: 'redis',
    async open() {
      const keyPrefix = uniqueKeyPrefix();
      const opened: SendLimiter[] = [];
      const make = async () => {
        const l = await createRedisSendLimiter({ url, keyPrefix });
        opened.push(l);
        return l;
      };
      const limiter = await make();
      return {
        limiter,
        twin: make,
        async cleanup() {
          for (const l of opened) await l.close();
          await deleteKeys(url, keyPrefix);
        },
      };
    },
  });
}

/** Resolves on the `n`th call of the returned listener. */
function calls(n = 1): { listener: () => void; count: () => number; reached: Promise<void> } {
  let count = 0;
  let done!: () => void;
  const reached = new Promise<void>((resolve) => (done = resolve));
  return {
    listener: () => {
      if (++count === n) done();
    },
    count: () => count,
    reached,
  };
}

describe.each(ADAPTERS)('send limiter contract: $name', ({ open }) => {
  let subject: Subject;
  let limiter: SendLimiter;
  let clock: ManualClock;
  beforeEach(async () => {
    subject = await open();
    limiter = subject.limiter;
    clock = new ManualClock('2026-03-02T09:00:00Z');
  });
  afterEach(() => subject.cleanup());

  describe('token buckets', () => {
    const gmail = { key: 'rate:smtp:gmail', perSecond: 2, burst: 3 };

    it('start full, allow the burst, then say how long until the next token', async () => {
      for (let i = 0; i < 3; i++) expect(await limiter.take([gmail], clock.now())).toEqual({ ok: true });
      expect(await limiter.take([gmail], clock.now())).toEqual({ ok: false, retryInMs: 500 });
      clock.advance(499);
      expect(await limiter.take([gmail], clock.now())).toEqual({ ok: false, retryInMs: 1 });
      clock.advance(1);
      expect(await limiter.take([gmail], clock.now())).toEqual({ ok: true });
      expect(await limiter.take([gmail], clock.now())).toEqual({ ok: false, retryInMs: 500 });
    });

    it('never save more than the burst however long they stay idle', async () => {
      await limiter.take([gmail], clock.now());
      clock.advance(3_600_000);
      const results = [];
      for (let i = 0; i < 5; i++) results.push((await limiter.take([gmail], clock.now())).ok);
      expect(results).toEqual([true, true, true, false, false]);
    });

    it('take from several buckets all or nothing, waiting for the slowest', async () => {
      const transport = { key: 'rate:smtp', perSecond: 10, burst: 5 };
      const slow = { key: 'rate:smtp:yahoo', perSecond: 1, burst: 1 };
      expect(await limiter.take([transport, slow], clock.now())).toEqual({ ok: true });
      // The yahoo bucket is empty: refused, and the transport's token is not spent.
      expect(await limiter.take([transport, slow], clock.now())).toEqual({ ok: false, retryInMs: 1_000 });
      const left = [];
      for (let i = 0; i < 5; i++) left.push((await limiter.take([transport], clock.now())).ok);
      expect(left).toEqual([true, true, true, true, false]);
    });

    it('apply a changed rate at once (a halved rate refills at half speed)', async () => {
      const full = { key: 'rate:x', perSecond: 10, burst: 1 };
      expect((await limiter.take([full], clock.now())).ok).toBe(true);
      clock.advance(100);
      expect(await limiter.take([{ ...full, perSecond: 5 }], clock.now())).toEqual({ ok: false, retryInMs: 100 });
      clock.advance(100);
      expect(await limiter.take([{ ...full, perSecond: 5 }], clock.now())).toEqual({ ok: true });
    });

    it('do not refill when a caller’s clock is behind, and do not move the stored time back', async () => {
      const b = { key: 'rate:skew', perSecond: 1, burst: 1 };
      expect((await limiter.take([b], clock.now())).ok).toBe(true);
      expect(await limiter.take([b], clock.now() - 5_000)).toEqual({ ok: false, retryInMs: 1_000 });
      clock.advance(999);
      expect(await limiter.take([b], clock.now())).toEqual({ ok: false, retryInMs: 1 });
      clock.advance(1);
      expect((await limiter.take([b], clock.now())).ok).toBe(true);
    });

    it('reject bad rates naming the field', async () => {
      await expect(limiter.take([{ key: 'k', perSecond: 0, burst: 1 }], clock.now())).rejects.toMatchObject({
        code: 'validation_failed',
        details: [{ field: 'buckets/0/perSecond' }],
      });
      await expect(limiter.take([{ key: 'k', perSecond: 1, burst: 0.5 }], clock.now())).rejects.toMatchObject({ details: [{ field: 'buckets/0/burst' }] });
      await expect(limiter.take([gmail, gmail], clock.now())).rejects.toMatchObject({ details: [{ field: 'buckets/1/key' }] });
      await expect(limiter.take([], clock.now())).rejects.toMatchObject({ details: [{ field: 'buckets' }] });
      await expect(limiter.take([gmail], Number.NaN)).rejects.toMatchObject({ details: [{ field: 'now' }] });
    });
  });

  describe('leased slots', () => {
    it('let at most max holders in, and a released slot is free again', async () => {
      const now = clock.now();
      expect(await limiter.acquireSlot('conn:smtp', 2, 'w1:0', 30_000, now)).toBe(true);
      expect(await limiter.acquireSlot('conn:smtp', 2, 'w2:0', 30_000, now)).toBe(true);
      expect(await limiter.acquireSlot('conn:smtp', 2, 'w3:0', 30_000, now)).toBe(false);
      expect(await limiter.releaseSlot('conn:smtp', 'w3:0')).toBe(false);
      expect(await limiter.releaseSlot('conn:smtp', 'w1:0')).toBe(true);
      expect(await limiter.acquireSlot('conn:smtp', 2, 'w3:0', 30_000, now)).toBe(true);
      // Another key has slots of its own.
      expect(await limiter.acquireSlot('conn:smtp:gmail', 1, 'w1:0', 30_000, now)).toBe(true);
    });

    it('renew a holder’s own slot instead of taking a second one', async () => {
      expect(await limiter.acquireSlot('conn', 2, 'a', 10_000, clock.now())).toBe(true);
      clock.advance(9_000);
      expect(await limiter.acquireSlot('conn', 2, 'a', 10_000, clock.now())).toBe(true);
      expect(await limiter.acquireSlot('conn', 2, 'b', 10_000, clock.now())).toBe(true);
      expect(await limiter.acquireSlot('conn', 2, 'c', 10_000, clock.now())).toBe(false);
      // a's first lease would have ended here; its renewal holds.
      clock.advance(2_000);
      expect(await limiter.acquireSlot('conn', 2, 'c', 10_000, clock.now())).toBe(false);
    });

    it('free the slot of a dead holder when its lease ends', async () => {
      expect(await limiter.acquireSlot('conn', 1, 'dead', 30_000, clock.now())).toBe(true);
      clock.advance(29_999);
      expect(await limiter.acquireSlot('conn', 1, 'next', 30_000, clock.now())).toBe(false);
      clock.advance(1);
      expect(await limiter.acquireSlot('conn', 1, 'next', 30_000, clock.now())).toBe(true);
      expect(await limiter.releaseSlot('conn', 'dead')).toBe(false);
    });

    it('reject a max below one', async () => {
      await expect(limiter.acquireSlot('conn', 0, 'a', 1_000, clock.now())).rejects.toMatchObject({ details: [{ field: 'max' }] });
      await expect(limiter.acquireSlot('conn', 1, '', 1_000, clock.now())).rejects.toMatchObject({ details: [{ field: 'holder' }] });
    });
  });

  describe('capped counters', () => {
    const endOfDay = Date.parse('2026-03-03T00:00:00Z');

    it('count up to the cap, then refuse with the count', async () => {
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await limiter.countIfBelow('warmup:ip1:2026-03-02', 3, endOfDay, clock.now()));
      expect(got).toEqual([
        { ok: true, used: 1 },
        { ok: true, used: 2 },
        { ok: true, used: 3 },
        { ok: false, used: 3 },
      ]);
      expect(await limiter.countIfBelow('warmup:ip1:2026-03-02', 0, endOfDay, clock.now())).toEqual({ ok: false, used: 3 });
    });

    it('take one back with uncount, never below zero', async () => {
      const key = 'warmup:ip1:2026-03-02';
      await limiter.countIfBelow(key, 2, endOfDay, clock.now());
      await limiter.countIfBelow(key, 2, endOfDay, clock.now());
      await limiter.uncount(key);
      expect(await limiter.countIfBelow(key, 2, endOfDay, clock.now())).toEqual({ ok: true, used: 2 });
      await limiter.uncount(key);
      await limiter.uncount(key);
      await limiter.uncount(key);
      expect(await limiter.countIfBelow(key, 2, endOfDay, clock.now())).toEqual({ ok: true, used: 1 });
      await limiter.uncount('never-counted');
      expect(await limiter.countIfBelow('never-counted', 1, endOfDay, clock.now())).toEqual({ ok: true, used: 1 });
    });

    it('count from zero again once the counter has expired', async () => {
      const key = 'warmup:ip1';
      await limiter.countIfBelow(key, 1, endOfDay, clock.now());
      clock.set(endOfDay - 1);
      expect(await limiter.countIfBelow(key, 1, endOfDay, clock.now())).toEqual({ ok: false, used: 1 });
      clock.set(endOfDay);
      expect(await limiter.countIfBelow(key, 1, endOfDay + 86_400_000, clock.now())).toEqual({ ok: true, used: 1 });
    });

    it('reject an expiry that is not in the future and a negative cap', async () => {
      await expect(limiter.countIfBelow('k', 1, clock.now(), clock.now())).rejects.toMatchObject({ details: [{ field: 'expiresAt' }] });
      await expect(limiter.countIfBelow('k', -1, endOfDay, clock.now())).rejects.toMatchObject({ details: [{ field: 'cap' }] });
    });
  });

  describe('wake-ups', () => {
    it('call each listener of the channel, and stop calling one that stopped listening', async () => {
      const first = calls(1);
      const second = calls(2);
      const stopFirst = await limiter.onWake('outbox', first.listener);
      const stopSecond = await limiter.onWake('outbox', second.listener);
      await limiter.wake('outbox');
      await first.reached;
      stopFirst();
      await limiter.wake('outbox');
      await second.reached;
      expect(first.count()).toBe(1);
      stopSecond();
    });

    it('keep channels apart', async () => {
      const a = calls(1);
      const b = calls(1);
      await limiter.onWake('a', a.listener);
      await limiter.onWake('b', b.listener);
      await limiter.wake('a');
      await limiter.wake('b');
      await Promise.all([a.reached, b.reached]);
      expect([a.count(), b.count()]).toEqual([1, 1]);
    });

    it('reach a listener of another limiter on the same store', async () => {
      const other = await subject.twin();
      const heard = calls(1);
      await other.onWake('outbox', heard.listener);
      await limiter.wake('outbox');
      await heard.reached;
      expect(heard.count()).toBe(1);
    });

    it('survive a listener that throws', async () => {
      const after = calls(1);
      await limiter.onWake('outbox', () => {
        throw new Error('listener bug');
      });
      await limiter.onWake('outbox', after.listener);
      await limiter.wake('outbox');
      await after.reached;
    });
  });

  it('share limits between two limiters on the same store, even with concurrent calls', async () => {
    const other = await subject.twin();
    const both = [limiter, other];
    const now = clock.now();
    const endOfDay = now + 3_600_000;

    // 200 concurrent claims against a daily cap of 50, alternating between the two limiters.
    const counted = await Promise.all(Array.from({ length: 200 }, (_, i) => both[i % 2]!.countIfBelow('warmup:ip1:day', 50, endOfDay, now)));
    expect(counted.filter((r) => r.ok)).toHaveLength(50);
    expect(counted.filter((r) => r.ok).map((r) => r.used).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    // 100 concurrent takes from a bucket of 20 (no time passes: no refill).
    const bucket = { key: 'rate:shared', perSecond: 1, burst: 20 };
    const taken = await Promise.all(Array.from({ length: 100 }, (_, i) => both[i % 2]!.take([bucket], now)));
    expect(taken.filter((r) => r.ok)).toHaveLength(20);

    // 30 holders racing for 4 connections.
    const slots = await Promise.all(Array.from({ length: 30 }, (_, i) => both[i % 2]!.acquireSlot('conn:shared', 4, `h${i}`, 30_000, now)));
    expect(slots.filter(Boolean)).toHaveLength(4);
  });

  it('refuse calls after close', async () => {
    const own = createMemorySendLimiter();
    await own.close();
    await expect(own.take([{ key: 'k', perSecond: 1, burst: 1 }], clock.now())).rejects.toThrow(/closed/);
  });
});

describe.skipIf(!TEST_REDIS_URL)('redis send limiter', () => {
  const url = TEST_REDIS_URL ?? '';

  it('keeps installations with different key prefixes apart', async () => {
    const prefixes = [uniqueKeyPrefix(), uniqueKeyPrefix()];
    const [a, b] = await Promise.all(prefixes.map((keyPrefix) => createRedisSendLimiter({ url, keyPrefix })));
    try {
      const end = Date.parse('2026-03-03T00:00:00Z');
      const now = Date.parse('2026-03-02T09:00:00Z');
      expect(await a!.countIfBelow('warmup', 1, end, now)).toEqual({ ok: true, used: 1 });
      expect(await b!.countIfBelow('warmup', 1, end, now)).toEqual({ ok: true, used: 1 });
    } finally {
      await Promise.all([a!.close(), b!.close()]);
      for (const p of prefixes) await deleteKeys(url, p);
    }
  });

  it('keeps one daily cap and one bucket across two worker processes claiming at once', async () => {
    const keyPrefix = uniqueKeyPrefix();
    const now = Date.parse('2026-03-02T09:00:00Z');
    const workers = [0, 1].map(() =>
      spawn(process.execPath, ['bin/run-ts.js', 'test/limiter/claimer.ts', url, keyPrefix, '1000', '1500', '700', String(now)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    try {
      const lines = workers.map((w) => createInterface({ input: w.stdout! })[Symbol.asyncIterator]());
      for (const l of lines) expect((await l.next()).value).toBe('ready');
      for (const w of workers) w.stdin!.write('go\n');
      const results = await Promise.all(lines.map(async (l) => JSON.parse((await l.next()).value as string) as { counted: number; taken: number }));
      // 2,000 claims against a cap of 1,500 and a bucket of 700: exactly that many, however they split.
      expect(results.reduce((n, r) => n + r.counted, 0)).toBe(1_500);
      expect(results.reduce((n, r) => n + r.taken, 0)).toBe(700);
    } finally {
      for (const w of workers) if (w.exitCode === null) w.kill();
      await deleteKeys(url, keyPrefix);
    }
  });

  it('lets keys it no longer needs expire in Redis', async () => {
    const { Redis } = await import('ioredis');
    const keyPrefix = uniqueKeyPrefix();
    const limiter = await createRedisSendLimiter({ url, keyPrefix });
    const raw = new Redis(url);
    try {
      const now = Date.now();
      await limiter.take([{ key: 'b', perSecond: 10, burst: 10 }], now);
      await limiter.acquireSlot('s', 1, 'h', 5_000, now);
      await limiter.countIfBelow('c', 1, now + 86_400_000, now);
      for (const k of ['bucket:b', 'slots:s', 'count:c']) expect(await raw.pttl(`${keyPrefix}${k}`)).toBeGreaterThan(0);
      // A long lease is not cut short by a short one in the same key.
      await limiter.acquireSlot('s', 2, 'short', 1, now);
      expect(await raw.pttl(`${keyPrefix}slots:s`)).toBeGreaterThan(5_000);
    } finally {
      raw.disconnect();
      await limiter.close();
      await deleteKeys(url, keyPrefix);
    }
  });
});

describe('redis send limiter set-up', () => {
  it('fails at once on an unreachable Redis without echoing the password', async () => {
    const err = await createRedisSendLimiter({ url: 'redis://:s3cret-pw@127.0.0.1:1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'config_invalid' });
    expect(String((err as Error).message)).toMatch(/127\.0\.0\.1:1/);
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain('s3cret-pw');
  });

  it('rejects a URL that is not redis://', async () => {
    await expect(createRedisSendLimiter({ url: 'http://user:pw@host' })).rejects.toMatchObject({ details: [{ field: 'redisUrl' }] });
  });
});
