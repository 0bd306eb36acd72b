import type { ConsentRecord } from '../../domain/consent.ts';
import type { Db } from '../database.ts';
import type { NewConsentRow } from '../tables.ts';

/** Appends consent-log entries. The table refuses deletes; this is its only writer besides erasure. */
export async function insertConsentRecords(db: Db, rows: readonly NewConsentRow[]): Promise<void> {
  if (rows.length === 0) return;
  // 13 columns a row; stay under SQLite's 32,766 parameters.
  for (let i = 0; i < rows.length; i += 2000) {
    await db.k.insertInto('consentLog').values(rows.slice(i, i + 2000) as NewConsentRow[]).execute();
  }
}

/** Reads a contact's consent history, oldest first. */
export async function selectConsentRecords(db: Db, contactId: number): Promise<ConsentRecord[]> {
  const rows = await db.k.selectFrom('consentLog').selectAll().where('contactId', '=', contactId).orderBy('id').execute();
  return rows as ConsentRecord[];
}

/**
 * Erasure (GDPR Art. 17), or the removal of a signup that never confirmed (`why` lapsed): detaches
 * a contact's consent entries and removes the personal data in them (address, IP, user agent),
 * keeping the keyed hash of the address so the record still proves what happened. The one
 * permitted change to the log.
 */
export async function anonymiseConsentRecords(db: Db, contactId: number, emailHash: string, why: 'erased' | 'lapsed' = 'erased'): Promise<number> {
  const r = await db.k
    .updateTable('consentLog')
    .set({ contactId: null, email: `${why}:${emailHash}`, ip: null, userAgent: null })
    .where('contactId', '=', contactId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
