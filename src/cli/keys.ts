import type { Command } from 'commander';
import { API_SCOPES, type ApiScope } from '../domain/api-keys.ts';
import { invalid } from '../lib/errors.ts';
import { createApiKey, listApiKeys, revokeKey } from '../services/api-keys.ts';
import { withApp, type CliIo } from './io.ts';

/** `chapar keys create|list|revoke`: API keys from the server's shell (e.g. when the admin key is lost). */
export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('manage API keys');
  keys
    .command('create')
    .description('create an API key and print it (the only time it is shown)')
    .requiredOption('--name <name>', 'what the key is for, e.g. "woocommerce plugin"')
    .option('--scope <scope>', `one of ${API_SCOPES.join(', ')}`, 'write')
    .action(async (opts: { name: string; scope: string }) => {
      if (!API_SCOPES.includes(opts.scope as ApiScope)) throw invalid('--scope', `must be one of ${API_SCOPES.join(', ')}`);
      await withApp(io, async (app) => {
        const { key, secret } = await createApiKey(app.ctx, { name: opts.name, scope: opts.scope as ApiScope });
        io.stdout.write(`created key ${key.id} (${key.scope}): ${secret}\nstore it now; it cannot be shown again\n`);
      });
    });
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .action(async () => {
      await withApp(io, async (app) => {
        const rows = await listApiKeys(app.ctx);
        io.stdout.write('id\tscope\tprefix\tname\tcreated\tlast used\trevoked\n');
        for (const k of rows) {
          const t = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
          io.stdout.write(`${k.id}\t${k.scope}\t${k.prefix}\t${k.name}\t${t(k.createdAt)}\t${t(k.lastUsedAt)}\t${t(k.revokedAt)}\n`);
        }
      });
    });
  keys
    .command('revoke')
    .description('revoke an API key by id')
    .argument('<id>', 'the key id (see keys list)')
    .action(async (id: string) => {
      if (!/^\d+$/.test(id)) throw invalid('id', `"${id}" is not a key id`);
      await withApp(io, async (app) => {
        await revokeKey(app.ctx, Number(id));
        io.stdout.write(`revoked key ${id}\n`);
      });
    });
}
