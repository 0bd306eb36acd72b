import { fromJsonColumn, toJsonColumn } from '../dialect.ts';
import type { Db } from '../database.ts';

/** Reads where the backfill of this name stopped, if it ever ran. Changes nothing. */
export async function selectBackfillCursor<T>(db: Db, p: { name: string }): Promise<T | undefined> {
  const row = await db.k.selectFrom('backfillCursors').select('state').where('name', '=', p.name).executeTakeFirst();
  return row ? fromJsonColumn<T>(row.state) : undefined;
}

/** Stores (or moves) the cursor of the backfill of this name. */
export async function saveBackfillCursor(db: Db, p: { name: string; state: unknown; updatedAt: number }): Promise<void> {
  const state = toJsonColumn(p.state);
  await db.k
    .insertInto('backfillCursors')
    .values({ name: p.name, state, updatedAt: p.updatedAt })
    .onConflict((oc) => oc.column('name').doUpdateSet({ state, updatedAt: p.updatedAt }))
    .execute();
}

/** Deletes the cursor of the backfill of this name, so the next run starts from the beginning. */
export async function deleteBackfillCursor(db: Db, p: { name: string }): Promise<void> {
  await db.k.deleteFrom('backfillCursors').where('name', '=', p.name).execute();
}
