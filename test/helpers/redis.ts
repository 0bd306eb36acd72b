import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the Redis-backed tests use: set CHAPAR_TEST_REDIS=redis://127.0.0.1:6379 to run them. */
export const TEST_REDIS_URL: string | undefined = process.env.CHAPAR_TEST_REDIS || undefined;

/** A key prefix of its own for one test, so runs sharing a Redis never see each other's keys. */
export function uniqueKeyPrefix(): string {
  return `chapar-test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (what a test left behind). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
