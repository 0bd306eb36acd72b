import type { ApiKey, ApiScope } from '../../domain/api-keys.ts';
import type { Db } from '../database.ts';

const PUBLIC_COLUMNS = ['id', 'name', 'prefix', 'scope', 'createdAt', 'lastUsedAt', 'revokedAt'] as const;

/** Stores a new key by its hash. */
export async function insertApiKey(db: Db, k: { name: string; prefix: string; keyHash: string; scope: ApiScope }, now: number): Promise<ApiKey> {
  return (await db.k.insertInto('apiKeys').values({ ...k, createdAt: now }).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow()) as ApiKey;
}

/** Finds an unrevoked key by the hash of the presented secret. */
export async function selectActiveApiKeyByHash(db: Db, keyHash: string): Promise<ApiKey | undefined> {
  return (await db.k
    .selectFrom('apiKeys')
    .select(PUBLIC_COLUMNS)
    .where('keyHash', '=', keyHash)
    .where('revokedAt', 'is', null)
    .executeTakeFirst()) as ApiKey | undefined;
}

/** Reads every key (never the hashes). */
export async function selectApiKeys(db: Db): Promise<ApiKey[]> {
  return (await db.k.selectFrom('apiKeys').select(PUBLIC_COLUMNS).orderBy('id').execute()) as ApiKey[];
}

/** Marks a key revoked. Returns false if it does not exist or was already revoked. */
export async function revokeApiKey(db: Db, id: number, now: number): Promise<boolean> {
  const r = await db.k.updateTable('apiKeys').set({ revokedAt: now }).where('id', '=', id).where('revokedAt', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records when a key was last used (written at most once a minute per key by the caller). */
export async function touchApiKey(db: Db, id: number, now: number): Promise<void> {
  await db.k.updateTable('apiKeys').set({ lastUsedAt: now }).where('id', '=', id).execute();
}
