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
