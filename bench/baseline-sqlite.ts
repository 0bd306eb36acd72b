import SqliteDatabase from 'better-sqlite3';
import { readDataLines, toBaselineRow } from './baseline-rows.ts';

// The SQLite baseline: the plainest fast way to load the file. One prepared INSERT, run once per
// line inside a single transaction, into a table shaped like Chapar's `contacts` (same columns,
// same two indexes), with the pragmas src/db/database.ts sets.
// Usage: node bin/run-ts.js bench/baseline-sqlite.ts FILE.csv DB_PATH   (prints {"rows": N})

const [csvPath, dbPath] = process.argv.slice(2);
if (!csvPath || !dbPath) {
  console.error('usage: baseline-sqlite.ts FILE.csv DB_PATH');
  process.exit(2);
}
const db = new SqliteDatabase(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
// As the foundation migration creates it (Kysely's DDL for SQLite).
db.exec(`
  CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    email_domain TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    locale TEXT,
    timezone TEXT,
    currency TEXT,
    phone TEXT,
    attributes TEXT DEFAULT '{}' NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key);
  CREATE INDEX contacts_email_domain ON contacts (email_domain);
`);
const insert = db.prepare(
  `INSERT INTO contacts (email, email_key, email_domain, first_name, last_name, locale, timezone, currency, phone, attributes, created_at, updated_at)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const now = Date.now();
let rows = 0;
db.exec('BEGIN');
for await (const line of readDataLines(csvPath)) {
  insert.run(...toBaselineRow(line), now, now);
  rows++;
}
db.exec('COMMIT');
db.close();
console.log(JSON.stringify({ rows }));
