import { hostname } from 'node:os';
import type { App } from './app.ts';
import { createMemorySendLimiter } from './adapters/limiter/memory.ts';
import { createRedisSendLimiter } from './adapters/limiter/redis.ts';
import { createTransportFactory } from './adapters/transports/factory.ts';
import { DEFAULT_RETRY_POLICY } from './domain/messages.ts';
import type { TransportDefinition } from './domain/transports.ts';
import type { MailTransport } from './ports/mail-transport.ts';
import type { SendLimiter } from './ports/send-limiter.ts';
import { BreakerBoard } from './services/breakers.ts';
import type { TransportSet } from './services/delivery.ts';
import { loadDkimSigner } from './services/dkim-signer.ts';
import { createMessageBuilder } from './services/message-builder.ts';
import { createSendGate } from './services/send-gate.ts';
import { getRoutes, loadTransportDefinitions } from './services/transports.ts';
import { createBuildPool } from './workers/build-pool.ts';
import { createDeliveryWorker, DEFAULT_WORKER_OPTIONS, type DeliveryWorker, type DeliveryWorkerOptions } from './workers/delivery.ts';

// The delivery role's composition: where the limiter (memory or Redis), the transport adapters, the
// DKIM signer and the message builder meet the delivery service and its worker loop. `chapar serve`
// and `chapar worker` both start it; tests start it on a test app.

export interface DeliveryRuntime {
  worker: DeliveryWorker;
  limiter: SendLimiter;
  /** Re-reads transports, routes, DKIM keys and breakers now (they are also re-read every few seconds). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

const REFRESH_MS = 10_000;
const WAKE_CHANNEL = 'delivery';

export async function startDelivery(app: App, opts: Partial<DeliveryWorkerOptions> & { limiter?: SendLimiter; random?: () => number; start?: boolean; buildThreads?: number } = {}): Promise<DeliveryRuntime> {
  const { ctx, config } = app;
  const owner = opts.owner ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const limiter = opts.limiter ?? (config.redisUrl ? await createRedisSendLimiter({ url: config.redisUrl, onError: (err) => ctx.logger.warn({ err: err.message }, 'redis connection problem') }) : createMemorySendLimiter());
  const factory = createTransportFactory({ db: ctx.db, clock: ctx.clock });
  const signer = await loadDkimSigner(ctx.db, ctx.keyring, ctx.clock);
  const breakers = new BreakerBoard(ctx);
  const threads = opts.buildThreads ?? config.buildThreads;
  const pool = threads > 0 ? await createBuildPool({ threads, secret: app.secret, publicUrl: config.publicUrl, keys: signer.keys() }) : null;
  // With threads, the main thread keeps the database and the connections; building a share of the
  // messages there too was measured (bench:send, 2 cores) and made no difference or was slower.
  const build = pool ? pool.build : createMessageBuilder({ liquid: ctx.composer.liquid, urls: ctx.composer.urls, sign: (raw, domain) => signer.sign(raw, domain) });

  // Adapters live as long as their definition is unchanged; a changed one is rebuilt, the old closed.
  const adapters = new Map<string, { key: string; transport: MailTransport }>();
  let set: TransportSet = { definitions: [], rules: [], adapter: () => capture };
  const capture = factory({ name: 'capture', kind: 'capture', settings: {}, secrets: {}, maxPerSecond: null, maxConnections: null, warmup: null, warmupStartedAt: null, enabled: true });
  // Compared once per refresh, not per message: a changed definition gets a new adapter (the old
  // one closed), a removed one is closed, an unchanged one keeps its connections.
  const syncAdapters = (defs: readonly TransportDefinition[]) => {
    const seen = new Set<string>();
    for (const def of defs) {
      seen.add(def.name);
      const key = JSON.stringify(def);
      const hit = adapters.get(def.name);
      if (hit?.key === key) continue;
      if (hit) void hit.transport.close();
      try {
        adapters.set(def.name, { key, transport: factory(def) });
      } catch (err) {
        // Saved settings were checked when saved; should one still fail, its mail waits (deferred), never goes elsewhere.
        const why = `transport ${def.name} cannot be built: ${(err as Error).message}`;
        adapters.set(def.name, { key, transport: { name: def.name, send: async () => ({ status: 'deferred', response: why }), close: async () => {} } });
        ctx.logger.error({ transport: def.name }, why);
      }
    }
    for (const [name, hit] of adapters) {
      if (!seen.has(name)) {
        adapters.delete(name);
        void hit.transport.close();
      }
    }
  };
  // Routing only names enabled, defined transports or capture.
  const adapter = (name: string): MailTransport => (name === 'capture' ? capture : adapters.get(name)!.transport);
  const refresh = async () => {
    const definitions = await loadTransportDefinitions(ctx);
    syncAdapters(definitions);
    set = { definitions, rules: await getRoutes(ctx), adapter };
    await signer.reload();
    pool?.setKeys(signer.keys());
    await breakers.evaluate();
  };
  await refresh();

  const worker = createDeliveryWorker(
    {
      ctx,
      build,
      transports: () => set,
      gate: createSendGate({ limiter, breakers, owner, clock: ctx.clock }),
      policy: DEFAULT_RETRY_POLICY,
      random: opts.random ?? Math.random,
    },
    { ...DEFAULT_WORKER_OPTIONS, concurrency: config.deliveryConcurrency, leaseMs: config.deliveryLeaseMs, ...opts, owner },
  );
  const unlisten = await limiter.onWake(WAKE_CHANNEL, () => worker.wake());
  const previousWake = ctx.wakeDelivery;
  ctx.wakeDelivery = () => {
    worker.wake();
    void limiter.wake(WAKE_CHANNEL).catch(() => undefined);
  };
  const timer = setInterval(() => void refresh().catch((err: unknown) => ctx.logger.error({ err }, 'delivery refresh failed')), REFRESH_MS);
  timer.unref();
  if (opts.start !== false) worker.start();
  return {
    worker,
    limiter,
    refresh,
    async stop() {
      clearInterval(timer);
      ctx.wakeDelivery = previousWake;
      await worker.stop();
      unlisten();
      for (const { transport } of adapters.values()) await transport.close();
      await capture.close();
      await pool?.close();
      if (!opts.limiter) await limiter.close();
    },
  };
}
