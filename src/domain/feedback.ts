// What comes back after a send, from every source (the bounce receiver, ESP webhooks, Postfix's
// mail.log, the tracking endpoints), in one shape. Each source's adapter turns its own format into
// FeedbackEvents; services/feedback.ts finds the message and applies what each event means.

/** What happened. `auto_reply` is mail that looks like a bounce and is not (vacation, ticket bots). */
export const FEEDBACK_TYPES = ['delivered', 'deferred', 'bounced', 'complained', 'unsubscribed', 'opened', 'clicked', 'auto_reply'] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];

/** Where it came from. */
export const FEEDBACK_SOURCES = ['bounce_receiver', 'mailgun', 'sendgrid', 'ses', 'maillog', 'tracking'] as const;
export type FeedbackSource = (typeof FEEDBACK_SOURCES)[number];

/** Why a message did not arrive: the fixed set every source's codes and texts are mapped onto. */
export const BOUNCE_REASONS = [
  'user_unknown',
  'mailbox_full',
  'host_unknown',
  'policy_block',
  'reputation',
  'rate_limited',
  'message_too_large',
  'expired',
  'auto_reply',
  'other',
] as const;
export type BounceReason = (typeof BOUNCE_REASONS)[number];

/**
 * Hard: the address will never take mail (suppress at once). Soft: it may later (count it).
 * None: not a failure of the address at all (auto-replies; policy and reputation blocks, which are
 * ours to fix and must not cost the recipient their mail).
 */
export type BounceClass = 'hard' | 'soft' | 'none';

export interface BounceVerdict {
  reason: BounceReason;
  class: BounceClass;
  /** RFC 3463 enhanced status (`5.1.1`) when the source gave one. */
  status: string | null;
  /** The remote server's words, as the source reported them. */
  diagnostic: string | null;
}

/** The complaint kinds of ARF (RFC 5965 Feedback-Type) and of SES. */
export type ComplaintKind = 'abuse' | 'fraud' | 'virus' | 'auth-failure' | 'not-spam' | 'other';

/**
 * How to find the message an event is about. Sources know different things; the service tries
 * them in this order: our ref (VERP address, ESP tag), the provider's message id, the Message-ID
 * header we wrote (`<ref@sending-domain>`), and last the recipient with the Postfix queue id.
 */
export interface MessageLocator {
  messageRef?: string | null;
  providerMessageId?: string | null;
  /** The Message-ID header, with or without angle brackets. */
  messageId?: string | null;
  recipient?: string | null;
}

/** One normalised feedback event. */
export interface FeedbackEvent {
  source: FeedbackSource;
  /**
   * The source's own id for this event (Mailgun `id`, SendGrid `sg_event_id`, SNS MessageId plus
   * recipient, a DSN's Message-ID plus recipient, a log line's position). The same id twice is
   * stored once: providers retry webhooks, and logs are read again after a restart.
   */
  sourceEventId: string | null;
  type: FeedbackType;
  locator: MessageLocator;
  /** For `bounced`, `deferred` and `auto_reply`. */
  bounce?: BounceVerdict;
  /** For `complained`. */
  complaint?: { kind: ComplaintKind; userAgent: string | null };
  /** For `clicked`: the link's target. */
  url?: string | null;
  /** For `unsubscribed` from an ESP: from every topic or only the message's. */
  unsubscribeAll?: boolean;
  /** Who made a tracking request, when the source knows. */
  ip?: string | null;
  userAgent?: string | null;
  occurredAt: number;
  /**
   * A short reference to the raw input (the DSN's Message-ID, a log line, the webhook body's
   * first bytes) for an operator checking what arrived; never the whole message.
   */
  raw?: string | null;
}

/** Soft bounces before an address is suppressed, and the window they must fall in. */
export interface SoftBouncePolicy {
  limit: number;
  windowMs: number;
}

export const DEFAULT_SOFT_BOUNCE_POLICY: SoftBouncePolicy = { limit: 3, windowMs: 14 * 24 * 3600_000 };

/**
 * The soft bounces that still count after one more at `now`: those inside the window, since the
 * last delivery (a delivery clears the count, so the list is emptied on one and never holds older).
 */
export function countSoftBounce(previous: readonly number[], now: number, policy: SoftBouncePolicy): { times: number[]; suppress: boolean } {
  const times = previous.filter((t) => t > now - policy.windowMs && t <= now);
  times.push(now);
  times.sort((a, b) => a - b);
  const kept = times.slice(-policy.limit);
  return { times: kept, suppress: kept.length >= policy.limit };
}

/** Feedback that cannot be tied to a message, or could not be read at all: kept for an operator. */
export interface UnmatchedFeedback {
  source: FeedbackSource;
  sourceEventId?: string | null;
  type?: string | null;
  /** Why it is unmatched, in words an operator understands ("no recipient in the DSN"). */
  why: string;
  detail?: Record<string, unknown>;
  raw?: string | null;
}
