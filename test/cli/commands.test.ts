import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { main } from '../../src/main.ts';
import { authenticateApiKey, listApiKeys } from '../../src/services/api-keys.ts';
import { openTestCli, type TestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';

const COMMANDS = [
  ['serve'],
  ['migrate'],
  ['keys'],
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'revoke'],
  ['topics'],
  ['topics', 'list'],
  ['topics', 'create'],
  ['contacts'],
  ['contacts', 'import'],
  ['contacts', 'export'],
  ['dkim'],
  ['dkim', 'generate'],
  ['dkim', 'import'],
  ['dkim', 'list'],
  ['dkim', 'retire'],
  ['worker'],
  ['bounces'],
  ['maillog'],
  ['maillog', 'import'],
  ['maillog', 'follow'],
  ['orders'],
  ['orders', 'import'],
  ['products'],
  ['products', 'import'],
  ['woocommerce'],
  ['woocommerce', 'backfill'],
];

describe('chapar usage', () => {
  let cli: TestCli;
  beforeAll(async () => {
    cli = await openTestCli('sqlite');
  });
  afterAll(async () => cli.close());

  it('prints --help for every command on stdout and exits 0', async () => {
    const root = await cli.run(['--help']);
    expect(root.code).toBe(0);
    expect(root.stderr).toBe('');
    expect(root.stdout).toMatch(/^Usage: chapar \[options\] \[command\]/);
    for (const name of ['serve', 'migrate', 'keys', 'topics', 'contacts', 'dkim', 'worker', 'bounces', 'maillog', 'orders', 'products', 'woocommerce']) expect(root.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    for (const command of COMMANDS) {
      const r = await cli.run([...command, '--help']);
      expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^Usage: chapar ${command.join(' ')} `));
    }
    const importHelp = (await cli.run(['contacts', 'import', '--help'])).stdout;
    for (const words of ['--map <header=field>', '--delimiter <char>', '--consent-wording <text>', '--consent-version <id>', '--rejects <file>', '--quiet', 'topic.<key>', 'Exit codes']) expect(importHelp).toContain(words);
    expect((await cli.run(['help', 'contacts'])).stdout).toMatch(/^Usage: chapar contacts /);
    expect(await cli.run(['--version'])).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('exits 2 with the usage on stderr for a missing or unknown command or option', async () => {
    const none = await cli.run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: chapar /);
    const group = await cli.run(['keys']);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/^Usage: chapar keys /);
    expect(await cli.run(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
    expect(await cli.run(['topics', 'list', '--colour'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown option '--colour'") });
  });

  it('does not carry one run\'s exit code into the next run on the same io', async () => {
    const file = cli.path('reject.csv');
    writeFileSync(file, 'email\nnot-an-address\n');
    const io = { env: { CHAPAR_DATA_DIR: cli.path('data'), CHAPAR_SECRET: Buffer.alloc(32, 7).toString('base64'), LOG_LEVEL: 'silent' }, stdout: { write: () => true }, stderr: { write: () => true } } as unknown as CliIo;
    expect(await main(['contacts', 'import', '--quiet', file], io)).toBe(3);
    expect(await main(['topics', 'list'], io)).toBe(0);
  });
});

describe.each(DIALECTS)('chapar keys, topics and migrate on %s', (dialect) => {
  let cli: TestCli;
  beforeAll(async () => {
    cli = await openTestCli(dialect);
  });
  afterAll(async () => cli.close());

  it('migrate says which database is at the latest schema', async () => {
    expect(await cli.run(['migrate'])).toEqual({ code: 0, stdout: `database (${dialect}) is at the latest schema\n`, stderr: '' });
  });

  it('creates keys that authenticate, lists them without secrets, and revokes them', async () => {
    const plugin = await cli.run(['keys', 'create', '--name', 'woocommerce plugin']);
    expect(plugin.code).toBe(0);
    const [, pluginId, pluginSecret] = /^created key (\d+) \(write\): (chp_\S+)\nstore it now; it cannot be shown again\n$/.exec(plugin.stdout) ?? [];
    expect(pluginSecret).toBeDefined();
    const admin = await cli.run(['keys', 'create', '--name', 'ops', '--scope', 'admin']);
    const [, adminId, adminSecret] = /^created key (\d+) \(admin\): (chp_\S+)\n/.exec(admin.stdout) ?? [];

    const deps = { db: cli.db, clock: systemClock };
    expect(await authenticateApiKey(deps, pluginSecret!)).toMatchObject({ id: Number(pluginId), name: 'woocommerce plugin', scope: 'write' });
    expect(await authenticateApiKey(deps, adminSecret!)).toMatchObject({ id: Number(adminId), scope: 'admin' });

    const list = await cli.run(['keys', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('id\tscope\tprefix\tname\tcreated\tlast used\trevoked');
    expect(lines).toHaveLength(3);
    const cells = lines[1]!.split('\t');
    expect(cells.slice(0, 2)).toEqual([pluginId, 'write']);
    expect(pluginSecret!.startsWith(`${cells[2]}_`)).toBe(true);
    expect(cells[3]).toBe('woocommerce plugin');
    expect(cells[4]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(cells[5]).toMatch(/^\d{4}-\d\d-\d\dT/); // used just now
    expect(cells[6]).toBe('-');
    expect(list.stdout).not.toContain(pluginSecret!.slice(17));

    expect(await cli.run(['keys', 'revoke', pluginId!])).toEqual({ code: 0, stdout: `revoked key ${pluginId}\n`, stderr: '' });
    expect(await authenticateApiKey(deps, pluginSecret!)).toBeUndefined();
    expect(await authenticateApiKey(deps, adminSecret!)).toBeDefined();
    expect((await listApiKeys(deps)).find((k) => k.id === Number(pluginId))!.revokedAt).not.toBeNull();
    expect((await cli.run(['keys', 'list'])).stdout.split('\n')[1]!.split('\t')[6]).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('refuses bad key commands with exit 2 and a message', async () => {
    expect(await cli.run(['keys', 'revoke', '999999'])).toEqual({ code: 2, stdout: '', stderr: 'error: API key 999999 does not exist or is already revoked\n' });
    expect(await cli.run(['keys', 'revoke', 'abc'])).toEqual({ code: 2, stdout: '', stderr: 'error: id: "abc" is not a key id\n' });
    expect(await cli.run(['keys', 'create', '--name', 'x', '--scope', 'root'])).toEqual({ code: 2, stdout: '', stderr: 'error: --scope: must be one of read, write, admin\n' });
    expect(await cli.run(['keys', 'create'])).toMatchObject({ code: 2, stderr: expect.stringContaining("required option '--name <name>' not specified") });
    expect(await cli.run(['keys', 'create', '--name', '  '])).toEqual({ code: 2, stdout: '', stderr: 'error: name: must not be empty\n' });
    const names = (await listApiKeys({ db: cli.db })).map((k) => k.name);
    expect(names).not.toContain('x');
  });

  it('creates and lists topics, refusing duplicates and bad keys', async () => {
    expect(await cli.run(['topics', 'list'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await cli.run(['topics', 'create', 'promotions', '--name', ' Promotions '])).toEqual({ code: 0, stdout: 'created topic promotions\n', stderr: '' });
    expect(await cli.run(['topics', 'create', 'newsletter', '--name', 'Weekly newsletter', '--description', 'Every Friday'])).toMatchObject({ code: 0, stdout: 'created topic newsletter\n' });
    expect(await cli.run(['topics', 'list'])).toEqual({ code: 0, stdout: 'newsletter\tWeekly newsletter\npromotions\tPromotions\n', stderr: '' });
    expect(await cli.run(['topics', 'create', 'newsletter', '--name', 'Again'])).toEqual({ code: 2, stdout: '', stderr: 'error: topic "newsletter" already exists\n' });
    expect(await cli.run(['topics', 'create', 'Bad Key', '--name', 'Bad'])).toMatchObject({ code: 2, stderr: expect.stringContaining('error: key: must be lower-case letters') });
    expect(await cli.run(['topics', 'create', 'nameless'])).toMatchObject({ code: 2, stderr: expect.stringContaining("required option '--name <name>' not specified") });
    const topics = await cli.db.k.selectFrom('topics').select(['key', 'name', 'description']).orderBy('key').execute();
    expect(topics).toEqual([
      { key: 'newsletter', name: 'Weekly newsletter', description: 'Every Friday' },
      { key: 'promotions', name: 'Promotions', description: null },
    ]);
  });
});
