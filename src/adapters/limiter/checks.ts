import { invalid } from '../../lib/errors.ts';
import type { BucketSpec } from '../../ports/send-limiter.ts';

// Argument checks shared by both limiter adapters, so a bad call fails the same way on each. The
// arguments come from Chapar's own code, but a wrong one (a zero rate from a config) must name itself
// instead of silently blocking or unblocking every send.

const MAX_KEY_LENGTH = 256;

/** Throws unless `value` is a usable key, holder or channel name. */
export function checkName(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw invalid(field, `must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
  }
}

/** Throws unless `value` is a finite number of milliseconds since the epoch. */
export function checkTime(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(field, 'must be a time in milliseconds since the epoch');
  }
}

/** Throws unless each bucket has a key, a rate above zero and a burst of at least one token. */
export function checkBuckets(buckets: readonly BucketSpec[]): void {
  if (!Array.isArray(buckets) || buckets.length === 0) throw invalid('buckets', 'must list at least one bucket');
  const seen = new Set<string>();
  buckets.forEach((b, i) => {
    checkName(`buckets/${i}/key`, b.key);
    if (seen.has(b.key)) throw invalid(`buckets/${i}/key`, `"${b.key}" is listed twice`);
    seen.add(b.key);
    if (typeof b.perSecond !== 'number' || !Number.isFinite(b.perSecond) || b.perSecond <= 0) {
      throw invalid(`buckets/${i}/perSecond`, 'must be a number above 0');
    }
    if (typeof b.burst !== 'number' || !Number.isFinite(b.burst) || b.burst < 1) {
      throw invalid(`buckets/${i}/burst`, 'must be a number of at least 1 (one message)');
    }
  });
}

/** Throws unless the arguments of `acquireSlot` make sense. */
export function checkSlot(key: string, max: number, holder: string, leaseMs: number, now: number): void {
  checkName('key', key);
  checkName('holder', holder);
  if (!Number.isInteger(max) || max < 1) throw invalid('max', 'must be a whole number of at least 1');
  if (!Number.isInteger(leaseMs) || leaseMs < 1) throw invalid('leaseMs', 'must be a whole number of milliseconds above 0');
  checkTime('now', now);
}

/** Throws unless the arguments of `countIfBelow` make sense. */
export function checkCount(key: string, cap: number, expiresAt: number, now: number): void {
  checkName('key', key);
  if (!Number.isInteger(cap) || cap < 0) throw invalid('cap', 'must be a whole number of at least 0');
  checkTime('now', now);
  checkTime('expiresAt', expiresAt);
  if (expiresAt <= now) throw invalid('expiresAt', 'must be later than now');
}

/**
 * How long Redis (or the memory sweep) keeps an idle entry after it stops mattering. TTLs are only
 * garbage collection: the margin keeps a test's manual clock and the wall clock from disagreeing.
 */
export const IDLE_MARGIN_MS = 60_000;
