import type { Command } from 'commander';
import type { CliIo } from './io.ts';
import { withApp } from './io.ts';

/** `chapar migrate`: applies pending migrations and says which (every other command also does this first). */
export function registerMigrate(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      await withApp(io, async (app) => {
        io.stdout.write(`database (${app.db.dialect}) is at the latest schema\n`);
      });
    });
}
