import pino from 'pino';
import { loadConfig } from '../config/config.ts';
import { createApp, type App } from '../app.ts';

/** Where a CLI command reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WriteStream;
  /** Read by `contacts import -`; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Set by a command that finished but wants a non-zero exit (e.g. rejected rows); main returns it. */
  exitCode?: number;
}

/**
 * Opens Chapar for a one-off command: logs go to stderr at warn level so that stdout carries
 * only the command's output (an export can be piped).
 */
export async function openAppForCommand(io: CliIo): Promise<App> {
  const config = loadConfig(io.env);
  const logger = pino({ level: io.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  return createApp(config, { logger, env: io.env });
}

/** Opens the app, runs `fn`, and always closes it. */
export async function withApp<T>(io: CliIo, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await openAppForCommand(io);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
