import type { Clock } from './clock.ts';

/** The rate-limiter port: may `key` do one more thing now? (Redis-backed when several nodes share limits.) */
export interface RateLimiter {
  take(key: string): boolean;
}

/**
 * A fixed-window counter per key, in memory: `limit` actions per `windowMs`. Good for one node;
 * old windows are dropped as new ones start, so memory stays bounded by the active keys.
 */
export function createMemoryRateLimiter(clock: Clock, limit: number, windowMs: number): RateLimiter {
  let window = -1;
  let counts = new Map<string, number>();
  return {
    take(key: string): boolean {
      const w = Math.floor(clock.now() / windowMs);
      if (w !== window) {
        window = w;
        counts = new Map();
      }
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return n <= limit;
    },
  };
}

/** What a token bucket said: go, or how long until it has a token again. */
export type BucketTake = { ok: true } | { ok: false; retryInMs: number };

/** A token bucket per key: may `key` do one more thing now, and if not, when? */
export interface TokenBucketLimiter {
  take(key: string): BucketTake;
}

/**
 * A token bucket per key, in memory: `perSecond` tokens a second, at most `burst` saved, so a client
 * may send a burst and then keep a steady rate. When a bucket is empty it says how long until the
 * next token (a Retry-After). Buckets that have refilled are dropped once there are many, so memory
 * stays bounded by the keys active in the last few seconds.
 */
export function createMemoryTokenBuckets(clock: Clock, rate: { perSecond: number; burst: number }): TokenBucketLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (b: { tokens: number; at: number }, now: number) => Math.min(rate.burst, b.tokens + (Math.max(0, now - b.at) * rate.perSecond) / 1000);
  return {
    take(key: string): BucketTake {
      const now = clock.now();
      const b = buckets.get(key);
      const tokens = b ? level(b, now) : rate.burst;
      if (!b && buckets.size >= 10_000) {
        for (const [k, v] of buckets) if (level(v, now) >= rate.burst) buckets.delete(k);
      }
      if (tokens >= 1) {
        buckets.set(key, { tokens: tokens - 1, at: now });
        return { ok: true };
      }
      buckets.set(key, { tokens, at: now });
      return { ok: false, retryInMs: Math.ceil(((1 - tokens) * 1000) / rate.perSecond) };
    },
  };
}
