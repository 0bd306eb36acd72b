import type { Db } from '../db/database.ts';
import { deleteContact, selectContact, updateContact } from '../db/queries/contacts.ts';
import { FOLLOWING_TABLES, moveExternalIds, moveNewerSubscriptions, reassignContactRows } from '../db/queries/contact-merges.ts';
import { insertEvent } from '../db/queries/events.ts';
import { PROFILE_FIELDS, type ContactDraft } from '../domain/contacts.ts';

/** Which contact stayed and which was merged into it (and deleted). */
export interface ContactMerge {
  into: number;
  from: number;
}

/**
 * Merges two contacts that turned out to be one person (a store's customer id on one, their
 * address on the other), inside the caller's transaction. The contact with an address stays when
 * only one has one (links in mail sent to it keep working), else the older: it keeps its address
 * and profile, fills its empty fields from the other, and takes over the other's orders,
 * carts, events, messages and consent-log entries (re-pointed, never deleted: the log is
 * append-only), the external ids of sources it has none for, and each topic status newer than its
 * own. The other contact is then deleted, and a `contact_merged` event records it.
 */
export async function mergeContacts(tx: Db, a: number, b: number, now: number): Promise<ContactMerge> {
  const [ca, cb] = [await selectContact(tx, a), await selectContact(tx, b)];
  if (!ca || !cb) throw new Error(`cannot merge contacts ${a} and ${b}: one does not exist`);
  const aFirst = (ca.email === null) !== (cb.email === null) ? ca.email !== null : ca.createdAt < cb.createdAt || (ca.createdAt === cb.createdAt && ca.id < cb.id);
  const [keep, drop] = aFirst ? [ca, cb] : [cb, ca];
  for (const table of FOLLOWING_TABLES) await reassignContactRows(tx, table, drop.id, keep.id);
  await moveExternalIds(tx, drop.id, keep.id);
  await moveNewerSubscriptions(tx, drop.id, keep.id);
  const fill: ContactDraft = {};
  for (const f of PROFILE_FIELDS) if (keep[f] === null && drop[f] !== null) fill[f] = drop[f];
  const missing = Object.fromEntries(Object.entries(drop.attributes).filter(([k]) => !(k in keep.attributes)));
  if (Object.keys(missing).length > 0) fill.attributes = missing;
  await deleteContact(tx, drop.id);
  if (Object.keys(fill).length > 0) await updateContact(tx, keep.id, fill, now);
  await insertEvent(tx, { type: 'contact_merged', contactId: keep.id, messageRef: null, properties: { mergedContactId: drop.id, mergedEmail: drop.email }, ip: null, userAgent: null, occurredAt: now, source: 'chapar', sourceEventId: null });
  return { into: keep.id, from: drop.id };
}
