import { inTransaction, type Db } from '../db/database.ts';
import { insertApiKey, revokeApiKey, selectActiveApiKeyByHash, selectApiKeys, touchApiKey } from '../db/queries/api-keys.ts';
import { insertMetaOnce } from '../db/queries/meta.ts';
import { API_KEY_FORMAT, API_SCOPES, type ApiKey, type ApiScope } from '../domain/api-keys.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError, invalid } from '../lib/errors.ts';
import { randomToken, sha256Hex } from '../lib/secrets.ts';

/** Creates a key. The secret is returned here, once; only its SHA-256 is stored. */
export async function createApiKey(deps: { db: Db; clock: Clock }, k: { name: string; scope: ApiScope }): Promise<{ key: ApiKey; secret: string }> {
  if (k.name.trim() === '') throw invalid('name', 'must not be empty');
  if (!API_SCOPES.includes(k.scope)) throw invalid('scope', `must be one of ${API_SCOPES.join(', ')}`);
  const prefix = randomToken(9).slice(0, 12);
  const secret = `chp_${prefix}_${randomToken(24).slice(0, 32)}`;
  const key = await insertApiKey(deps.db, { name: k.name.trim(), prefix: `chp_${prefix}`, keyHash: sha256Hex(secret), scope: k.scope }, deps.clock.now());
  return { key, secret };
}

/** Lists every key, revoked ones included; never the secrets. */
export function listApiKeys(deps: { db: Db }): Promise<ApiKey[]> {
  return selectApiKeys(deps.db);
}

/** Revokes a key at once; requests with it fail from then on. */
export async function revokeKey(deps: { db: Db; clock: Clock }, id: number): Promise<void> {
  if (!(await revokeApiKey(deps.db, id, deps.clock.now()))) throw new AppError('not_found', `API key ${id} does not exist or is already revoked`);
}

const TOUCH_EVERY_MS = 60_000;

/**
 * Finds the active key for a presented secret, or undefined. Malformed secrets are refused
 * before any lookup. Records last use at most once a minute per key so reads stay reads.
 */
export async function authenticateApiKey(deps: { db: Db; clock: Clock }, secret: string): Promise<ApiKey | undefined> {
  if (!API_KEY_FORMAT.test(secret)) return undefined;
  const key = await selectActiveApiKeyByHash(deps.db, sha256Hex(secret));
  if (!key) return undefined;
  const now = deps.clock.now();
  if (key.lastUsedAt === null || now - key.lastUsedAt > TOUCH_EVERY_MS) await touchApiKey(deps.db, key.id, now);
  return key;
}

/** On the very first start of an installation, creates an admin key; later starts return undefined. */
export async function issueFirstAdminKey(deps: { db: Db; clock: Clock }): Promise<string | undefined> {
  return inTransaction(deps.db, async (tx) => {
    if (!(await insertMetaOnce(tx, 'first_admin_key_issued', new Date(deps.clock.now()).toISOString()))) return undefined;
    const { secret } = await createApiKey({ db: tx, clock: deps.clock }, { name: 'admin (created on first start)', scope: 'admin' });
    return secret;
  });
}
