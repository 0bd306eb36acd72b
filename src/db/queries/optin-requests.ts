import type { Db } from '../database.ts';

// When a double opt-in confirmation last went to an address (by keyed hash, never the address), so
// a list-bombing script cannot make Chapar mail one inbox more than once in a while.

/**
 * Claims the right to send a confirmation now: inserts the address's row, or moves its
 * `last_sent_at` to `now` when the last one went at or before `sentBefore`. Atomic (one upsert with
 * a condition), so of two signups racing for the same address only one wins. Returns true when
 * this call claimed it; `requests` restarts at 1 with each claimed send.
 */
export async function claimOptinSend(db: Db, p: { emailHash: string; now: number; sentBefore: number }): Promise<boolean> {
  const row = await db.k
    .insertInto('optinRequests')
    .values({ emailHash: p.emailHash, lastSentAt: p.now, requests: 1 })
    .onConflict((oc) => oc.column('emailHash').doUpdateSet({ lastSentAt: p.now, requests: 1 }).where('optinRequests.lastSentAt', '<=', p.sentBefore))
    .returning('emailHash')
    .executeTakeFirst();
  return row !== undefined;
}

/** Counts one more signup request for an address that got no new email (shows an operator a bombed address). */
export async function countOptinRequest(db: Db, emailHash: string): Promise<void> {
  await db.k
    .updateTable('optinRequests')
    .set((eb) => ({ requests: eb('requests', '+', 1) }))
    .where('emailHash', '=', emailHash)
    .execute();
}

/** Reads when a confirmation last went to an address and how many requests came since, or undefined. */
export async function selectOptinRequest(db: Db, emailHash: string): Promise<{ lastSentAt: number; requests: number } | undefined> {
  return db.k.selectFrom('optinRequests').select(['lastSentAt', 'requests']).where('emailHash', '=', emailHash).executeTakeFirst();
}

/** Forgets addresses that got no confirmation since `before` (their hour of throttling is long over). Changes `optin_requests`. */
export async function deleteOptinRequestsBefore(db: Db, before: number): Promise<number> {
  const r = await db.k.deleteFrom('optinRequests').where('lastSentAt', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
