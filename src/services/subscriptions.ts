import type { Db } from '../db/database.ts';
import { insertConsentRecords, selectConsentRecords } from '../db/queries/consent-log.ts';
import { selectSubscriptions, upsertSubscriptions, type SubscriptionRow } from '../db/queries/subscriptions.ts';
import { consentActionFor, type ConsentEvidence, type ConsentRecord, type SubscriptionStatus, type Topic } from '../domain/consent.ts';
import type { NewConsentRow } from '../db/tables.ts';

/** One requested change of a contact's status on a topic, with the evidence for it. */
export interface SubscriptionChange {
  contactId: number;
  /** The address the consent was given for (null for a contact known only by a store id). */
  email: string | null;
  topic: Topic;
  status: SubscriptionStatus;
  evidence: ConsentEvidence;
}

/**
 * Applies status changes and writes one consent-log entry for each real change (setting a status
 * a contact already has logs nothing). Call inside the transaction that changes the contacts.
 * Returns how many statuses changed.
 */
export async function applySubscriptionChanges(db: Db, changes: readonly SubscriptionChange[], now: number): Promise<number> {
  if (changes.length === 0) return 0;
  const current = new Map<string, SubscriptionStatus>();
  const contactIds = [...new Set(changes.map((c) => c.contactId))];
  for (let i = 0; i < contactIds.length; i += 1000) {
    for (const s of await selectSubscriptions(db, contactIds.slice(i, i + 1000))) current.set(`${s.contactId}:${s.topicId}`, s.status);
  }
  const writes: { contactId: number; topicId: number; status: SubscriptionStatus }[] = [];
  const log: NewConsentRow[] = [];
  for (const c of changes) {
    const k = `${c.contactId}:${c.topic.id}`;
    const action = consentActionFor(current.get(k) ?? null, c.status);
    if (!action) continue;
    current.set(k, c.status);
    writes.push({ contactId: c.contactId, topicId: c.topic.id, status: c.status });
    log.push({
      contactId: c.contactId,
      email: c.email,
      topicId: c.topic.id,
      topicKey: c.topic.key,
      action,
      status: c.status,
      source: c.evidence.source,
      ip: c.evidence.ip ?? null,
      userAgent: c.evidence.userAgent ?? null,
      wording: c.evidence.wording ?? null,
      wordingVersion: c.evidence.wordingVersion ?? null,
      createdAt: now,
    });
  }
  // A batch may change one subscription twice; only its last status is written.
  const last = new Map(writes.map((w) => [`${w.contactId}:${w.topicId}`, w]));
  await upsertSubscriptions(db, [...last.values()], now);
  await insertConsentRecords(db, log);
  return log.length;
}

/** A contact's statuses as `{ topicKey: status }`. */
export async function topicStatuses(db: Db, contactId: number): Promise<Record<string, SubscriptionStatus>> {
  const rows: SubscriptionRow[] = await selectSubscriptions(db, [contactId]);
  return Object.fromEntries(rows.map((r) => [r.topicKey, r.status]));
}

/** A contact's consent history, oldest first. */
export async function consentHistory(db: Db, contactId: number): Promise<ConsentRecord[]> {
  return selectConsentRecords(db, contactId);
}
