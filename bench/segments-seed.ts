// The store data bench:segments measures against, generated inside the database by SQL (a number
// series and integer hashes, so every run at a scale makes the same rows): contacts with
// attributes, a newsletter topic, orders skewed so a few contacts buy often and many once or
// never, events (product views, human and machine opens, clicks), carts, and the per-contact
// metrics the store-data service would keep.
import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';

export const DAY = 86_400_000;

export interface SeedSizes {
  contacts: number;
  orders: number;
  events: number;
}

/** `a..b` as rows of `i` in the dialect's way. */
function series(db: Db, from: number, to: number): string {
  return db.dialect === 'postgres'
    ? `generate_series(${from}::bigint, ${to}::bigint) AS s(i)`
    : `(WITH RECURSIVE s(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM s WHERE i < ${to}) SELECT i FROM s) s`;
}

/** A deterministic hash of i into 0..999_999 (Knuth's multiplicative constant, a different salt per use). */
const h = (salt: number) => `(((i * 2654435761 + ${salt * 40503}) % 1000003) % 1000000)`;

/** Runs one statement in its own transaction. */
async function run(db: Db, text: string): Promise<void> {
  if (db.sqlite) db.sqlite.exec(`BEGIN; ${text}; COMMIT;`);
  else await sql.raw(text).execute(db.k);
}

/** Fills an empty, migrated database; `now` is the newest time any row gets. Logs the time per table. */
export async function seedStore(db: Db, n: SeedSizes, now: number, log: (line: string) => void): Promise<void> {
  const pg = db.dialect === 'postgres';
  const json = pg ? 'jsonb_build_object' : 'json_object';
  const chunk = 500_000;
  const inChunks = async (total: number, what: string, make: (from: number, to: number) => string) => {
    const t0 = Date.now();
    for (let from = 1; from <= total; from += chunk) {
      const to = Math.min(total, from + chunk - 1);
      await run(db, make(from, to));
    }
    log(`  ${what}: ${total.toLocaleString('en-US')} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  const city = `CASE i % 5 WHEN 0 THEN 'Tehran' WHEN 1 THEN 'Shiraz' WHEN 2 THEN 'Isfahan' WHEN 3 THEN 'Tabriz' ELSE 'Mashhad' END`;
  await inChunks(n.contacts, 'contacts', (a, b) => `INSERT INTO contacts (id, email, email_key, email_domain, first_name, attributes, created_at, updated_at)
    SELECT i, 'c' || i || '@example.com', 'c' || i || '@example.com', 'example.com', 'Name' || (i % 1000),
      ${json}('city', ${city}, 'age', 18 + i % 50), ${now} - ${h(1)} % 1000 * ${DAY}, ${now} - ${h(1)} % 1000 * ${DAY} FROM ${series(db, a, b)}`);
  if (pg) await run(db, `SELECT setval(pg_get_serial_sequence('contacts', 'id'), ${n.contacts})`);

  await run(db, `INSERT INTO topics (key, name, created_at, updated_at) VALUES ('newsletter', 'Newsletter', 0, 0)`);
  await inChunks(n.contacts, 'subscriptions', (a, b) => `INSERT INTO subscriptions (contact_id, topic_id, status, updated_at)
    SELECT i, 1, CASE WHEN i % 10 < 7 THEN 'subscribed' WHEN i % 10 = 7 THEN 'unsubscribed' ELSE 'pending' END, ${now - 400 * DAY} FROM ${series(db, a, b)} WHERE i % 10 < 9`);

  // Buyers are the first 70% of contacts; u⁵ skews orders towards low ids (a few loyal buyers, a long tail of one-time ones).
  const buyers = Math.max(1, Math.floor(n.contacts * 0.7));
  // Two independent hashes make u fine-grained: one alone (10^6 values) gives each value to ~5 orders at full scale, so nobody would buy once.
  const u = `((${h(2)} * 1000000.0 + (i * 40503 + 7) % 999983) / 1000000000000.0)`;
  const int = (x: string) => (pg ? `floor(${x})::integer` : `CAST(${x} AS INTEGER)`);
  await inChunks(n.orders, 'orders', (a, b) => `INSERT INTO orders (source, external_id, contact_id, status, currency, total, ordered_at, created_at, updated_at)
    SELECT 'bench', 'o' || i, 1 + ${int(`${buyers - 1} * ${u} * ${u} * ${u} * ${u} * ${u}`)},
      CASE WHEN i % 20 < 17 THEN 'completed' WHEN i % 20 = 17 THEN 'processing' WHEN i % 20 = 18 THEN 'cancelled' ELSE 'refunded' END,
      'IRT', 100000 + ${h(3)} * 5, ${now} - ${h(4)} % 730000 * 86400, ${now} - ${h(4)} % 730000 * 86400, ${now} - ${h(4)} % 730000 * 86400 FROM ${series(db, a, b)}`);

  await inChunks(n.events, 'events', (a, b) => `INSERT INTO events (type, contact_id, properties, occurred_at, machine, source)
    SELECT CASE WHEN i % 20 < 12 THEN 'viewed_product' WHEN i % 20 < 17 THEN 'email_opened' WHEN i % 20 < 19 THEN 'email_clicked' ELSE 'added_to_cart' END,
      1 + ${h(5)} % ${n.contacts}, ${json}('price', ${h(6)} % 5000000), ${now} - ${h(7)} % 180000 * 86400,
      CASE WHEN i % 20 IN (12, 13) THEN 'apple_mpp' END, 'bench' FROM ${series(db, a, b)}`);

  const carts = Math.floor(n.contacts / 10);
  await inChunks(carts, 'carts', (a, b) => `INSERT INTO carts (source, external_id, contact_id, status, value, source_updated_at, abandoned_at, created_at, updated_at)
    SELECT 'bench', 'k' || i, 1 + ${h(8)} % ${n.contacts}, CASE WHEN i % 10 < 5 THEN 'abandoned' WHEN i % 10 < 8 THEN 'open' ELSE 'converted' END,
      ${h(9)} * 20, ${now} - ${h(10)} % 60000 * 86400, CASE WHEN i % 10 < 5 THEN ${now} - ${h(10)} % 60000 * 86400 END,
      ${now} - ${h(10)} % 60000 * 86400, ${now} - ${h(10)} % 60000 * 86400 FROM ${series(db, a, b)}`);

  const t0 = Date.now();
  await run(db, `INSERT INTO contact_metrics (contact_id, orders_count, total_spent, average_order_value, first_order_at, last_order_at, updated_at)
    SELECT contact_id, COUNT(*), SUM(total), AVG(total), MIN(ordered_at), MAX(ordered_at), ${now - DAY} FROM orders WHERE status IN ('processing', 'completed') GROUP BY contact_id`);
  log(`  contact_metrics (as the store-data service keeps them): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (db.sqlite) db.sqlite.exec('ANALYZE');
  else await sql.raw('ANALYZE').execute(db.k);
}

/** Adds `count` new purchase orders for random contacts (ids after `offset`), updating their metrics as the store-data service would. */
export async function addNewOrders(db: Db, count: number, offset: number, contacts: number, now: number): Promise<void> {
  const source = `bench-new-${offset}`;
  const touched = `SELECT DISTINCT contact_id FROM orders WHERE source = '${source}'`;
  await run(db, `INSERT INTO orders (source, external_id, contact_id, status, currency, total, ordered_at, created_at, updated_at)
    SELECT '${source}', 'n' || i, 1 + ${h(11 + offset)} % ${contacts}, 'completed', 'IRT', 100000 + ${h(12)} * 5, ${now}, ${now}, ${now}
    FROM ${series(db, 1, count)}`);
  const upsert = `INSERT INTO contact_metrics (contact_id, orders_count, total_spent, average_order_value, first_order_at, last_order_at, updated_at)
    SELECT contact_id, COUNT(*), SUM(total), AVG(total), MIN(ordered_at), MAX(ordered_at), ${now} FROM orders
    WHERE status IN ('processing', 'completed') AND contact_id IN (${touched}) GROUP BY contact_id
    ON CONFLICT (contact_id) DO UPDATE SET orders_count = excluded.orders_count, total_spent = excluded.total_spent, average_order_value = excluded.average_order_value,
      first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at, updated_at = excluded.updated_at`;
  await run(db, upsert);
}
