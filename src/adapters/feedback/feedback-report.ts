import type { ComplaintKind } from '../../domain/feedback.ts';
import { addressOfField, parseFieldGroups } from './header-fields.ts';

// The machine-readable part of an ARF report (RFC 5965 §3.1, message/feedback-report).

/** What an ARF report says about one complaint. */
export interface FeedbackReport {
  /** Feedback-Type as written, lower-cased; null when the report has none. */
  feedbackType: string | null;
  kind: ComplaintKind;
  /** False when Feedback-Type is missing or not one RFC 5965/6591/6430 defines (kind is then `other`). */
  knownType: boolean;
  userAgent: string | null;
  /** Original-Rcpt-To, unless the provider redacted it. */
  recipient: string | null;
  originalMailFrom: string | null;
  sourceIp: string | null;
  arrivalDate: string | null;
}

const KINDS: Record<string, ComplaintKind> = {
  abuse: 'abuse',
  fraud: 'fraud',
  virus: 'virus',
  other: 'other',
  'auth-failure': 'auth-failure',
  'not-spam': 'not-spam',
  // Pre-RFC drafts and some providers: an opt-out is a complaint about unwanted mail.
  'opt-out': 'abuse',
  optout: 'abuse',
  'opt-out-list': 'abuse',
};

/** Reads a message/feedback-report body (one block of fields, sometimes split by stray blank lines). */
export function parseFeedbackReport(text: string): FeedbackReport {
  const groups = parseFieldGroups(text);
  const get = (name: string) => groups.map((g) => g.get(name)).find((v) => v !== null) ?? null;
  const feedbackType = get('Feedback-Type')?.toLowerCase().split(/[\s;]/)[0] ?? null;
  const kind = feedbackType ? KINDS[feedbackType] : undefined;
  const rcpt = get('Original-Rcpt-To') ?? get('Removal-Recipient');
  return {
    feedbackType,
    kind: kind ?? 'other',
    knownType: kind !== undefined,
    userAgent: get('User-Agent'),
    recipient: unredacted(addressOfField(rcpt)),
    originalMailFrom: addressOfField(get('Original-Mail-From')),
    sourceIp: get('Source-IP'),
    arrivalDate: get('Arrival-Date') ?? get('Received-Date'),
  };
}

/**
 * An address unless a provider blanked it: complaint feedback loops commonly replace the
 * complainant with `redacted@…`, `xxxxxxxx@…` or a string of asterisks (RFC 6590).
 */
export function unredacted(address: string | null): string | null {
  if (!address) return null;
  const local = address.slice(0, address.lastIndexOf('@')).toLowerCase();
  if (/redacted|^x{3,}$|^\*+$|^[.*x-]+$|^anonymous$|^removed$|^unknown$/.test(local)) return null;
  return address;
}
