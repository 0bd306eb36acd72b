import type { Command } from 'commander';
import pino from 'pino';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { issueFirstAdminKey } from '../services/api-keys.ts';
import type { CliIo } from './io.ts';

/** `chapar serve`: the HTTP API and the background workers in one process, until a signal stops it. */
export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the HTTP API and background workers (the default for npm start)')
    .option('--port <port>', 'port to listen on (env PORT, default 8025)')
    .option('--host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }) => {
      const env = { ...io.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) };
      const config = loadConfig(env);
      const logger = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] });
      const app = await createApp(config, { logger, env });
      const http = await app.buildHttp();
      // Workers (delivery, flows, scheduler) join here as they are built; each is start(deps) → stop().
      // Loaded here, not at the top: every `chapar` command loads this file, and delivery (templates,
      // transports, build threads) would add ~80 MB to the RSS of e.g. `contacts import`.
      const { startDelivery } = await import('../delivery.ts');
      const delivery = await startDelivery(app);
      // The bounce receiver joins only when a port is configured: most installs point MX elsewhere.
      const { startConfiguredBounceReceiver } = await import('./bounces.ts');
      const bounces = config.bounceReceiver.port === null ? null : await startConfiguredBounceReceiver(app.ctx, config.bounceReceiver);
      // Shopify checkouts idle past the connector's delay become abandoned carts (checked every minute).
      const { startAbandonedCheckoutSweep } = await import('../workers/abandoned-checkouts.ts');
      const abandonedCheckouts = startAbandonedCheckoutSweep(app.ctx);
      // Signups never confirmed are removed a month after their last confirmation email (checked hourly).
      const { startLapsedSignupRemoval } = await import('../workers/lapsed-signups.ts');
      const lapsedSignups = startLapsedSignupRemoval(app.ctx);
      // Unmatched feedback and captured copies are kept only for a while (checked hourly).
      const { startRetention } = await import('../workers/retention.ts');
      const retention = startRetention(app.ctx, config.retention);
      // Segments refreshed every 15 minutes and RFM scored daily (services/segment-schedule.ts).
      const { startSegmentSchedule } = await import('../services/segment-schedule.ts');
      const segmentSchedule = startSegmentSchedule(app.ctx);
      const address = await http.listen({ port: config.port, host: config.host });
      const firstKey = await issueFirstAdminKey(app.ctx);
      const db = app.db.dialect === 'sqlite' ? config.databaseUrl : 'PostgreSQL';
      // With --port 0 the OS picks the port; show the address actually bound.
      const url = config.port === 0 && !io.env.CHAPAR_PUBLIC_URL ? address : config.publicUrl;
      // Printed, not logged: the key must reach the operator once and never a log store.
      io.stdout.write(`\nChapar is running at ${url} (listening on ${address}, database ${db})\nAPI docs: ${url}/api/docs\n`);
      if (bounces) io.stdout.write(`Bounce receiver (SMTP) listening on ${config.bounceReceiver.host}:${bounces.port}\n`);
      if (app.secretCreated) io.stdout.write(`A master secret was generated in ${config.secretFile}; back it up (or set CHAPAR_SECRET).\n`);
      if (firstKey) {
        io.stdout.write(`\nYour admin API key (shown this once; store it now):\n\n  ${firstKey}\n\nTry: curl -H "Authorization: Bearer ${firstKey}" ${url}/api/v1/contacts\n`);
      }
      io.stdout.write('\n');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      logger.info('shutting down');
      await bounces?.close();
      await abandonedCheckouts.stop();
      await lapsedSignups.stop();
      await retention.stop();
      await segmentSchedule.stop();
      await delivery.stop();
      await app.close();
    });
}
