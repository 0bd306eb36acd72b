import type { Selectable } from 'kysely';
import type { Db } from '../database.ts';
import type { CapturedMessagesTable } from '../tables.ts';

/** A message kept by the capture transport instead of being sent. */
export type CapturedMessage = Selectable<CapturedMessagesTable>;

/** Keeps one message. */
export async function insertCapturedMessage(db: Db, m: Omit<CapturedMessage, 'id'>): Promise<number> {
  return (await db.k.insertInto('capturedMessages').values(m).returning('id').executeTakeFirstOrThrow()).id;
}

/** Deletes up to `limit` captured messages made before `before`, oldest first. Returns how many went. */
export async function deleteCapturedMessagesBefore(db: Db, before: number, limit: number): Promise<number> {
  const r = await db.k
    .deleteFrom('capturedMessages')
    .where('id', 'in', (eb) => eb.selectFrom('capturedMessages').select('id').where('createdAt', '<', before).orderBy('id').limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes up to `limit` of the captured messages older than the newest `keep` (by id), oldest first. */
export async function deleteCapturedMessagesBeyond(db: Db, keep: number, limit: number): Promise<number> {
  const newest = await db.k.selectFrom('capturedMessages').select('id').orderBy('id', 'desc').offset(keep - 1).limit(1).executeTakeFirst();
  if (!newest) return 0;
  const r = await db.k
    .deleteFrom('capturedMessages')
    .where('id', 'in', (eb) => eb.selectFrom('capturedMessages').select('id').where('id', '<', newest.id).orderBy('id').limit(limit))
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
