import type { Command } from 'commander';
import pino from 'pino';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import type { CliIo } from './io.ts';

/**
 * `chapar worker`: the delivery workers alone, without the HTTP API. Run as many as needed, on as
 * many machines, against one PostgreSQL (and one Redis for shared limits): leases keep them apart.
 */
export function registerWorker(program: Command, io: CliIo): void {
  program
    .command('worker')
    .description('run the delivery workers without the HTTP API (scale out: one per process or machine)')
    .option('--concurrency <n>', 'sends in flight in this process (env CHAPAR_DELIVERY_CONCURRENCY, default 32)')
    .action(async (opts: { concurrency?: string }) => {
      const env = { ...io.env, ...(opts.concurrency ? { CHAPAR_DELIVERY_CONCURRENCY: opts.concurrency } : {}) };
      const config = loadConfig(env);
      const logger = pino({ level: config.logLevel });
      const app = await createApp(config, { logger, env });
      // Loaded here, not at the top: every `chapar` command loads this file, and delivery (templates,
      // transports, build threads) would add ~80 MB to the RSS of e.g. `contacts import`.
      const { startDelivery } = await import('../delivery.ts');
      const delivery = await startDelivery(app);
      const limits = config.redisUrl ? 'limits shared through Redis' : 'limits kept in this process (set CHAPAR_REDIS_URL to share them)';
      io.stdout.write(`Chapar delivery worker running (database ${app.db.dialect}, ${limits})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      logger.info('stopping: finishing the sends in flight');
      await delivery.stop();
      await app.close();
    });
}
