import type { Db } from '../database.ts';

/** Creates a contact with only an address unless one with that address exists; returns the new id, or undefined. Changes `contacts`. */
export async function insertContactIfAbsent(db: Db, e: { email: string; emailKey: string; emailDomain: string }, now: number): Promise<number | undefined> {
  const row = await db.k
    .insertInto('contacts')
    .values({ ...e, attributes: '{}', createdAt: now, updatedAt: now })
    .onConflict((oc) => oc.column('emailKey').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

/** Inserts a contact with no address (a store customer known only by their id); returns its id. */
export async function insertContactWithoutAddress(db: Db, now: number): Promise<number> {
  const row = await db.k.insertInto('contacts').values({ email: null, emailKey: null, emailDomain: null, attributes: '{}', createdAt: now, updatedAt: now }).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Reads the id of the contact with this email key. */
export async function selectContactIdByEmailKey(db: Db, emailKey: string): Promise<number | undefined> {
  return (await db.k.selectFrom('contacts').select('id').where('emailKey', '=', emailKey).executeTakeFirst())?.id;
}

/** Reads the contact owning one (source, external id). */
export async function selectExternalIdOwner(db: Db, source: string, externalId: string): Promise<number | undefined> {
  return (await db.k.selectFrom('contactExternalIds').select('contactId').where('source', '=', source).where('externalId', '=', externalId).executeTakeFirst())?.contactId;
}
