import type { Suppression, SuppressionReason } from '../../domain/suppressions.ts';
import { sqliteStatement } from '../prepared.ts';
import type { Db } from '../database.ts';

/** Reads the suppression reasons recorded for one address hash (the send-path lookup; indexed). */
export async function selectSuppressionReasons(db: Db, emailHash: string): Promise<SuppressionReason[]> {
  const fast = sqliteStatement(db, 'SELECT reason FROM suppressions WHERE email_hash = ?');
  if (fast) return (fast.all(emailHash) as { reason: SuppressionReason }[]).map((r) => r.reason);
  const rows = await db.k.selectFrom('suppressions').select('reason').where('emailHash', '=', emailHash).execute();
  return rows.map((r) => r.reason as SuppressionReason);
}

/** Adds a suppression; an existing (address, reason) pair is left as it was. Returns true if new. */
export async function insertSuppression(
  db: Db,
  s: { email: string | null; emailHash: string; reason: SuppressionReason; source: string; note: string | null },
  now: number,
): Promise<boolean> {
  const r = await db.k
    .insertInto('suppressions')
    .values({ ...s, createdAt: now })
    .onConflict((oc) => oc.columns(['emailHash', 'reason']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Reads a page of suppressions, newest id last, optionally for one address hash or reason. */
export async function selectSuppressions(
  db: Db,
  f: { emailHash?: string; reason?: SuppressionReason; afterId?: number; limit: number },
): Promise<Suppression[]> {
  let q = db.k.selectFrom('suppressions').selectAll().orderBy('id').limit(f.limit);
  if (f.emailHash) q = q.where('emailHash', '=', f.emailHash);
  if (f.reason) q = q.where('reason', '=', f.reason);
  if (f.afterId !== undefined) q = q.where('id', '>', f.afterId);
  return (await q.execute()) as Suppression[];
}

/** Reads one suppression by id. */
export async function selectSuppression(db: Db, id: number): Promise<Suppression | undefined> {
  return (await db.k.selectFrom('suppressions').selectAll().where('id', '=', id).executeTakeFirst()) as Suppression | undefined;
}

/** Deletes one suppression by id. */
export async function deleteSuppression(db: Db, id: number): Promise<boolean> {
  const r = await db.k.deleteFrom('suppressions').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Replaces the stored address of an address's suppressions with null (erasure keeps only the hash). */
export async function forgetSuppressionAddresses(db: Db, emailHash: string): Promise<void> {
  await db.k.updateTable('suppressions').set({ email: null }).where('emailHash', '=', emailHash).execute();
}

/** Deletes one address's suppression for one reason (an unsubscribe-from-all the person has reversed). */
export async function deleteSuppressionByReason(db: Db, emailHash: string, reason: SuppressionReason): Promise<void> {
  await db.k.deleteFrom('suppressions').where('emailHash', '=', emailHash).where('reason', '=', reason).execute();
}
