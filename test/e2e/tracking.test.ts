import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { seedTrackedMessages } from '../../bench/events-seed.ts';
import { TEST_SECRET } from '../helpers/app.ts';

const BIN = join(import.meta.dirname, '../../bin/chapar.js');

// On an SQLite file `chapar serve` writes opens and clicks from a thread of its own; a clean stop
// must still leave every answered hit in the database.
describe('tracking hits on a real `chapar serve` with an SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chapar-tracking-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers every click and open at once and has stored them all after SIGTERM', async () => {
    const env = { CHAPAR_DATA_DIR: dir, CHAPAR_SECRET: TEST_SECRET, CHAPAR_PUBLIC_URL: 'http://127.0.0.1:1', LOG_LEVEL: 'warn' };
    const seedApp = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }), env });
    const seeded = await seedTrackedMessages(seedApp, 5);
    await seedApp.close();

    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /listening on (http:\/\/[^\s,)]+)/.exec(out);
        if (m) {
          clearInterval(timer);
          resolve(m[1]!);
        }
      }, 50);
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const path = (u: string) => u.replace('http://127.0.0.1:1', '');
    for (let round = 0; round < 20; round++) {
      for (const c of seeded.clicks) {
        const r = await fetch(url + path(c), { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0' } });
        expect(r.status).toBe(302);
        await r.arrayBuffer();
      }
      for (const p of seeded.pixels) {
        const r = await fetch(url + path(p));
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      }
    }
    child.removeAllListeners('exit');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const db = openDatabase({ url: join(dir, 'chapar.db') });
    const count = async (type: string) => Number((await db.k.selectFrom('events').select(({ fn }) => fn.countAll().as('n')).where('type', '=', type).executeTakeFirstOrThrow()).n);
    expect(await count('email_clicked')).toBe(100);
    expect(await count('email_opened')).toBe(100);
    await db.close();
  });
});
