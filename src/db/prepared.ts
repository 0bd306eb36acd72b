import type SqliteDatabase from 'better-sqlite3';
import type { Db } from './database.ts';

// SQLite only: statements on the delivery hot path, prepared once per connection. Kysely compiles
// and prepares every query anew, which measured ~1.4 ms of main-thread time per sent message
// (bench:send profile); a prepared statement runs in a few microseconds. Writes through these must
// run inside `inTransaction` (which holds Kysely's connection lock, so nothing interleaves); a read
// outside one sees committed data plus, at worst, this connection's own open transaction.

const cache = new WeakMap<SqliteDatabase.Database, Map<string, SqliteDatabase.Statement>>();

/** The prepared statement for `text` on this SQLite connection, or undefined on PostgreSQL. */
export function sqliteStatement(db: Db, text: string): SqliteDatabase.Statement | undefined {
  if (!db.sqlite) return undefined;
  let byText = cache.get(db.sqlite);
  if (!byText) cache.set(db.sqlite, (byText = new Map()));
  let stmt = byText.get(text);
  if (!stmt) byText.set(text, (stmt = db.sqlite.prepare(text)));
  return stmt;
}
