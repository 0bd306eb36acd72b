import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql, { type Connection } from 'mysql2/promise';

/** The MariaDB/MySQL the WooCommerce database tests use: set CHAPAR_TEST_MARIADB=mysql://root@127.0.0.1:3306/test to run them. */
export const TEST_MARIADB_URL: string | undefined = process.env.CHAPAR_TEST_MARIADB || undefined;

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'woocommerce');

/** A throwaway shop database: its URL (for the reader), a writable connection (for seeding), and its removal. */
export interface TestShopDatabase {
  url: string;
  name: string;
  prefix: string;
  /** Writable, multi-statement: the test plays WooCommerce with it. */
  conn: Connection;
  drop(): Promise<void>;
}

/**
 * Creates `chapar_t_<random>` on the CHAPAR_TEST_MARIADB server with WooCommerce's tables under
 * `prefix`: legacy.sql always (every shop has posts, postmeta, options and the item tables),
 * hpos.sql on top for an HPOS shop.
 */
export async function createShopDatabase(storage: 'hpos' | 'legacy', prefix = 'wp_'): Promise<TestShopDatabase> {
  const base = new URL(TEST_MARIADB_URL!);
  const name = `chapar_t_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: TEST_MARIADB_URL! });
  await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci`);
  await admin.end();
  const url = `${base.protocol}//${base.username}${base.password ? `:${base.password}` : ''}@${base.host}/${name}`;
  const conn = await mysql.createConnection({ uri: url, multipleStatements: true, charset: 'utf8mb4', dateStrings: true });
  const load = (file: string) => conn.query(readFileSync(join(FIXTURES, file), 'utf8').replaceAll('{prefix}', prefix));
  await load('legacy.sql');
  if (storage === 'hpos') await load('hpos.sql');
  return {
    url,
    name,
    prefix,
    conn,
    async drop() {
      await conn.query(`DROP DATABASE ${name}`);
      await conn.end();
    },
  };
}

/** A checksum of every table of the shop database, to prove a reader changed nothing. */
export async function checksumShop(db: TestShopDatabase): Promise<string> {
  const [tables] = await db.conn.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME');
  const [sums] = await db.conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${tables.map((r) => `\`${r.t}\``).join(', ')}`);
  return sums.map((r) => `${r.Table}=${r.Checksum}`).join(';');
}
