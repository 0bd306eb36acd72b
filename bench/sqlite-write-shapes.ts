import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { readDataLines, toBaselineRow, type BaselineRow } from './baseline-rows.ts';

// `node bin/run-ts.js bench/sqlite-write-shapes.ts FILE.csv [--shape S] [--commit-every N] [--autocheckpoint PAGES]`
// The database side of the import alone: the file's rows are read into memory first (not timed),
// then written to a fresh contacts table in one of the shapes below, with the pragmas of
// src/db/database.ts. It shows what the statement shape and the commit policy cost by themselves.
//   insert1       one prepared single-row INSERT (the baseline's shape)
//   insert500     a 500-row INSERT … VALUES, prepared once
//   upsert500     Chapar's statement: 500-row INSERT … ON CONFLICT DO UPDATE … RETURNING, prepared once
//   upsert500-reprepare  the same, prepared for every batch (what Kysely's SQLite driver does)
//   upsert1       a single-row version of Chapar's statement, prepared once
//   lookup-insert1  Chapar's import before 2026-11-27 08:00: per 500 rows, one SELECT … IN of the
//                 addresses, then a prepared single-row INSERT for each new one
//   insert1-ignore  Chapar's import now: a prepared single-row INSERT … ON CONFLICT DO NOTHING per
//                 row; a row it did not insert would be updated (none here: every address is new)

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    shape: { type: 'string', default: 'upsert500' },
    'commit-every': { type: 'string', default: '0' },
    autocheckpoint: { type: 'string' },
    'cache-mb': { type: 'string' },
  },
});
const csv = positionals[0];
const shape = args.shape!;
const commitEvery = Number(args['commit-every']); // 0: one transaction for everything
const SHAPES = ['insert1', 'insert500', 'upsert500', 'upsert500-reprepare', 'upsert1', 'lookup-insert1', 'insert1-ignore'];
if (!csv || !SHAPES.includes(shape)) {
  console.error(`usage: sqlite-write-shapes.ts FILE.csv [--shape ${SHAPES.join('|')}] [--commit-every ROWS] [--autocheckpoint PAGES] [--cache-mb MB]`);
  process.exit(2);
}

const rows: BaselineRow[] = [];
for await (const line of readDataLines(csv)) rows.push(toBaselineRow(line));

const dir = mkdtempSync(join(tmpdir(), 'chapar-write-shapes-'));
const db = new SqliteDatabase(join(dir, 'shapes.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
if (args.autocheckpoint) db.pragma(`wal_autocheckpoint = ${Number(args.autocheckpoint)}`);
if (args['cache-mb']) db.pragma(`cache_size = -${Number(args['cache-mb']) * 1024}`);
db.exec(`
  CREATE TABLE contacts (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL, email_key TEXT NOT NULL,
    email_domain TEXT NOT NULL, first_name TEXT, last_name TEXT, locale TEXT, timezone TEXT, currency TEXT, phone TEXT,
    attributes TEXT DEFAULT '{}' NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key);
  CREATE INDEX contacts_email_domain ON contacts (email_domain);
`);

const COLUMNS = 'email, email_key, email_domain, first_name, last_name, locale, timezone, currency, phone, attributes, created_at, updated_at';
// As src/db/queries/contacts.ts builds it for SQLite.
const keep = (c: string) => `${c} = COALESCE(excluded.${c}, contacts.${c})`;
const UPSERT_TAIL =
  ` ON CONFLICT (email_key) DO UPDATE SET ${['first_name', 'last_name', 'locale', 'timezone', 'currency', 'phone'].map(keep).join(', ')}, ` +
  'attributes = json_patch(contacts.attributes, excluded.attributes), updated_at = excluded.updated_at ' +
  'RETURNING id, email_key AS "emailKey", created_at AS "createdAt"';
const values = (n: number) => Array.from({ length: n }, () => `(${Array(12).fill('?').join(', ')})`).join(', ');
const statementText = (n: number) =>
  `INSERT INTO contacts (${COLUMNS}) VALUES ${values(n)}${shape.startsWith('upsert') ? UPSERT_TAIL : shape === 'insert1-ignore' ? ' ON CONFLICT (email_key) DO NOTHING' : ''}`;
const perStatement = shape === 'lookup-insert1' ? 500 : shape.endsWith('1') || shape.endsWith('1-ignore') ? 1 : 500;
const insertOne = db.prepare(`INSERT INTO contacts (${COLUMNS}) VALUES (${Array(12).fill('?').join(', ')})`);
const lookups = new Map<number, SqliteDatabase.Statement>();
const lookupFor = (n: number) => {
  let s = lookups.get(n);
  if (!s) lookups.set(n, (s = db.prepare(`SELECT id, email_key AS k FROM contacts WHERE email_key IN (${Array(n).fill('?').join(', ')})`)));
  return s;
};
const prepared = new Map<number, SqliteDatabase.Statement>();
const statementFor = (n: number) => {
  if (shape === 'upsert500-reprepare') return db.prepare(statementText(n));
  let s = prepared.get(n);
  if (!s) prepared.set(n, (s = db.prepare(statementText(n))));
  return s;
};

const now = Date.now();
const started = performance.now();
let sinceCommit = 0;
db.exec('BEGIN');
for (let i = 0; i < rows.length; i += perStatement) {
  const chunk = rows.slice(i, i + perStatement);
  if (shape === 'lookup-insert1') {
    const existing = new Set((lookupFor(chunk.length).all(...chunk.map((r) => r[1])) as { k: string }[]).map((r) => r.k));
    for (const r of chunk) if (!existing.has(r[1])) insertOne.run(...r, now, now);
  } else if (shape === 'insert1-ignore') {
    const s = statementFor(1);
    for (const r of chunk) if (s.run(...r, now, now).changes === 0) throw new Error(`${r[1]} exists`);
  }
  if (shape === 'lookup-insert1' || shape === 'insert1-ignore') {
    sinceCommit += chunk.length;
    if (commitEvery > 0 && sinceCommit >= commitEvery) {
      db.exec('COMMIT');
      db.exec('BEGIN');
      sinceCommit = 0;
    }
    continue;
  }
  const params: unknown[] = [];
  for (const r of chunk) params.push(...r, now, now);
  const s = statementFor(chunk.length);
  if (s.reader) s.all(...params);
  else s.run(...params);
  sinceCommit += chunk.length;
  if (commitEvery > 0 && sinceCommit >= commitEvery) {
    db.exec('COMMIT');
    db.exec('BEGIN');
    sinceCommit = 0;
  }
}
db.exec('COMMIT');
db.close();
const seconds = (performance.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });
console.log(
  `${shape}, ${commitEvery > 0 ? `commit every ${commitEvery} rows` : 'one transaction'}, wal_autocheckpoint ${args.autocheckpoint ?? 'default (1000 pages)'}: ` +
    `${rows.length.toLocaleString('en')} rows in ${seconds.toFixed(1)} s (${Math.round(rows.length / seconds).toLocaleString('en')} rows/s, close included)`,
);
