import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CamelCasePlugin, CompiledQuery, Kysely, PostgresDialect, SqliteDialect, type DatabaseConnection, type Driver, type Transaction } from 'kysely';
import pg from 'pg';
import type { DialectName } from './dialect.ts';
import type { Tables } from './tables.ts';

/** A database handle: the query builder plus which dialect is behind it. Passed to every query. */
export interface Db {
  k: Kysely<Tables> | Transaction<Tables>;
  dialect: DialectName;
  /**
   * SQLite only: the connection itself, for the few hot statements worth preparing once
   * (Kysely prepares every query anew). Inside a transaction it is the same connection.
   */
  sqlite?: SqliteDatabase.Database;
}

/** An open database that can be closed. Only the composition root and tests hold one. */
export interface Database extends Db {
  k: Kysely<Tables>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`, `sqlite:PATH`, `file:PATH`, a plain path, or `:memory:`. */
  url: string;
  /** PostgreSQL only: the schema to put first on the search path (tests use one schema each). */
  schema?: string;
  /** PostgreSQL only: the pool size. */
  poolSize?: number;
}

/** Opens a database by URL. SQLite files (and their folder) are created on first use. */
export function openDatabase(opts: DatabaseOptions): Database {
  // Nested keys (inside JSON columns: contact attributes, message data) are the user's own and stay as written.
  const plugins = [new CamelCasePlugin({ maintainNestedObjectKeys: true })];
  if (/^postgres(ql)?:\/\//.test(opts.url)) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
      // Counts and ids are BIGINT; they stay far below 2^53, so read them as numbers, not strings.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    const k = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }), plugins });
    return { k, dialect: 'postgres', close: () => k.destroy() };
  }
  const path = sqlitePath(opts.url);
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Checkpoint the WAL every ~40 MB instead of every 4 MB: bulk imports commit often, and the
  // default made checkpoints, not inserts, the cost of an import (bench:import).
  sqlite.pragma('wal_autocheckpoint = 10000');
  const k = new Kysely<Tables>({ dialect: new ImmediateSqliteDialect({ database: sqlite }), plugins });
  return { k, dialect: 'sqlite', sqlite, close: () => k.destroy() };
}

/**
 * SQLite transactions that take the write lock at BEGIN. A plain (deferred) BEGIN that reads
 * first and writes later fails with SQLITE_BUSY_SNAPSHOT when another process (the server and
 * a CLI import) wrote in between; BEGIN IMMEDIATE waits its turn (busy_timeout) instead.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

function sqlitePath(url: string): string {
  if (url === ':memory:') return url;
  return url.replace(/^sqlite:(\/\/)?/, '').replace(/^file:(\/\/)?/, '');
}

/** Runs `fn` in one transaction: all of its writes land, or none do. */
export async function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (db.k.isTransaction) return fn(db);
  return (db.k as Kysely<Tables>).transaction().execute((trx) => fn({ k: trx, dialect: db.dialect, sqlite: db.sqlite }));
}
