import { isThrottleReply } from './adaptive-throttle.ts';

/** Where a message is in its life. `sending` is held by a worker's lease; the last five are final. */
export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'deferred', 'failed', 'suppressed', 'bounced', 'complained'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['sent', 'failed', 'suppressed', 'bounced', 'complained']);

/** A caller's idempotency key for the transactional API: what follows `tx:` in the stored key. */
export const CLIENT_KEY = /^[A-Za-z0-9._:@\-]{1,200}$/;

/** How a refused message counts: a hard bounce suppresses the address; soft and policy do not. */
export type BounceKind = 'hard_bounce' | 'soft_bounce' | 'policy_block';

/**
 * Classifies a permanent (5xx) refusal by its RFC 3463 enhanced status code. 5.1.x (bad
 * mailbox or domain) and 5.2.1 (disabled) are hard; 5.2.2 (mailbox full) and the transient-minded
 * classes 5.2.x/5.3.x/5.4.x/5.5.x/5.6.x are soft; 5.7.x is the receiver's policy or our reputation:
 * the operator must look, and the recipient is not to blame. Without an enhanced code, the basic
 * reply decides (550/551/553 hard, 552 soft, 554 policy).
 */
export function classifyRefusal(code: number | undefined, enhanced: string | undefined): BounceKind {
  if (enhanced) {
    const [klass, subject, detail] = enhanced.split('.').map(Number);
    if (klass === 5) {
      if (subject === 1) return 'hard_bounce';
      if (subject === 2 && detail === 1) return 'hard_bounce';
      if (subject === 7) return 'policy_block';
      return 'soft_bounce';
    }
  }
  if (code === 550 || code === 551 || code === 553) return 'hard_bounce';
  if (code === 554) return 'policy_block';
  return 'soft_bounce';
}

/** A deferral that asks us to slow down, not to give up: an SMTP 421 or 4.7.x, or an HTTP 429. */
export function isThrottling(result: { status: string; response?: string; code?: number; enhanced?: string }): boolean {
  return result.status === 'deferred' && (result.code === 429 || isThrottleReply(result));
}

export interface RetryPolicy {
  /** The first retry's delay; each further attempt doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up (soft bounce) once a message is this old. */
  maxAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 60_000, maxDelayMs: 6 * 3600_000, maxAgeMs: 72 * 3600_000 };

/**
 * When to try again after the `attempt`-th try was deferred: exponential backoff with jitter
 * (half to all of the step, so retries from one outage spread out), never sooner than the
 * provider's Retry-After. `random` is injected so tests are exact.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(step / 2 + (random() * step) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}
