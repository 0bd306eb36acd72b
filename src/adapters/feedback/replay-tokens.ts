/**
 * Signature tokens seen recently (Mailgun's advice against replays): a token may be claimed once
 * while its timestamp is fresh. Memory stays bounded: expired tokens are dropped as new ones come,
 * and past `maxEntries` the oldest go first. Per process only: the (source, event id) unique key
 * in the database is what guarantees an event is stored once; this refuses the replay earlier.
 */
export interface ReplayTokens {
  /** True the first time `token` is offered within its window; false for a replay. */
  claim(token: string, now: number): boolean;
  /** Gives a token back when its request failed, so the provider's retry is not mistaken for a replay. */
  release(token: string): void;
}

/** A replay cache where a token is kept for `ttlMs` (at least the freshness window, both ways). */
export function createReplayTokens(ttlMs: number, maxEntries = 100_000): ReplayTokens {
  // Insertion order is claim order, so the first entries are the oldest.
  const seen = new Map<string, number>();
  return {
    claim(token, now) {
      const until = seen.get(token);
      if (until !== undefined && until > now) return false;
      for (const [t, expires] of seen) {
        if (expires > now && seen.size < maxEntries) break;
        seen.delete(t);
      }
      seen.delete(token);
      seen.set(token, now + ttlMs);
      return true;
    },
    release(token) {
      seen.delete(token);
    },
  };
}
