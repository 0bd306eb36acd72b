/**
 * The send limiter port: the shared state that keeps every delivery worker, in every process on every
 * machine, inside one set of limits. Four small capabilities, each its own interface so a service can
 * ask for only what it uses; one adapter implements them all (adapters/limiter/memory.ts for a single
 * node, adapters/limiter/redis.ts when several processes share one Redis).
 *
 * Time: every method that decides by time takes `now` (ms since the epoch, from the injected Clock)
 * instead of reading a clock of its own. Tests move a ManualClock and both adapters behave the same.
 * The Redis adapter does its arithmetic in Lua with the caller's `now` and never moves a stored time
 * backwards, so a worker whose clock lags only refills less; one that runs ahead by δ ms can at most
 * refill δ·rate tokens early once, capped by the burst. With NTP-synced hosts (δ of a few ms) that is
 * far below one message. Redis's own TIME would remove even that, but would make the two adapters
 * differ under a test clock; Redis TTLs are only garbage collection, never the semantics.
 *
 * Failure: Redis adapter methods reject when Redis cannot be reached. Callers must treat a rejection
 * as "not allowed now" (fail closed) and try the message again later.
 */

/** A token bucket's size and refill speed: `perSecond` tokens a second, never more than `burst` saved. */
export interface BucketRate {
  perSecond: number;
  burst: number;
}

/** One bucket to take a token from: its key (e.g. `rate:transport:ses`) and its rate. */
export interface BucketSpec extends BucketRate {
  key: string;
}

/** Whether a token was taken; when not, how long until every named bucket has one again. */
export type TakeResult = { ok: true } | { ok: false; retryInMs: number };

/** Messages per second: token buckets (per transport, per dedicated IP, per domain group). */
export interface TokenBuckets {
  /**
   * Takes one token from every bucket in `buckets`, all or nothing, atomically: a send that is
   * refused by its domain-group bucket does not use up a token of its transport bucket. Buckets are
   * created full. The rate is passed on each call, so a changed rate (adaptive throttle, circuit
   * breaker) applies at once.
   */
  take(buckets: readonly BucketSpec[], now: number): Promise<TakeResult>;
}

/** Concurrent connections: at most `max` holders of a key at once, each holding a lease. */
export interface LeasedSlots {
  /**
   * Takes one of `max` slots of `key` for `holder` (unique per connection, e.g. `<worker id>:<n>`)
   * until `now + leaseMs`. A holder that already has a slot renews its lease (call it again well
   * before the lease ends while the connection lives). Slots of a dead holder free themselves when
   * their lease ends. Returns false when all slots are taken.
   */
  acquireSlot(key: string, max: number, holder: string, leaseMs: number, now: number): Promise<boolean>;
  /** Gives `holder`'s slot of `key` back; returns whether it held one. */
  releaseSlot(key: string, holder: string): Promise<boolean>;
}

/** What `countIfBelow` did: `ok` when it counted one more; `used` is the count after the call. */
export interface CountResult {
  ok: boolean;
  used: number;
}

/** Daily caps (warm-up): counters that only count while below a cap, and end at a given time. */
export interface CappedCounters {
  /**
   * Adds one to `key` if its count is below `cap`, atomically across all workers. The counter lives
   * until `expiresAt` (the end of the warm-up day); at or after it the count starts again from zero.
   * Put the day in the key too (`warmup:<transport>:<dayKey>`), so each day has its own counter.
   * With `cap` 0 it only reads: `{ ok: false, used }` (the day's progress, for the API).
   */
  countIfBelow(key: string, cap: number, expiresAt: number, now: number): Promise<CountResult>;
  /** Gives one back (a counted send that was not made); never goes below zero. */
  uncount(key: string): Promise<void>;
}

/** Wake-ups: tell idle workers in any process that there is work now, instead of waiting for a poll. */
export interface WakeSignals {
  /** Signals every listener of `channel` (all processes). Fire and forget: nothing is stored. */
  wake(channel: string): Promise<void>;
  /**
   * Calls `listener` on each wake of `channel`. Resolves, with the function that stops listening,
   * once the subscription is live (a wake sent before that is not seen: keep polling as a fallback).
   */
  onWake(channel: string, listener: () => void): Promise<() => void>;
}

/** The whole port, as the composition root builds it. */
export interface SendLimiter extends TokenBuckets, LeasedSlots, CappedCounters, WakeSignals {
  /** Ends connections and listeners; the limiter is unusable afterwards. */
  close(): Promise<void>;
}
