import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { bulkUpsertContacts } from '../../src/services/contacts.ts';
import { openTestDatabase } from '../helpers/databases.ts';
import { TEST_SECRET } from '../helpers/app.ts';

const BIN = join(import.meta.dirname, '../../bin/chapar.js');

// The server and a CLI import are two processes writing one SQLite file. Each write transaction
// takes the write lock up front (BEGIN IMMEDIATE), so they take turns instead of failing with
// "database is locked" / SQLITE_BUSY_SNAPSHOT.
describe('two processes writing one SQLite database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chapar-concurrent-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a CLI import and API bulk upserts at the same time both store everything', async () => {
    const file = join(dir, 'chapar.db');
    const db = await openTestDatabase('sqlite', { file });
    const env = { CHAPAR_SECRET: TEST_SECRET, CHAPAR_DATA_DIR: dir, DATABASE_URL: file, LOG_LEVEL: 'silent' };
    const app = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }), env, database: db });
    const rows = ['email,first_name,plan', ...Array.from({ length: 30_000 }, (_, i) => `cli${i}@example.com,Name${i},gold`)].join('\n');
    writeFileSync(join(dir, 'c.csv'), rows);
    const cli = spawn(process.execPath, [BIN, 'contacts', 'import', join(dir, 'c.csv'), '--quiet'], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    cli.stdout.on('data', (d) => (out += d));
    cli.stderr.on('data', (d) => (err += d));
    let code: number | null | undefined;
    const exited = new Promise<void>((resolve) => cli.on('exit', (c) => resolve(void (code = c))));
    // Keep writing through the API for as long as the import runs, so the two really overlap.
    let apiStored = 0;
    let batches = 0;
    while (code === undefined || batches < 5) {
      const r = await bulkUpsertContacts(app.ctx, Array.from({ length: 200 }, (_, i) => ({ email: `api${batches}-${i}@example.com` })));
      apiStored += r.created;
      batches++;
      // better-sqlite3 is synchronous: yield to the event loop as a server between requests would.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await exited;
    expect(code, err).toBe(0);
    expect(out).toContain('30000 stored (30000 created, 0 updated)');
    expect(apiStored).toBe(batches * 200);
    expect(batches).toBeGreaterThan(5);
    const n = await db.k.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(30_000 + apiStored);
    await app.close();
  }, 120_000);
});
