import type { Db } from '../database.ts';

/** Writes a setting only if it is not set yet; returns true if this call set it (a once-only latch). */
export async function insertMetaOnce(db: Db, key: string, value: string): Promise<boolean> {
  const r = await db.k.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}
