import type { Selectable } from 'kysely';
import type { Db } from '../database.ts';
import type { CapturedMessagesTable } from '../tables.ts';

/** A message kept by the capture transport instead of being sent. */
export type CapturedMessage = Selectable<CapturedMessagesTable>;

/** Keeps one message. */
export async function insertCapturedMessage(db: Db, m: Omit<CapturedMessage, 'id'>): Promise<number> {
  return (await db.k.insertInto('capturedMessages').values(m).returning('id').executeTakeFirstOrThrow()).id;
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
