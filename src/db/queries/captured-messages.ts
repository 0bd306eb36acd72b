import type { Selectable } from 'kysely';
import type { Db } from '../database.ts';
import type { CapturedMessagesTable } from '../tables.ts';

/** A message kept by the capture transport instead of being sent. */
export type CapturedMessage = Selectable<CapturedMessagesTable>;

/** Keeps one message. */
export async function insertCapturedMessage(db: Db, m: Omit<CapturedMessage, 'id'>): Promise<number> {
  return (await db.k.insertInto('capturedMessages').values(m).returning('id').executeTakeFirstOrThrow()).id;
}

/** The id of the `rank`-th newest captured message (1 = the newest), or null when there are fewer. */
export async function selectCapturedIdAtRank(db: Db, rank: number): Promise<number | null> {
  return (await db.k.selectFrom('capturedMessages').select('id').orderBy('id', 'desc').offset(rank - 1).limit(1).executeTakeFirst())?.id ?? null;
}

/** Deletes up to `limit` captured messages, oldest first, made before `madeBefore` or with an id below `idBelow`. Returns how many went. */
export async function deleteOldCapturedMessages(db: Db, f: { madeBefore: number } | { idBelow: number }, limit: number): Promise<number> {
  const r = await db.k
    .deleteFrom('capturedMessages')
    .where('id', 'in', (eb) => {
      const q = eb.selectFrom('capturedMessages').select('id').orderBy('id').limit(limit);
      return 'madeBefore' in f ? q.where('createdAt', '<', f.madeBefore) : q.where('id', '<', f.idBelow);
    })
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Lists captured messages newest first, without their bodies. */
export async function selectCapturedMessages(db: Db, f: { to?: string; beforeId?: number; limit: number }): Promise<Omit<CapturedMessage, 'raw'>[]> {
  let q = db.k.selectFrom('capturedMessages').select(['id', 'messageRef', 'envelopeFrom', 'envelopeTo', 'subject', 'createdAt']).orderBy('id', 'desc').limit(f.limit);
  if (f.to) q = q.where('envelopeTo', '=', f.to);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  return q.execute();
}

/** Reads one captured message with its raw MIME. */
export async function selectCapturedMessage(db: Db, id: number): Promise<CapturedMessage | undefined> {
  const row = await db.k.selectFrom('capturedMessages').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? { ...row, raw: Buffer.from(row.raw) } : undefined;
}

/** Reads the newest captured message for a message ref (the web version of a message). */
export async function selectCapturedMessageByRef(db: Db, messageRef: string): Promise<CapturedMessage | undefined> {
  const row = await db.k.selectFrom('capturedMessages').selectAll().where('messageRef', '=', messageRef).orderBy('id', 'desc').executeTakeFirst();
  return row ? { ...row, raw: Buffer.from(row.raw) } : undefined;
}
