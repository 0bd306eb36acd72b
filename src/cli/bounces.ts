import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import pino from 'pino';
import type { BounceReceiver } from '../adapters/feedback/bounce-receiver.ts';
import { createApp } from '../app.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { AppError } from '../lib/errors.ts';
import type { ServiceContext } from '../services/context.ts';
import type { CliIo } from './io.ts';

/** The port `chapar bounces` listens on when CHAPAR_BOUNCE_PORT is not set (25 needs root; Postfix or a port forward hands mail on). */
export const DEFAULT_BOUNCE_PORT = 2525;

/**
 * `chapar bounces`: the built-in bounce receiver alone, an SMTP server for the VERP bounce domain
 * (DSNs, ARF complaints, auto-replies, List-Unsubscribe mailto:). `serve` runs it too when
 * CHAPAR_BOUNCE_PORT is set.
 */
export function registerBounces(program: Command, io: CliIo): void {
  program
    .command('bounces')
    .description('run the bounce receiver alone: SMTP for the bounce domain (DSNs, complaints, mailto unsubscribes)')
    .option('--port <port>', `port to listen on (env CHAPAR_BOUNCE_PORT, default ${DEFAULT_BOUNCE_PORT})`)
    .option('--host <host>', 'address to bind (env CHAPAR_BOUNCE_HOST, default 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }) => {
      const env = { ...io.env, ...(opts.port ? { CHAPAR_BOUNCE_PORT: opts.port } : {}), ...(opts.host ? { CHAPAR_BOUNCE_HOST: opts.host } : {}) };
      const config = loadConfig(env);
      const logger = pino({ level: config.logLevel });
      const app = await createApp(config, { logger, env });
      let receiver: BounceReceiver;
      try {
        receiver = await startConfiguredBounceReceiver(app.ctx, config.bounceReceiver);
      } catch (err) {
        await app.close();
        throw err;
      }
      io.stdout.write(`Chapar bounce receiver listening on ${config.bounceReceiver.host}:${receiver.port} (database ${app.db.dialect})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      logger.info('stopping the bounce receiver: finishing the messages in flight');
      await receiver.close();
      await app.close();
      io.stdout.write('bounce receiver stopped\n');
    });
}

/** Starts the receiver as configured (reading the STARTTLS certificate, if any); used by `bounces` and `serve`. */
export async function startConfiguredBounceReceiver(ctx: ServiceContext, c: Config['bounceReceiver']): Promise<BounceReceiver> {
  const tls = c.tlsCertFile && c.tlsKeyFile ? { cert: readPem(c.tlsCertFile, 'CHAPAR_BOUNCE_TLS_CERT'), key: readPem(c.tlsKeyFile, 'CHAPAR_BOUNCE_TLS_KEY') } : null;
  const port = c.port ?? DEFAULT_BOUNCE_PORT;
  // Loaded here: every `chapar` command loads this file, and only these two need an SMTP server.
  const { startBounceReceiver } = await import('../adapters/feedback/bounce-receiver.ts');
  const { bounceMailSink } = await import('../services/bounce-mail.ts');
  try {
    return await startBounceReceiver(bounceMailSink(ctx, c.domains), { host: c.host, port, maxBytes: c.maxBytes, connectionsPerMinute: c.connectionsPerMinute, tls });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new AppError('config_invalid', `the bounce receiver cannot listen on ${c.host}:${port} (${code}); set CHAPAR_BOUNCE_PORT/CHAPAR_BOUNCE_HOST to a free address (ports below 1024 need privileges)`);
    }
    throw err;
  }
}

function readPem(file: string, name: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError('config_invalid', `${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
