import type { Topic } from '../../domain/consent.ts';
import type { Db } from '../database.ts';

/** Reads every topic, by key. */
export async function selectTopics(db: Db): Promise<Topic[]> {
  return db.k.selectFrom('topics').selectAll().orderBy('key').execute();
}

/** Reads one topic by its key. */
export async function selectTopicByKey(db: Db, key: string): Promise<Topic | undefined> {
  return db.k.selectFrom('topics').selectAll().where('key', '=', key).executeTakeFirst();
}

/** Inserts a topic; throws the driver's unique violation if the key exists. */
export async function insertTopic(db: Db, t: { key: string; name: string; description: string | null }, now: number): Promise<Topic> {
  return db.k
    .insertInto('topics')
    .values({ ...t, createdAt: now, updatedAt: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Renames or re-describes a topic by key. Returns the updated topic or undefined if absent. */
export async function updateTopic(db: Db, key: string, t: { name?: string; description?: string | null }, now: number): Promise<Topic | undefined> {
  return db.k.updateTable('topics').set({ ...t, updatedAt: now }).where('key', '=', key).returningAll().executeTakeFirst();
}

/** Deletes a topic by key; its subscriptions cascade, consent-log entries keep the key as text. */
export async function deleteTopic(db: Db, key: string): Promise<boolean> {
  const r = await db.k.deleteFrom('topics').where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
