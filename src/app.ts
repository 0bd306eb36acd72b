import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.ts';
import { loadMasterSecret } from './config/config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { createKeyring } from './lib/secrets.ts';
import type { ServiceContext } from './services/context.ts';
import { createLiquid } from './templates/liquid.ts';
import { createCaptureTransport } from './adapters/transports/capture.ts';
import { createTransportFactory } from './adapters/transports/factory.ts';
import { TrackingUrls } from './templates/tracking-urls.ts';
import { TrackingRecorder } from './services/tracking.ts';
import { createTrackingThread } from './workers/tracking-writer.ts';
import { createHttpsGet } from './adapters/feedback/https-get.ts';
import type { HttpsGet } from './ports/https-get.ts';

/** The version reported by the API docs and `chapar --version`. */
export const VERSION = '0.1.0';

/** A composed Chapar: the database, the service context, and (once asked for) the HTTP server. */
export interface App {
  config: Config;
  db: Database;
  ctx: ServiceContext;
  /** Whether this start generated the master secret file (worth telling the operator to back it up). */
  secretCreated: boolean;
  /** The master secret, for this process's own worker threads only (they derive the same keys). */
  secret: Buffer;
  /** Records opens and clicks in groups; `flush()` writes what is waiting (tests, shutdown). */
  tracking: TrackingRecorder;
  buildHttp(): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** An already open database (tests open one per dialect); otherwise config.databaseUrl is opened. */
  database?: Database;
  /** Outbound HTTPS GETs (SNS certificates and confirmations); real requests unless a test passes a fake. */
  httpsGet?: HttpsGet;
}

/**
 * The composition root: the one place where adapters meet services. Opens the database and
 * applies pending migrations (safe from several processes at once: the migrator takes a lock).
 */
export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = opts.logger ?? pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] });
  const { secret, created } = loadMasterSecret(config, opts.env ?? process.env);
  const db = opts.database ?? openDatabase({ url: config.databaseUrl });
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  } catch (err) {
    await db.close();
    throw err;
  }
  const keyring = createKeyring(secret);
  const composer = { liquid: createLiquid(), urls: new TrackingUrls(config.publicUrl, keyring), prepared: new Map() };
  const clock = opts.clock ?? systemClock;
  const transport = createCaptureTransport({ db, clock });
  const ctx: ServiceContext = { db, clock, keyring, logger, composer, publicUrl: config.publicUrl, transport, wakeDelivery: () => {}, softBounces: config.softBounces };
  // On an SQLite file, opens and clicks are written by a thread of their own (its commits would
  // otherwise stall the event loop that answers readers); PostgreSQL writes are already off-thread.
  const trackingThread = !opts.database && db.dialect === 'sqlite' && config.databaseUrl !== ':memory:' ? createTrackingThread(config.databaseUrl) : null;
  const tracking = new TrackingRecorder(ctx, trackingThread ? { write: (batch) => trackingThread.write(batch) } : {});
  let http: FastifyInstance | undefined;
  return {
    config,
    db,
    ctx,
    secretCreated: created,
    secret,
    tracking,
    async buildHttp() {
      // Loaded on demand: the HTTP stack (Fastify, OpenAPI, MJML for templates) is most of the
      // start-up time and memory, and CLI commands such as an import never need it.
      const { buildHttpServer } = await import('./http/server.ts');
      http ??= await buildHttpServer(ctx, {
        logger,
        bodyLimitBytes: config.bodyLimitBytes,
        bulkBodyLimitBytes: config.bulkBodyLimitBytes,
        publicUrl: config.publicUrl,
        version: VERSION,
        transportFactory: createTransportFactory({ db, clock }),
        txRate: config.txRate,
        trustProxy: config.trustProxy,
        tracking,
        httpsGet: opts.httpsGet ?? createHttpsGet(),
      });
      return http;
    },
    async close() {
      if (http) await http.close();
      await tracking.close();
      await trackingThread?.close();
      await db.close();
    },
  };
}
