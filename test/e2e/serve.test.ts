import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.ts';

const BIN = join(import.meta.dirname, '../../bin/chapar.js');

interface Running {
  child: ChildProcess;
  url: string;
  out: () => string;
  stop(): Promise<number | null>;
}

/** Starts `chapar serve` as a real process and waits until it prints its address. */
async function startServer(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /Chapar is running at (http:\/\/\S+)/.exec(out);
      if (m && out.includes('API docs')) {
        clearInterval(timer);
        // The key (if any) is printed right after; give the process a moment to flush it.
        setTimeout(() => resolve(m[1]!), 200);
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`chapar serve exited with ${code}: ${err}`));
    });
  });
  return {
    child,
    url,
    out: () => out,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.on('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

describe.each(DIALECTS)('`chapar serve` as a process on %s', (dialect) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chapar-serve-'));
  let pgDb: TestDatabase | undefined;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await pgDb?.close();
  });

  async function envFor(): Promise<Record<string, string>> {
    const env: Record<string, string> = { CHAPAR_DATA_DIR: dataDir };
    if (dialect === 'postgres') {
      pgDb ??= await openTestDatabase('postgres');
      env.DATABASE_URL = `${pgDb.url}${pgDb.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${pgDb.schema}`)}`;
    }
    return env;
  }

  it('starts on a fresh data folder, prints the URL and an admin key once, and keeps data across restarts', async () => {
    const env = await envFor();
    const first = await startServer(env);
    const key = /^\s+(chp_\S+)$/m.exec(first.out())?.[1];
    expect(key, first.out()).toBeDefined();
    expect(first.out()).toContain('/api/docs');
    if (dialect === 'sqlite') expect(statSync(join(dataDir, 'chapar.db')).isFile()).toBe(true);
    expect((statSync(join(dataDir, 'secret.key')).mode & 0o777).toString(8)).toBe('600');

    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const created = await fetch(`${first.url}/api/v1/contacts`, { method: 'POST', headers: auth, body: JSON.stringify({ email: 'persist@example.com' }) });
    expect(created.status).toBe(201);
    expect((await fetch(`${first.url}/api/v1/contacts`)).status).toBe(401);
    expect(await first.stop()).toBe(0);

    const second = await startServer(env);
    expect(second.out()).not.toMatch(/chp_/);
    const list = await fetch(`${second.url}/api/v1/contacts`, { headers: auth });
    expect(((await list.json()) as { items: { email: string }[] }).items.map((c) => c.email)).toEqual(['persist@example.com']);
    const docs = await fetch(`${second.url}/api/docs/json`);
    expect(docs.status).toBe(200);
    expect(await second.stop()).toBe(0);
  });
});
