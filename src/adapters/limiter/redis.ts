import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { AppError, invalid } from '../../lib/errors.ts';
import type { BucketSpec, CountResult, SendLimiter, TakeResult } from '../../ports/send-limiter.ts';
import { IDLE_MARGIN_MS, checkBuckets, checkCount, checkName, checkSlot, checkTime } from './checks.ts';
import { ACQUIRE_SLOT, COUNT_IF_BELOW, TAKE, UNCOUNT } from './redis-scripts.ts';

// The send limiter that several worker processes on several machines share: every decision is one
// Lua script in Redis (atomic), wake-ups are Redis pub/sub. Redis holds nothing durable here: if it
// is emptied, buckets start full, leases are lost (connections hold on and re-acquire), and the day's
// warm-up counts start again from zero (the outbox stays the record of what was sent).

export interface RedisSendLimiterOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…`; never logged or echoed in errors. */
  url: string;
  /** Put before every key and channel, so installations and test runs sharing a Redis don't mix. */
  keyPrefix?: string;
  /** Connection errors after start (Redis restarting…); calls meanwhile reject. Pass the logger here. */
  onError?: (err: Error) => void;
}

/** Connects to Redis (failing at once, with a clear error, when it cannot) and returns the limiter. */
export async function createRedisSendLimiter(opts: RedisSendLimiterOptions): Promise<SendLimiter> {
  const prefix = opts.keyPrefix ?? 'chapar:';
  if (typeof prefix !== 'string' || prefix.length > 64) throw invalid('keyPrefix', 'must be a string of at most 64 characters');
  const client = await connect(opts);
  const run = scriptRunner(client);
  const key = (kind: string, name: string): string => `${prefix}${kind}:${name}`;
  const wakes = wakeChannels(client, (channel) => key('wake', channel), opts.onError);
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('the send limiter is closed');
  };

  return {
    async take(specs: readonly BucketSpec[], now: number): Promise<TakeResult> {
      open();
      checkBuckets(specs);
      checkTime('now', now);
      const args = [now, IDLE_MARGIN_MS, ...specs.flatMap((s) => [s.perSecond, s.burst])];
      const [ok, wait] = (await run(TAKE, specs.map((s) => key('bucket', s.key)), args)) as [number, number];
      return ok === 1 ? { ok: true } : { ok: false, retryInMs: wait };
    },

    async acquireSlot(name, max, holder, leaseMs, now) {
      open();
      checkSlot(name, max, holder, leaseMs, now);
      return (await run(ACQUIRE_SLOT, [key('slots', name)], [now, max, holder, leaseMs, IDLE_MARGIN_MS])) === 1;
    },

    async releaseSlot(name, holder) {
      open();
      checkName('key', name);
      checkName('holder', holder);
      return (await client.zrem(key('slots', name), holder)) === 1;
    },

    async countIfBelow(name, cap, expiresAt, now): Promise<CountResult> {
      open();
      checkCount(name, cap, expiresAt, now);
      const [ok, used] = (await run(COUNT_IF_BELOW, [key('count', name)], [now, cap, expiresAt, IDLE_MARGIN_MS])) as [number, number];
      return { ok: ok === 1, used };
    },

    async uncount(name) {
      open();
      checkName('key', name);
      await run(UNCOUNT, [key('count', name)], []);
    },

    async wake(channel) {
      open();
      checkName('channel', channel);
      await client.publish(key('wake', channel), '1');
    },

    async onWake(channel, listener) {
      open();
      checkName('channel', channel);
      return wakes.listen(channel, listener);
    },

    async close() {
      if (closed) return;
      closed = true;
      await wakes.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

async function connect(opts: RedisSendLimiterOptions): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw invalid('redisUrl', 'must be a URL such as redis://127.0.0.1:6379');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw invalid('redisUrl', 'must start with redis:// or rediss://');
  }
  const client = new Redis(opts.url, {
    lazyConnect: true,
    // A call waits through at most two reconnect attempts, then rejects: workers then hold the
    // message and try later, instead of piling up calls while Redis is away.
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    enableAutoPipelining: true,
  });
  client.on('error', (err: Error) => opts.onError?.(err));
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    // Only host and port: the URL may hold a password.
    const reason = err instanceof Error ? err.message.replace(/\/\/[^@]*@/, '//***@') : 'unknown error';
    throw new AppError('config_invalid', `cannot connect to Redis at ${parsed.hostname}:${parsed.port || 6379}: ${reason}`, [
      { field: 'redisUrl', message: 'Redis is not reachable' },
    ]);
  }
  return client;
}

/** Runs a script by its SHA1 (EVALSHA), loading it once per Redis (EVAL) when Redis doesn't know it. */
function scriptRunner(client: Redis) {
  const shas = new Map<string, string>();
  return async (script: string, keys: string[], args: (string | number)[]): Promise<unknown> => {
    let sha = shas.get(script);
    if (!sha) shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(script, keys.length, ...keys, ...args);
    }
  };
}

/**
 * Pub/sub on a second connection (a subscribed Redis connection can do nothing else), opened on the
 * first listener. One SUBSCRIBE per channel however many listeners it has.
 */
function wakeChannels(client: Redis, channelKey: (channel: string) => string, onError?: (err: Error) => void) {
  let subscriber: Redis | null = null;
  const channels = new Map<string, { listeners: Set<() => void>; subscribed: Promise<unknown> }>();

  const dispatch = (full: string): void => {
    for (const listener of channels.get(full)?.listeners ?? []) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; it must not stop the other listeners.
      }
    }
  };

  return {
    async listen(channel: string, listener: () => void): Promise<() => void> {
      if (!subscriber) {
        subscriber = client.duplicate();
        subscriber.on('error', (err: Error) => onError?.(err));
        subscriber.on('message', (full: string) => dispatch(full));
      }
      const sub = subscriber;
      const full = channelKey(channel);
      let entry = channels.get(full);
      if (!entry) {
        entry = { listeners: new Set(), subscribed: sub.subscribe(full) };
        channels.set(full, entry);
      }
      // A function of its own, so the same listener added twice is removed once per stop.
      const own = (): void => listener();
      entry.listeners.add(own);
      try {
        await entry.subscribed;
      } catch (err) {
        entry.listeners.delete(own);
        if (entry.listeners.size === 0 && channels.get(full) === entry) channels.delete(full);
        throw err;
      }
      return () => {
        const current = channels.get(full);
        if (!current || !current.listeners.delete(own) || current.listeners.size > 0) return;
        channels.delete(full);
        sub.unsubscribe(full).catch((err: unknown) => onError?.(err as Error));
      };
    },
    async close(): Promise<void> {
      channels.clear();
      if (subscriber) await subscriber.quit().catch(() => subscriber?.disconnect());
    },
  };
}
