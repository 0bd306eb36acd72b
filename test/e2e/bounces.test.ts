import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { main } from '../../src/main.ts';

// `chapar bounces` (and `serve` with CHAPAR_BOUNCE_PORT) as real processes: they listen, store what
// they receive, and stop cleanly on SIGTERM.

const BIN = join(import.meta.dirname, '../../bin/chapar.js');

const dataDir = mkdtempSync(join(tmpdir(), 'chapar-bounces-'));

/** Starts `chapar …` as a real process and waits for the line that names its SMTP port. */
async function start(args: string[], ready: RegExp, extraEnv: Record<string, string> = {}) {
  const env = { ...process.env, LOG_LEVEL: 'warn', CHAPAR_DATA_DIR: dataDir, CHAPAR_PUBLIC_URL: 'https://shop.example', CHAPAR_SECRET: Buffer.alloc(32, 7).toString('base64'), ...extraEnv };
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = ready.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(Number(m[1]));
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`chapar ${args.join(' ')} exited with ${code}: ${err}`));
    });
  });
  return {
    port,
    out: () => out,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function sendFixture(port: number, name: string): Promise<void> {
  const smtp = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const raw = readFileSync(new URL(`../fixtures/bounces/${name}`, import.meta.url));
  const sent = await smtp.sendMail({ envelope: { from: '', to: 'bounces@bounces.shop.example' }, raw });
  expect(sent.response).toMatch(/^250/);
  smtp.close();
}

async function unmatchedRows() {
  const db = openDatabase({ url: join(dataDir, 'chapar.db') });
  try {
    return await db.k.selectFrom('unmatchedFeedback').select(['source', 'type', 'why']).orderBy('id').execute();
  } finally {
    await db.close();
  }
}

describe('`chapar bounces` as a process', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('receives a bounce for an unknown message, keeps it as unmatched, and stops on SIGTERM', async () => {
    const run = await start(['bounces', '--port', '0'], /listening on 127\.0\.0\.1:(\d+)/);
    await sendFixture(run.port, 'unknown-message-bounce.eml');
    expect(await run.stop()).toBe(0);
    expect(run.out()).toContain('bounce receiver stopped');
    expect(await unmatchedRows()).toEqual([{ source: 'bounce_receiver', type: 'bounced', why: 'no message matches Message-ID <invoice-8812@otherco.example>' }]);
  });

  it('runs inside `serve` when CHAPAR_BOUNCE_PORT is set', async () => {
    const run = await start(['serve', '--port', '0'], /Bounce receiver \(SMTP\) listening on 127\.0\.0\.1:(\d+)/, { CHAPAR_BOUNCE_PORT: '0' });
    await sendFixture(run.port, 'malformed-garbage.eml');
    expect(await run.stop()).toBe(0);
    expect((await unmatchedRows()).map((r) => r.type)).toContain('unrecognised');
  });

  it('explains a port it cannot listen on and a half-configured certificate', async () => {
    const io = (env: Record<string, string>) => {
      const errs: string[] = [];
      return { errs, io: { env: { CHAPAR_DATA_DIR: dataDir, CHAPAR_SECRET: Buffer.alloc(32, 7).toString('base64'), LOG_LEVEL: 'silent', ...env }, stdout: { write: () => true }, stderr: { write: (s: string) => errs.push(s) > 0 } } as never };
    };
    const half = io({ CHAPAR_BOUNCE_TLS_CERT: '/nowhere/cert.pem' });
    expect(await main(['bounces', '--port', '0'], half.io)).toBe(2);
    expect(half.errs.join('')).toContain('CHAPAR_BOUNCE_TLS_CERT and CHAPAR_BOUNCE_TLS_KEY must be set together');
    const missing = io({ CHAPAR_BOUNCE_TLS_CERT: '/nowhere/cert.pem', CHAPAR_BOUNCE_TLS_KEY: '/nowhere/key.pem' });
    expect(await main(['bounces', '--port', '0'], missing.io)).toBe(2);
    expect(missing.errs.join('')).toContain('CHAPAR_BOUNCE_TLS_CERT: cannot read /nowhere/cert.pem (ENOENT)');
  });
});
