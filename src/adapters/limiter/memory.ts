import { EventEmitter } from 'node:events';
import type { BucketSpec, CountResult, SendLimiter, TakeResult } from '../../ports/send-limiter.ts';
import { IDLE_MARGIN_MS, checkBuckets, checkCount, checkName, checkSlot, checkTime } from './checks.ts';

// The send limiter of a single node: the same rules as the Redis adapter (the same arithmetic, in
// the same order, so both give the same answers to the contract tests), kept in Maps. JavaScript
// runs one call at a time, so each method is atomic as it stands.

interface Bucket {
  tokens: number;
  at: number;
  /** When the bucket would be full again at its last rate: after that it can be forgotten. */
  idleAfter: number;
}

interface Counter {
  n: number;
  expiresAt: number;
}

/** Entries are swept every this many calls, so forgotten keys (yesterday's counters) don't pile up. */
const SWEEP_EVERY = 1_000;
const EPSILON = 1e-9;

/** A send limiter for one process; `close()` drops every listener. */
export function createMemorySendLimiter(): SendLimiter {
  const buckets = new Map<string, Bucket>();
  // key → holder → lease end
  const slots = new Map<string, Map<string, number>>();
  const counters = new Map<string, Counter>();
  const wakes = new EventEmitter();
  wakes.setMaxListeners(0);
  let calls = 0;
  let closed = false;

  const sweep = (now: number): void => {
    if (++calls % SWEEP_EVERY !== 0) return;
    for (const [k, b] of buckets) if (now >= b.idleAfter) buckets.delete(k);
    for (const [k, held] of slots) {
      for (const [h, until] of held) if (until <= now) held.delete(h);
      if (held.size === 0) slots.delete(k);
    }
    for (const [k, c] of counters) if (now >= c.expiresAt + IDLE_MARGIN_MS) counters.delete(k);
  };
  const open = (): void => {
    if (closed) throw new Error('the send limiter is closed');
  };

  return {
    async take(specs: readonly BucketSpec[], now: number): Promise<TakeResult> {
      open();
      checkBuckets(specs);
      checkTime('now', now);
      sweep(now);
      const current = specs.map((spec) => refill(buckets.get(spec.key), spec, now));
      let wait = 0;
      for (const [i, b] of current.entries()) {
        // The same float tolerance as the Lua script (see redis-scripts.ts).
        if (b.tokens < 1 - EPSILON) wait = Math.max(wait, 1, Math.ceil(((1 - b.tokens) * 1000) / specs[i]!.perSecond - EPSILON));
      }
      for (const [i, b] of current.entries()) {
        const spec = specs[i]!;
        const tokens = wait === 0 ? b.tokens - 1 : b.tokens;
        buckets.set(spec.key, { tokens, at: b.at, idleAfter: now + Math.ceil(((spec.burst - tokens) * 1000) / spec.perSecond) + IDLE_MARGIN_MS });
      }
      return wait === 0 ? { ok: true } : { ok: false, retryInMs: wait };
    },

    async acquireSlot(key, max, holder, leaseMs, now) {
      open();
      checkSlot(key, max, holder, leaseMs, now);
      sweep(now);
      let held = slots.get(key);
      if (!held) slots.set(key, (held = new Map()));
      for (const [h, until] of held) if (until <= now) held.delete(h);
      if (!held.has(holder) && held.size >= max) return false;
      held.set(holder, now + leaseMs);
      return true;
    },

    async releaseSlot(key, holder) {
      open();
      checkName('key', key);
      checkName('holder', holder);
      return slots.get(key)?.delete(holder) ?? false;
    },

    async countIfBelow(key, cap, expiresAt, now): Promise<CountResult> {
      open();
      checkCount(key, cap, expiresAt, now);
      sweep(now);
      const saved = counters.get(key);
      const n = saved && now < saved.expiresAt ? saved.n : 0;
      if (n >= cap) return { ok: false, used: n };
      counters.set(key, { n: n + 1, expiresAt });
      return { ok: true, used: n + 1 };
    },

    async uncount(key) {
      open();
      checkName('key', key);
      const saved = counters.get(key);
      if (saved && saved.n > 0) saved.n -= 1;
    },

    async wake(channel) {
      open();
      checkName('channel', channel);
      // Listeners run after the caller's current work (e.g. the transaction that queued the
      // message), as they would when the wake comes back from Redis.
      queueMicrotask(() => wakes.emit(channel));
    },

    async onWake(channel, listener) {
      open();
      checkName('channel', channel);
      const safe = (): void => {
        try {
          listener();
        } catch {
          // A listener's failure is its own; it must not stop the other listeners.
        }
      };
      wakes.on(channel, safe);
      return () => {
        wakes.off(channel, safe);
      };
    },

    async close() {
      closed = true;
      wakes.removeAllListeners();
    },
  };
}

/** A bucket's tokens at `now`: created full, refilled at the rate, never above the burst, never back in time. */
function refill(saved: Bucket | undefined, spec: BucketSpec, now: number): { tokens: number; at: number } {
  let tokens = saved ? saved.tokens : spec.burst;
  let at = saved ? saved.at : now;
  if (now > at) {
    tokens = tokens + ((now - at) * spec.perSecond) / 1000;
    at = now;
  }
  if (tokens > spec.burst) tokens = spec.burst;
  return { tokens, at };
}
