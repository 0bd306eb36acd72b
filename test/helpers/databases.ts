import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { DialectName } from '../../src/db/dialect.ts';

/** The dialects every database test runs on: SQLite always, PostgreSQL when CHAPAR_TEST_PG is set. */
export const DIALECTS: DialectName[] = process.env.CHAPAR_TEST_PG ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase extends Database {
  /** The URL (and for PostgreSQL, the schema) a second process would use to reach the same data. */
  url: string;
  schema?: string;
}

/**
 * A fresh, migrated database: an in-memory SQLite, or a new schema in the PostgreSQL named by
 * CHAPAR_TEST_PG that is dropped again on close. Pass `file` to get an SQLite file instead, and
 * `migrate` to stop at an older schema.
 */
export async function openTestDatabase(dialect: DialectName, opts: { file?: string; migrate?: (db: Database) => Promise<unknown> } = {}): Promise<TestDatabase> {
  const migrate = opts.migrate ?? migrateToLatest;
  if (dialect === 'sqlite') {
    const url = opts.file ?? ':memory:';
    const db = openDatabase({ url });
    await migrate(db);
    return { ...db, url };
  }
  const url = process.env.CHAPAR_TEST_PG!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = openDatabase({ url, schema, poolSize: 4 });
  const dropSchema = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  };
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    await dropSchema();
    throw err;
  }
  return {
    ...db,
    url,
    schema,
    async close() {
      await db.close();
      await dropSchema();
    },
  };
}
