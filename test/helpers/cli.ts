import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.ts';
import type { DialectName } from '../../src/db/dialect.ts';
import { main } from '../../src/main.ts';
import { openTestDatabase, type TestDatabase } from './databases.ts';

/** What one `chapar` run left behind: its exit code and everything it wrote. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A `chapar` that runs in-process against its own database and scratch folder. */
export interface TestCli {
  db: TestDatabase;
  /** A path in this CLI's scratch folder. */
  path(name: string): string;
  run(args: string[], stdin?: Readable): Promise<CliRun>;
  close(): Promise<void>;
}

/** Runs `chapar` in-process against a fresh database, as a shell would: own env, captured output. */
export async function openTestCli(dialect: DialectName): Promise<TestCli> {
  const dir = mkdtempSync(join(tmpdir(), 'chapar-cli-'));
  const db = await openTestDatabase(dialect, { file: join(dir, 'chapar.db') });
  // The CLI opens DATABASE_URL itself; for PostgreSQL, `options` puts this test's schema on its search path.
  const url = db.schema ? `${db.url}${db.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}` : db.url;
  const env = { CHAPAR_DATA_DIR: dir, CHAPAR_SECRET: Buffer.alloc(32, 7).toString('base64'), LOG_LEVEL: 'silent', DATABASE_URL: url };
  const sink = (chunks: Buffer[]) => ({ write: (s: string | Uint8Array) => chunks.push(Buffer.from(s)) > 0 });
  return {
    db,
    path: (name) => join(dir, name),
    async run(args, stdin) {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const io = { env, stdout: sink(out), stderr: sink(err), stdin } as unknown as CliIo;
      const code = await main(args, io);
      return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    },
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
