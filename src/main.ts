import { Command, CommanderError } from 'commander';
import { VERSION } from './app.ts';
import { registerBounces } from './cli/bounces.ts';
import { registerContacts } from './cli/contacts.ts';
import { registerDkim } from './cli/dkim.ts';
import type { CliIo } from './cli/io.ts';
import { registerKeys } from './cli/keys.ts';
import { registerMaillog } from './cli/maillog.ts';
import { registerMigrate } from './cli/migrate.ts';
import { registerServe } from './cli/serve.ts';
import { registerStore } from './cli/store.ts';
import { registerTopics } from './cli/topics.ts';
import { registerWorker } from './cli/worker.ts';
import { registerWoocommerce } from './cli/woocommerce.ts';
import { AppError } from './lib/errors.ts';

/** Runs the `chapar` command line; returns the exit code (0 ok, 1 failed, 2 usage or validation error, 3 import with rejected rows). */
export async function main(argv: string[], io: CliIo = { env: process.env, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = new Command('chapar')
    .description('Chapar: email marketing and transactional email for online stores')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerServe(program, io);
  registerMigrate(program, io);
  registerKeys(program, io);
  registerTopics(program, io);
  registerWorker(program, io);
  registerContacts(program, io);
  registerDkim(program, io);
  registerMaillog(program, io);
  registerBounces(program, io);
  registerStore(program, io);
  registerWoocommerce(program, io);
  for (const c of program.commands) c.exitOverride();
  io.exitCode = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return io.exitCode ?? 0;
  } catch (err) {
    // --help and --version end with code 0; every other commander error is a usage error (2).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof AppError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
