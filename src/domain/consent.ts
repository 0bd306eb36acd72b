/** A contact's standing on one topic. */
export const SUBSCRIPTION_STATUSES = ['pending', 'subscribed', 'unsubscribed'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * What a consent-log entry records happened. `lapse`: a signup form's request that was never
 * confirmed ran out (services/lapsed-signups.ts); the topic went back to where it stood before.
 */
export const CONSENT_ACTIONS = ['subscribe', 'confirm', 'unsubscribe', 'resubscribe', 'lapse'] as const;
export type ConsentAction = (typeof CONSENT_ACTIONS)[number];

/** Where a consent change came from. */
export const CONSENT_SOURCES = ['form', 'import', 'api', 'checkout', 'preference_center', 'unsubscribe_link', 'unsubscribe_mailto', 'complaint', 'esp_unsubscribe', 'double_opt_in', 'admin'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

/** The evidence kept beside each change: what GDPR Art. 7(1) and CASL s. 13 ask a sender to prove. */
export interface ConsentEvidence {
  source: ConsentSource;
  ip?: string | null;
  userAgent?: string | null;
  /** The exact text the person agreed to, or */
  wording?: string | null;
  /** the version id of that text when the text itself is kept elsewhere. */
  wordingVersion?: string | null;
}

/** A stored consent-log entry. */
export interface ConsentRecord {
  id: number;
  contactId: number | null;
  email: string | null;
  topicId: number | null;
  topicKey: string;
  action: ConsentAction;
  /** The status after the change; `none` when a lapse left the contact with no status on the topic. */
  status: SubscriptionStatus | 'none';
  source: ConsentSource;
  ip: string | null;
  userAgent: string | null;
  wording: string | null;
  wordingVersion: string | null;
  createdAt: number;
}

/**
 * Which consent action a status change is, or `null` when nothing changed and nothing should be logged.
 * pending→subscribed is the double opt-in confirmation; unsubscribed→subscribed is a resubscribe.
 */
export function consentActionFor(previous: SubscriptionStatus | null, next: SubscriptionStatus): ConsentAction | null {
  if (previous === next) return null;
  switch (next) {
    case 'pending':
      return 'subscribe';
    case 'subscribed':
      if (previous === 'pending') return 'confirm';
      if (previous === 'unsubscribed') return 'resubscribe';
      return 'subscribe';
    case 'unsubscribed':
      return 'unsubscribe';
  }
}

/** Topic keys appear in URLs, CSV headers and templates, so they are slugs. */
export const TOPIC_KEY = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A topic a contact can subscribe to (newsletter, promotions, product news…). */
export interface Topic {
  id: number;
  key: string;
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
}
