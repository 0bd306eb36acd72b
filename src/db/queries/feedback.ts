import type { Selectable } from 'kysely';
import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';
import type { UnmatchedFeedbackTable } from '../tables.ts';

// What the feedback loop stores besides events: feedback that matched no message, the soft-bounce
// count per address, and a message's outcome after it was sent.

export interface UnmatchedFeedbackRow extends Omit<Selectable<UnmatchedFeedbackTable>, 'detail'> {
  detail: Record<string, unknown>;
}

/** Keeps feedback that matched nothing; a repeat of the same (source, source id) is kept once. Returns true if new. */
export async function insertUnmatchedFeedback(db: Db, u: Omit<UnmatchedFeedbackRow, 'id'>): Promise<boolean> {
  const r = await db.k
    .insertInto('unmatchedFeedback')
    .values({ ...u, detail: toJsonColumn(u.detail) })
    .onConflict((oc) => oc.columns(['source', 'sourceEventId']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Reads unmatched feedback newest first, optionally of one source, `beforeId` as the cursor. */
export async function selectUnmatchedFeedback(db: Db, f: { source?: string; beforeId?: number; limit: number }): Promise<UnmatchedFeedbackRow[]> {
  let q = db.k.selectFrom('unmatchedFeedback').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.source !== undefined) q = q.where('source', '=', f.source);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  return (await q.execute()).map((r) => ({ ...r, detail: fromJsonColumn(r.detail) }));
}

/** Deletes unmatched feedback received before `before`, at most `limit` rows (oldest first). Returns how many went. */
export async function deleteUnmatchedFeedbackBefore(db: Db, before: number, limit: number): Promise<number> {
  // By id through the received_at index, in bounded bites: one statement never holds the write
  // lock for long, whatever a misconfigured mail loop left behind.
  const r = await db.k
    .deleteFrom('unmatchedFeedback')
    .where('id', 'in', (eb) => eb.selectFrom('unmatchedFeedback').select('id').where('receivedAt', '<', before).orderBy('receivedAt').limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** The times of the soft bounces that still count for an address (empty when none). */
export async function selectSoftBounceTimes(db: Db, emailHash: string): Promise<number[]> {
  const r = await db.k.selectFrom('softBounces').select('times').where('emailHash', '=', emailHash).executeTakeFirst();
  return r ? fromJsonColumn<number[]>(r.times) : [];
}

/** Replaces the soft-bounce times of an address. */
export async function upsertSoftBounceTimes(db: Db, emailHash: string, times: readonly number[], now: number): Promise<void> {
  const value = toJsonColumn(times);
  await db.k
    .insertInto('softBounces')
    .values({ emailHash, times: value, updatedAt: now })
    .onConflict((oc) => oc.column('emailHash').doUpdateSet({ times: value, updatedAt: now }))
    .execute();
}

/** Forgets an address's soft bounces (a delivery got through). */
export async function deleteSoftBounces(db: Db, emailHash: string): Promise<void> {
  await db.k.deleteFrom('softBounces').where('emailHash', '=', emailHash).execute();
}

/** The message an ESP knows by its own id. */
export async function selectMessageRefByProviderId(db: Db, providerMessageId: string): Promise<string | undefined> {
  const r = await db.k.selectFrom('messages').select('ref').where('providerMessageId', '=', providerMessageId).executeTakeFirst();
  return r?.ref;
}

/**
 * Records what became of a message after it left (a bounce or complaint arriving later): sets its
 * status and reason unless it is already in a state the new one must not overwrite, and appends a
 * history row either way. Returns true if the status changed.
 */
export async function recordLateOutcome(
  db: Db,
  o: { messageId: number; status: 'bounced' | 'complained' | 'delivered' | 'deferred'; overwritable: readonly string[]; reason: string | null; code: number | null; enhanced: string | null; response: string | null; at: number },
): Promise<boolean> {
  let changed = false;
  if (o.status === 'bounced' || o.status === 'complained') {
    const r = await db.k
      .updateTable('messages')
      .set({ status: o.status, reason: o.reason, lastResponse: o.response, updatedAt: o.at })
      .where('id', '=', o.messageId)
      .where('status', 'in', o.overwritable)
      .executeTakeFirst();
    changed = Number(r.numUpdatedRows) > 0;
  }
  await db.k.insertInto('messageHistory').values({ messageId: o.messageId, status: o.status, code: o.code, enhanced: o.enhanced, response: o.response, at: o.at }).execute();
  return changed;
}
