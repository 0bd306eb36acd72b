import type { SubscriptionStatus } from './consent.ts';

/** Why an address may not be mailed. */
export const SUPPRESSION_REASONS = ['hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe_all', 'manual', 'erased'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** The two streams of mail, with different rules. */
export type MailKind = 'marketing' | 'transactional';

/** A suppression-list entry. `email` is null for erased contacts: only the keyed hash remains. */
export interface Suppression {
  id: number;
  email: string | null;
  emailHash: string;
  reason: SuppressionReason;
  source: string;
  note: string | null;
  createdAt: number;
}

/** The answer to "may this address get this kind of mail now?" */
export type SendPermission =
  | { allowed: true }
  | { allowed: false; reason: 'suppressed'; suppression: SuppressionReason }
  | { allowed: false; reason: 'not_subscribed'; status: SubscriptionStatus | null }
  | { allowed: false; reason: 'no_topic' }
  | { allowed: false; reason: 'invalid_address' };

// Transactional mail (receipts, shipping notices) is owed even to people who opted out of
// marketing, but never to an address that bounced (hard, or soft again and again: a mailbox full
// for weeks is abandoned), complained, was blocked by hand or erased.
const BLOCKS_TRANSACTIONAL: ReadonlySet<SuppressionReason> = new Set(['hard_bounce', 'soft_bounce', 'complaint', 'manual', 'erased']);

/** Order in which reasons are reported when several apply: the most serious first. */
const SEVERITY: readonly SuppressionReason[] = ['complaint', 'hard_bounce', 'soft_bounce', 'manual', 'erased', 'unsubscribe_all'];

/**
 * The one rule that decides whether a message may go out, from facts already looked up:
 * the address's suppression reasons and, for marketing, its status on the message's topic.
 */
export function decideSendPermission(facts: {
  kind: MailKind;
  suppressions: readonly SuppressionReason[];
  topicStatus: SubscriptionStatus | null;
  hasTopic: boolean;
}): SendPermission {
  const ordered = SEVERITY.filter((r) => facts.suppressions.includes(r));
  if (facts.kind === 'transactional') {
    const block = ordered.find((r) => BLOCKS_TRANSACTIONAL.has(r));
    return block ? { allowed: false, reason: 'suppressed', suppression: block } : { allowed: true };
  }
  const first = ordered[0];
  if (first) return { allowed: false, reason: 'suppressed', suppression: first };
  if (!facts.hasTopic) return { allowed: false, reason: 'no_topic' };
  if (facts.topicStatus !== 'subscribed') return { allowed: false, reason: 'not_subscribed', status: facts.topicStatus };
  return { allowed: true };
}
