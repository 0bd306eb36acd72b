import { deleteTopic, insertTopic, selectTopicByKey, selectTopics, updateTopic } from '../db/queries/topics.ts';
import { isUniqueViolation } from '../db/dialect.ts';
import type { Db } from '../db/database.ts';
import { TOPIC_KEY, type Topic } from '../domain/consent.ts';
import { AppError, invalid } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';

/** Lists every topic. */
export function listTopics(ctx: ServiceContext): Promise<Topic[]> {
  return selectTopics(ctx.db);
}

/** Reads one topic by key, or fails with not_found. */
export async function getTopic(ctx: ServiceContext, key: string): Promise<Topic> {
  const t = await selectTopicByKey(ctx.db, key);
  if (!t) throw new AppError('not_found', `topic "${key}" does not exist`);
  return t;
}

/** Creates a topic; its key is a slug used in URLs, CSV headers and templates. */
export async function createTopic(ctx: ServiceContext, t: { key: string; name: string; description?: string | null }): Promise<Topic> {
  if (!TOPIC_KEY.test(t.key)) throw invalid('key', 'must be lower-case letters, digits, - and _ (at most 64), starting with a letter or digit');
  if (t.name.trim() === '') throw invalid('name', 'must not be empty');
  try {
    return await insertTopic(ctx.db, { key: t.key, name: t.name.trim(), description: t.description ?? null }, ctx.clock.now());
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', `topic "${t.key}" already exists`, [{ field: 'key', message: 'already exists' }]);
    throw err;
  }
}

/** Changes a topic's name or description. */
export async function changeTopic(ctx: ServiceContext, key: string, t: { name?: string; description?: string | null }): Promise<Topic> {
  if (t.name !== undefined && t.name.trim() === '') throw invalid('name', 'must not be empty');
  const updated = await updateTopic(ctx.db, key, { ...t, ...(t.name ? { name: t.name.trim() } : {}) }, ctx.clock.now());
  if (!updated) throw new AppError('not_found', `topic "${key}" does not exist`);
  return updated;
}

/** Deletes a topic and every subscription to it; the consent log keeps its history. */
export async function removeTopic(ctx: ServiceContext, key: string): Promise<void> {
  if (!(await deleteTopic(ctx.db, key))) throw new AppError('not_found', `topic "${key}" does not exist`);
}

/** Looks up topics by key, failing with every unknown key named at `fieldPrefix<key>`. */
export async function resolveTopics(db: Db, keys: Iterable<string>, fieldPrefix = 'topics/'): Promise<Map<string, Topic>> {
  const all = new Map((await selectTopics(db)).map((t) => [t.key, t]));
  const unknown = [...new Set(keys)].filter((k) => !all.has(k));
  if (unknown.length > 0) {
    const known = [...all.keys()].join(', ') || 'none yet';
    throw new AppError(
      'validation_failed',
      `unknown topic${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known topics: ${known})`,
      unknown.map((k) => ({ field: fieldPrefix + k, message: 'no such topic; create it first' })),
    );
  }
  return all;
}
