import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

// A benchmark that measures nothing is worse than none: after each run, count what landed and
// compare it, row by row, with what the baseline stored from the same file.

// Every column the import writes from the file (ids and timestamps differ between runs by design).
const COLUMNS = 'email, email_key, email_domain, first_name, last_name, locale, timezone, currency, phone';

/** Counts the rows of `contacts` in a SQLite file. */
export function countSqliteContacts(dbPath: string): number {
  const db = new SqliteDatabase(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM contacts').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Counts the rows that one SQLite `contacts` table has and the other lacks, both ways round. */
export function diffSqliteContacts(oursPath: string, baselinePath: string): number {
  const db = new SqliteDatabase(oursPath, { readonly: true });
  try {
    db.prepare('ATTACH DATABASE ? AS base').run(baselinePath);
    const cols = `${COLUMNS}, json(attributes)`;
    const count = (a: string, b: string) =>
      (db.prepare(`SELECT count(*) AS n FROM (SELECT ${cols} FROM ${a}.contacts EXCEPT SELECT ${cols} FROM ${b}.contacts)`).get() as { n: number }).n;
    return count('main', 'base') + count('base', 'main');
  } finally {
    db.close();
  }
}

/** Counts the rows of `contacts` in a PostgreSQL schema. */
export async function countPgContacts(url: string, schema: string): Promise<number> {
  return withPg(url, async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${schema}.contacts`)).rows[0].n));
}

/** Counts the rows that one schema's `contacts` has and the other's lacks, both ways round. */
export async function diffPgContacts(url: string, ours: string, baseline: string): Promise<number> {
  const cols = `${COLUMNS}, attributes`;
  const count = (c: pg.Client, a: string, b: string) =>
    c.query(`SELECT count(*) AS n FROM (SELECT ${cols} FROM ${a}.contacts EXCEPT ALL SELECT ${cols} FROM ${b}.contacts) d`).then((r) => Number(r.rows[0].n));
  return withPg(url, async (c) => (await count(c, ours, baseline)) + (await count(c, baseline, ours)));
}

/** Creates an empty schema. */
export async function createPgSchema(url: string, schema: string): Promise<void> {
  await withPg(url, (c) => c.query(`CREATE SCHEMA ${schema}`));
}

/** Drops a schema and everything in it. */
export async function dropPgSchema(url: string, schema: string): Promise<void> {
  await withPg(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/** Reads the server's version string. */
export async function pgServerVersion(url: string): Promise<string> {
  return withPg(url, async (c) => String((await c.query('SHOW server_version')).rows[0].server_version));
}

/**
 * The URL with `options=-c search_path=SCHEMA` added, so that a program which only takes a URL
 * (Chapar's DATABASE_URL) works inside that schema. pg-connection-string passes `options` through.
 */
export function urlWithSearchPath(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
