import { classifyBounce, classOf, type BounceFacts } from '../../domain/bounce-classification.ts';
import type { BounceReason, BounceVerdict } from '../../domain/feedback.ts';

/** What an ESP itself says about a failure, besides the remote server's words. */
export interface EspBounceSays {
  /** The ESP gave up on the message (Mailgun `permanent`, SES `Permanent`, SendGrid `bounce`). */
  permanent: boolean;
  /** The ESP's own category, mapped onto ours, used when the server's words tell nothing more specific. */
  reason?: BounceReason | null;
  /**
   * The ESP tells senders to drop the address (SES `Permanent`: "remove the recipient from your
   * list"), so an unexplained failure counts as hard rather than soft.
   */
  hardWhenUnclear?: boolean;
}

/**
 * One failed or delayed recipient as an ESP reported it: the diagnostic-based classification
 * first (the remote server's status and words are the most specific evidence), then the ESP's own
 * category for what the words leave open.
 */
export function espBounceVerdict(facts: BounceFacts, says: EspBounceSays): BounceVerdict {
  const verdict = classifyBounce({ ...facts, action: facts.action ?? (says.permanent ? 'failed' : 'delayed') });
  if (verdict.reason !== 'other') return verdict;
  if (says.reason && says.reason !== 'other') return { ...verdict, reason: says.reason, class: classOf(says.reason, !says.permanent) };
  if (says.permanent && says.hardWhenUnclear) return { ...verdict, class: 'hard' };
  return verdict;
}

/**
 * The feedback type of a failure: an auto-reply is not one; a failure the ESP will retry is
 * `deferred`; one it gave up on (`final`) is `bounced`, hard or soft as the verdict says.
 */
export function failureType(verdict: BounceVerdict, final: boolean): 'bounced' | 'deferred' | 'auto_reply' {
  if (verdict.reason === 'auto_reply') return 'auto_reply';
  return final ? 'bounced' : 'deferred';
}
