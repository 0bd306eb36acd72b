import type { Db } from '../database.ts';

/** Where the mail.log follower stopped in one file. */
export interface MaillogCursor {
  path: string;
  inode: string;
  offset: number;
}

/** A queue id seen with one of our Message-IDs. */
export interface MaillogQueueRow {
  queueId: string;
  messageId: string;
  seenAt: number;
}

/** Reads the cursor stored for a file path, if any. Changes nothing. */
export async function selectMaillogCursor(db: Db, p: { path: string }): Promise<MaillogCursor | undefined> {
  return db.k.selectFrom('maillogCursors').select(['path', 'inode', 'offset']).where('path', '=', p.path).executeTakeFirst();
}

/** Stores (or moves) the cursor of a file path. */
export async function saveMaillogCursor(db: Db, c: MaillogCursor & { updatedAt: number }): Promise<void> {
  await db.k
    .insertInto('maillogCursors')
    .values(c)
    .onConflict((oc) => oc.column('path').doUpdateSet({ inode: c.inode, offset: c.offset, updatedAt: c.updatedAt }))
    .execute();
}

/** Reads the stored entries among the given queue ids. Changes nothing. */
export async function selectMaillogQueue(db: Db, p: { queueIds: readonly string[] }): Promise<MaillogQueueRow[]> {
  if (p.queueIds.length === 0) return [];
  return db.k.selectFrom('maillogQueue').select(['queueId', 'messageId', 'seenAt']).where('queueId', 'in', p.queueIds).execute();
}

/** Stores queue ids with their Message-ID, replacing what a reused queue id held before. */
export async function upsertMaillogQueue(db: Db, rows: readonly MaillogQueueRow[]): Promise<void> {
  for (const r of rows) {
    await db.k
      .insertInto('maillogQueue')
      .values(r)
      .onConflict((oc) => oc.column('queueId').doUpdateSet({ messageId: r.messageId, seenAt: r.seenAt }))
      .execute();
  }
}

/** Deletes the given queue ids (Postfix removed the queue file, or the id now names other mail). */
export async function deleteMaillogQueue(db: Db, p: { queueIds: readonly string[] }): Promise<void> {
  if (p.queueIds.length === 0) return;
  await db.k.deleteFrom('maillogQueue').where('queueId', 'in', p.queueIds).execute();
}

/** Deletes queue ids first seen before `before` (their `removed` line was missed). Returns how many. */
export async function pruneMaillogQueue(db: Db, p: { before: number }): Promise<number> {
  const r = await db.k.deleteFrom('maillogQueue').where('seenAt', '<', p.before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
