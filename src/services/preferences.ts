import { inTransaction } from '../db/database.ts';
import { selectContact } from '../db/queries/contacts.ts';
import { insertEvent } from '../db/queries/events.ts';
import { deleteSuppressionByReason, insertSuppression, selectSuppressionReasons } from '../db/queries/suppressions.ts';
import { selectTopicByKey, selectTopics } from '../db/queries/topics.ts';
import type { SubscriptionStatus, Topic } from '../domain/consent.ts';
import { addressOf, type Contact } from '../domain/contacts.ts';
import { normalizeEmail } from '../domain/emails.ts';
import type { LinkSubject } from '../templates/tracking-urls.ts';
import type { ServiceContext } from './context.ts';
import { applySubscriptionChanges, topicStatuses } from './subscriptions.ts';
import { suppressionHash } from './suppressions.ts';
import type { Requester } from './tracking.ts';

/** What the preference centre shows: the contact, every topic with its status, and whether all mail is off. */
export interface PreferenceView {
  contact: Contact;
  topics: { topic: Topic; status: SubscriptionStatus | null }[];
  unsubscribedFromAll: boolean;
}

/** Reads a signed link's contact, or null if the link is forged or the contact is gone. */
export async function contactForLink(ctx: ServiceContext, token: string): Promise<{ subject: LinkSubject; contact: Contact } | null> {
  const subject = ctx.composer.urls.readToken(token);
  if (!subject) return null;
  const contact = await selectContact(ctx.db, subject.contactId);
  return contact ? { subject, contact } : null;
}

/** The name of the topic a link unsubscribes from, or null when it unsubscribes from everything. */
export async function linkTopicName(ctx: ServiceContext, subject: LinkSubject): Promise<string | null> {
  if (subject.topicKey === null) return null;
  return (await selectTopicByKey(ctx.db, subject.topicKey))?.name ?? null;
}

/** The preference centre's data for a contact. */
export async function preferencesOf(ctx: ServiceContext, contact: Contact): Promise<PreferenceView> {
  const statuses = await topicStatuses(ctx.db, contact.id);
  const topics = (await selectTopics(ctx.db)).map((topic) => ({ topic, status: statuses[topic.key] ?? null }));
  const reasons = await selectSuppressionReasons(ctx.db, hashOf(ctx, contact));
  return { contact, topics, unsubscribedFromAll: reasons.includes('unsubscribe_all') };
}

/**
 * Unsubscribes at once (RFC 8058 one-click, the link's page, or the preference centre): from the
 * link's topic, or from everything when the link names none. The consent log records it with the
 * requester's IP and user agent; an `unsubscribed` event is recorded for KPIs.
 */
export async function unsubscribe(ctx: ServiceContext, contact: Contact, subject: LinkSubject, who: Requester, source: 'unsubscribe_link' | 'unsubscribe_mailto' | 'preference_center'): Promise<{ topics: string[]; all: boolean }> {
  const now = ctx.clock.now();
  const all = subject.topicKey === null;
  const topics = (await selectTopics(ctx.db)).filter((t) => all || t.key === subject.topicKey);
  await inTransaction(ctx.db, async (tx) => {
    await applySubscriptionChanges(tx, topics.map((topic) => ({ contactId: contact.id, email: contact.email, topic, status: 'unsubscribed', evidence: { source, ip: who.ip, userAgent: who.userAgent } })), now);
    if (all) await insertSuppression(tx, { email: contact.email, emailHash: hashOf(ctx, contact), reason: 'unsubscribe_all', source, note: null }, now);
    await insertEvent(tx, { type: 'unsubscribed', contactId: contact.id, messageRef: subject.messageRef, properties: { topics: topics.map((t) => t.key), all, source }, ip: who.ip, userAgent: who.userAgent, occurredAt: now });
  });
  return { topics: topics.map((t) => t.key), all };
}

/**
 * Applies a preference-centre form: the topics ticked are subscribed, the others unsubscribed;
 * "unsubscribe from all" unsubscribes every topic and suppresses marketing mail. Ticking a topic
 * again lifts an earlier unsubscribe-from-all: the person has just asked for mail.
 */
export async function savePreferences(ctx: ServiceContext, contact: Contact, subject: LinkSubject, choice: { subscribed: string[]; unsubscribeAll: boolean }, who: Requester): Promise<PreferenceView> {
  if (choice.unsubscribeAll) {
    await unsubscribe(ctx, contact, { ...subject, topicKey: null }, who, 'preference_center');
    return preferencesOf(ctx, contact);
  }
  const now = ctx.clock.now();
  const current = await topicStatuses(ctx.db, contact.id);
  const topics = await selectTopics(ctx.db);
  await inTransaction(ctx.db, async (tx) => {
    const changes = topics
      .map((topic) => {
        const wanted = choice.subscribed.includes(topic.key);
        const status: SubscriptionStatus | null = wanted ? 'subscribed' : current[topic.key] ? 'unsubscribed' : null;
        return status ? { contactId: contact.id, email: contact.email, topic, status, evidence: { source: 'preference_center' as const, ip: who.ip, userAgent: who.userAgent } } : null;
      })
      .filter((c) => c !== null);
    const changed = await applySubscriptionChanges(tx, changes, now);
    if (choice.subscribed.length > 0) await deleteSuppressionByReason(tx, hashOf(ctx, contact), 'unsubscribe_all');
    if (changed > 0) await insertEvent(tx, { type: 'preferences_updated', contactId: contact.id, messageRef: subject.messageRef, properties: { subscribed: choice.subscribed }, ip: who.ip, userAgent: who.userAgent, occurredAt: now });
  });
  return preferencesOf(ctx, contact);
}

function hashOf(ctx: ServiceContext, contact: Contact): string {
  const email = addressOf(contact);
  const n = normalizeEmail(email);
  return suppressionHash(ctx.keyring, n.ok ? n.value.key : email.toLowerCase());
}
