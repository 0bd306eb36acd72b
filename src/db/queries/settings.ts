import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';

/** Reads one settings document (JSON), or undefined if never written. */
export async function selectSetting<T>(db: Db, key: string): Promise<T | undefined> {
  const row = await db.k.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row ? fromJsonColumn<T>(row.value) : undefined;
}

/** Writes (replaces) one settings document. */
export async function upsertSetting(db: Db, key: string, value: unknown, now: number): Promise<void> {
  await db.k
    .insertInto('settings')
    .values({ key, value: toJsonColumn(value), updatedAt: now })
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updatedAt: eb.ref('excluded.updatedAt') })))
    .execute();
}
