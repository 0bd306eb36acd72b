import type { Db } from '../db/database.ts';
import { selectContact, updateContact, upsertExternalIds } from '../db/queries/contacts.ts';
import { insertContactIfAbsent, insertContactWithoutAddress, selectContactIdByEmailKey, selectExternalIdOwner } from '../db/queries/store-contacts.ts';
import { PROFILE_FIELDS, type ContactDraft } from '../domain/contacts.ts';
import type { CheckedCustomer } from '../domain/store-checks.ts';
import { mergeContacts, type ContactMerge } from './contact-merges.ts';

/** How a store customer's profile reaches their contact. */
export type ProfileMode =
  /** A customer record (current data): given fields replace stored ones, and a changed address is taken. */
  | 'overwrite'
  /** An order, cart or event (a snapshot, maybe old): only empty fields are filled; the address is never changed. */
  | 'fill';

/** The contact a customer resolved to (null: neither an address nor an external id), and what happened on the way. */
export interface ResolvedContact {
  contactId: number | null;
  created: boolean;
  merged: ContactMerge | null;
}

/**
 * Finds the customer's contact by address and by (source, external id), inside the caller's
 * transaction: creates it on first sight (by address, or by external id alone: such a contact has
 * no address and is never mailed until one arrives, but its orders, carts and events count from
 * the start), links the external id, takes an address for a contact that has none, and merges two
 * contacts when the address and the external id name different ones. Then writes the profile as
 * `mode` says.
 */
export async function resolveStoreContact(tx: Db, c: CheckedCustomer, mode: ProfileMode, now: number): Promise<ResolvedContact> {
  const byEmail = c.email ? await selectContactIdByEmailKey(tx, c.email.key) : undefined;
  const byExt = c.externalId ? await selectExternalIdOwner(tx, c.source, c.externalId) : undefined;
  let contactId: number;
  let created = false;
  let merged: ContactMerge | null = null;
  if (byEmail !== undefined && byExt !== undefined && byEmail !== byExt) {
    merged = await mergeContacts(tx, byEmail, byExt, now);
    contactId = merged.into;
    // The store's customer record is current: its address is the one to write to.
    if (mode === 'overwrite' && c.email) await updateContact(tx, contactId, { email: c.email.email, emailKey: c.email.key, emailDomain: c.email.domain }, now);
  } else if (byEmail !== undefined || byExt !== undefined) {
    contactId = (byEmail ?? byExt)!;
    // A customer record's address replaces the stored one; any source's fills a missing one.
    if (byEmail === undefined && c.email && (mode === 'overwrite' || (await selectContact(tx, contactId))?.email === null)) {
      await updateContact(tx, contactId, { email: c.email.email, emailKey: c.email.key, emailDomain: c.email.domain }, now);
    }
  } else if (c.email) {
    const id = await insertContactIfAbsent(tx, { email: c.email.email, emailKey: c.email.key, emailDomain: c.email.domain }, now);
    created = id !== undefined;
    contactId = id ?? (await selectContactIdByEmailKey(tx, c.email.key))!;
  } else if (c.externalId) {
    contactId = await insertContactWithoutAddress(tx, now);
    created = true;
  } else {
    return { contactId: null, created: false, merged: null };
  }
  if (c.externalId && byExt !== contactId) await upsertExternalIds(tx, [{ contactId, source: c.source, externalId: c.externalId }]);
  await writeProfile(tx, contactId, c.profile, created ? 'overwrite' : mode, now);
  return { contactId, created, merged };
}

async function writeProfile(tx: Db, contactId: number, profile: ContactDraft, mode: ProfileMode, now: number): Promise<void> {
  if (Object.keys(profile).length === 0) return;
  let draft: ContactDraft = profile;
  if (mode === 'fill') {
    const current = await selectContact(tx, contactId);
    if (!current) return;
    draft = {};
    for (const f of PROFILE_FIELDS) if (profile[f] != null && current[f] === null) draft[f] = profile[f];
    const attrs = Object.entries(profile.attributes ?? {}).filter(([k]) => !(k in current.attributes));
    if (attrs.length > 0) draft.attributes = Object.fromEntries(attrs);
  }
  if (Object.keys(draft).length > 0) await updateContact(tx, contactId, draft, now);
}
