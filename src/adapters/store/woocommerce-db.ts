import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { OrderInput } from '../../domain/store.ts';
import { AppError, invalid } from '../../lib/errors.ts';
import { legacyDate, mapDbOrder, type WooDbItemRow, type WooDbOrderRow } from './woocommerce-db-mapping.ts';
import type { WooMapped } from './woocommerce-rest-mapping.ts';
import { parseWooGmtDate, parseWooMoney } from './woocommerce-values.ts';

// Reads orders straight from a WooCommerce shop's MySQL/MariaDB database, in either storage:
// HPOS ({prefix}wc_orders and friends, formats.md 1.1) or legacy posts/postmeta (1.2). The session
// is read-only (the server refuses any write), and orders come in keyset pages by id, so a shop
// of any size is read with bounded memory and a run can resume after the last id it stored.
// The SQL here is the shop's schema, not Chapar's, so it lives with the adapter.

/** Where the shop keeps its orders. */
export type WooStorage = 'hpos' | 'legacy';

/** Which storage was chosen, and why (shown to the user). */
export interface WooStorageChoice {
  storage: WooStorage;
  reason: string;
}

/** One keyset page of orders: each mapped (or skipped, or invalid), and the last id read. */
export interface WooDbBatch {
  results: { id: string; mapped: WooMapped<OrderInput> }[];
  lastId: string;
}

/** A read-only view of one shop database. */
export interface WooShopDb {
  readonly prefix: string;
  /** `host:port/database`, without credentials: names this shop in cursors and messages. */
  readonly label: string;
  detectStorage(): Promise<WooStorageChoice>;
  /** Orders (not refunds) with an id above `afterId`, including trashed ones; for the progress line. */
  countOrders(storage: WooStorage, afterId: string): Promise<number>;
  /** The next page of orders with an id above `afterId`, or undefined when there are no more. */
  readOrders(storage: WooStorage, afterId: string, limit: number): Promise<WooDbBatch | undefined>;
  close(): Promise<void>;
}

/** Opens a read-only session on the shop's database (`mysql://user:pass@host:3306/dbname`). */
export async function openWooShopDb(url: string, prefix = 'wp_'): Promise<WooShopDb> {
  // WordPress allows only these characters in $table_prefix; anything else cannot be a prefix and must not reach SQL.
  if (!/^[A-Za-z0-9_]{1,40}$/.test(prefix)) throw invalid('--prefix', `"${prefix}" is not a WordPress table prefix (letters, digits and _)`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('--db', 'is not a URL; use mysql://user:password@host:3306/database');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw invalid('--db', 'must start with mysql:// (or mariadb://)');
  if (parsed.pathname.replace(/^\//, '') === '') throw invalid('--db', 'names no database; add it after the host: mysql://user@host/wordpress');
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: decodeURIComponent(parsed.pathname.slice(1)),
      charset: 'utf8mb4',
      // Dates as written (UTC `*_gmt` columns; no local-zone conversion) and ids as exact strings.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      connectTimeout: 15_000,
    });
  } catch (err) {
    throw new AppError('import_failed', `cannot connect to the shop database at ${parsed.hostname}: ${(err as Error).message}`);
  }
  // Every statement of this session runs read-only: the shop's data cannot be changed from here.
  // Checked, not assumed: a server (or proxy) that ignores the setting is refused.
  try {
    await conn.query('SET SESSION TRANSACTION READ ONLY');
    if (!(await sessionIsReadOnly(conn))) throw new Error('the server did not make the session read-only');
  } catch (err) {
    await conn.end().catch(() => {});
    throw new AppError('import_failed', `cannot open a read-only session on the shop database: ${(err as Error).message}`);
  }
  return createShopDb(conn, prefix, `${parsed.hostname}:${parsed.port || 3306}${parsed.pathname}`);
}

// MySQL 8 and MariaDB 11 name the variable transaction_read_only; MariaDB 10 only tx_read_only.
async function sessionIsReadOnly(conn: Connection): Promise<boolean> {
  for (const variable of ['transaction_read_only', 'tx_read_only']) {
    try {
      const [r] = await conn.query<RowDataPacket[]>(`SELECT @@session.${variable} AS ro`);
      return String(r[0]?.ro) === '1';
    } catch {
      // Unknown system variable on this server: try the other name.
    }
  }
  return false;
}

const LEGACY_META_KEYS = [
  '_customer_user', '_order_currency', '_order_total', '_cart_discount', '_billing_email', '_billing_first_name',
  '_billing_last_name', '_billing_phone', '_billing_city', '_billing_country', '_date_paid', '_paid_date',
  '_date_completed', '_completed_date', '_order_number',
];
const ITEM_META_KEYS = ['_product_id', '_variation_id', '_qty', '_line_total'];

function createShopDb(conn: Connection, prefix: string, label: string): WooShopDb {
  const t = (name: string) => `\`${prefix}${name}\``;
  const rows = async (sql: string, params: unknown[] = []) => (await conn.query<RowDataPacket[]>(sql, params))[0];

  async function existingTables(names: string[]): Promise<Set<string>> {
    const found = await rows('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)', [names.map((n) => prefix + n)]);
    return new Set(found.map((r) => String(r.name).slice(prefix.length)));
  }

  async function detectStorage(): Promise<WooStorageChoice> {
    const tables = await existingTables(['posts', 'postmeta', 'options', 'wc_orders', 'woocommerce_order_items']);
    if (!tables.has('posts') || !tables.has('woocommerce_order_items')) {
      const others = await rows("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '%woocommerce\\_order\\_items'");
      const hint = others.length ? `; tables found with prefix ${others.map((r) => `"${String(r.name).replace(/woocommerce_order_items$/, '')}"`).join(', ')} (use --prefix)` : '';
      throw new AppError('validation_failed', `no WooCommerce tables with prefix "${prefix}" in this database${hint}`);
    }
    const hpos = tables.has('wc_orders');
    // WooCommerce's own switch says which storage is authoritative; the rest is a fallback for odd installs.
    if (tables.has('options')) {
      const opt = await rows(`SELECT option_value AS v FROM ${t('options')} WHERE option_name = 'woocommerce_custom_orders_table_enabled'`);
      const v = opt[0]?.v;
      if (v === 'yes' && hpos) return { storage: 'hpos', reason: 'woocommerce_custom_orders_table_enabled is yes' };
      if (v === 'no') return { storage: 'legacy', reason: 'woocommerce_custom_orders_table_enabled is no' };
    }
    if ((await rows(`SELECT 1 FROM ${t('posts')} WHERE post_type = 'shop_order_placehold' LIMIT 1`)).length && hpos) {
      return { storage: 'hpos', reason: 'posts holds shop_order_placehold placeholders' };
    }
    if ((await rows(`SELECT 1 FROM ${t('posts')} WHERE post_type = 'shop_order' LIMIT 1`)).length) return { storage: 'legacy', reason: 'posts holds shop_order rows' };
    if (hpos) return { storage: 'hpos', reason: 'the HPOS tables exist and posts holds no orders' };
    return { storage: 'legacy', reason: 'there are no HPOS tables' };
  }

  async function countOrders(storage: WooStorage, afterId: string): Promise<number> {
    const r = storage === 'hpos'
      ? await rows(`SELECT COUNT(*) AS n FROM ${t('wc_orders')} WHERE type = 'shop_order' AND id > ?`, [Number(afterId)])
      : await rows(`SELECT COUNT(*) AS n FROM ${t('posts')} WHERE post_type = 'shop_order' AND ID > ?`, [Number(afterId)]);
    return Number(r[0]?.n ?? 0);
  }

  // Orders of one page in the neutral row shape. Refunds (type shop_order_refund) are other rows, read by readRefunds.
  async function readHposRows(afterId: string, limit: number): Promise<WooDbOrderRow[]> {
    const found = await rows(
      `SELECT o.id, o.status, o.currency, o.total_amount, o.customer_id, o.billing_email, o.date_created_gmt, o.date_updated_gmt,
              op.date_paid_gmt, op.date_completed_gmt, op.discount_total_amount,
              a.first_name, a.last_name, a.phone, a.email AS address_email, a.city, a.country
         FROM ${t('wc_orders')} o
         LEFT JOIN ${t('wc_order_operational_data')} op ON op.order_id = o.id
         LEFT JOIN ${t('wc_order_addresses')} a ON a.order_id = o.id AND a.address_type = 'billing'
        WHERE o.type = 'shop_order' AND o.id > ?
        ORDER BY o.id LIMIT ?`,
      [Number(afterId), limit],
    );
    return found.map((r) => ({
      id: String(r.id), status: r.status, currency: r.currency, total: r.total_amount, discount: r.discount_total_amount,
      customerId: r.customer_id === null ? null : String(r.customer_id), email: r.billing_email ?? r.address_email,
      firstName: r.first_name, lastName: r.last_name, phone: r.phone, city: r.city, country: r.country,
      createdGmt: r.date_created_gmt, updatedGmt: r.date_updated_gmt,
      paidAt: parseWooGmtDate(r.date_paid_gmt), completedAt: parseWooGmtDate(r.date_completed_gmt), number: null,
    }));
  }

  async function readLegacyRows(afterId: string, limit: number): Promise<WooDbOrderRow[]> {
    const posts = await rows(
      `SELECT ID AS id, post_status, post_date_gmt, post_modified_gmt FROM ${t('posts')}
        WHERE post_type = 'shop_order' AND ID > ? ORDER BY ID LIMIT ?`,
      [Number(afterId), limit],
    );
    if (posts.length === 0) return [];
    const meta = new Map<string, Map<string, string>>();
    const metaRows = await rows(`SELECT post_id, meta_key, meta_value FROM ${t('postmeta')} WHERE post_id IN (?) AND meta_key IN (?)`, [posts.map((p) => Number(p.id)), LEGACY_META_KEYS]);
    for (const m of metaRows) {
      const id = String(m.post_id);
      if (!meta.has(id)) meta.set(id, new Map());
      meta.get(id)!.set(m.meta_key, m.meta_value ?? '');
    }
    return posts.map((p) => {
      const id = String(p.id);
      const m = meta.get(id) ?? new Map<string, string>();
      return {
        id, status: p.post_status, currency: m.get('_order_currency') ?? null, total: m.get('_order_total') ?? null,
        discount: m.get('_cart_discount') ?? null, customerId: m.get('_customer_user') ?? null, email: m.get('_billing_email') ?? null,
        firstName: m.get('_billing_first_name') ?? null, lastName: m.get('_billing_last_name') ?? null, phone: m.get('_billing_phone') ?? null,
        city: m.get('_billing_city') ?? null, country: m.get('_billing_country') ?? null,
        createdGmt: p.post_date_gmt, updatedGmt: p.post_modified_gmt,
        paidAt: legacyDate(m.get('_date_paid'), m.get('_paid_date')),
        completedAt: legacyDate(m.get('_date_completed'), m.get('_completed_date')),
        number: m.get('_order_number') ?? null,
      };
    });
  }

  // What was refunded of each order: its refunds are orders of their own with the order as parent;
  // a refund's total is negative, its `_refund_amount` (legacy) positive.
  async function readRefunds(storage: WooStorage, orderIds: string[]): Promise<Map<string, number>> {
    const found = storage === 'hpos'
      ? await rows(`SELECT parent_order_id AS id, total_amount AS amount FROM ${t('wc_orders')} WHERE type = 'shop_order_refund' AND parent_order_id IN (?)`, [orderIds.map(Number)])
      : await rows(
          `SELECT p.post_parent AS id, m.meta_value AS amount FROM ${t('posts')} p JOIN ${t('postmeta')} m ON m.post_id = p.ID AND m.meta_key = '_refund_amount'
            WHERE p.post_type = 'shop_order_refund' AND p.post_parent IN (?)`,
          [orderIds.map(Number)],
        );
    const out = new Map<string, number>();
    for (const r of found) {
      const amount = parseWooMoney(typeof r.amount === 'string' ? r.amount : String(r.amount ?? ''));
      if (amount !== undefined) out.set(String(r.id), (out.get(String(r.id)) ?? 0) + Math.abs(amount));
    }
    return out;
  }

  // Line items and coupons of the given orders, with their item meta; both storages share these tables.
  async function readItems(orderIds: string[]): Promise<Map<string, WooDbItemRow[]>> {
    const byOrder = new Map<string, WooDbItemRow[]>();
    const items = await rows(
      `SELECT order_item_id, order_item_name, order_item_type, order_id FROM ${t('woocommerce_order_items')}
        WHERE order_id IN (?) AND order_item_type IN ('line_item', 'coupon') ORDER BY order_item_id`,
      [orderIds.map(Number)],
    );
    if (items.length === 0) return byOrder;
    const byItem = new Map<string, WooDbItemRow>();
    for (const r of items) {
      const row: WooDbItemRow = { orderId: String(r.order_id), itemId: String(r.order_item_id), type: r.order_item_type, name: r.order_item_name, meta: new Map() };
      byItem.set(row.itemId, row);
      if (!byOrder.has(row.orderId)) byOrder.set(row.orderId, []);
      byOrder.get(row.orderId)!.push(row);
    }
    const meta = await rows(`SELECT order_item_id, meta_key, meta_value FROM ${t('woocommerce_order_itemmeta')} WHERE order_item_id IN (?) AND meta_key IN (?)`, [[...byItem.keys()].map(Number), ITEM_META_KEYS]);
    for (const m of meta) byItem.get(String(m.order_item_id))?.meta.set(m.meta_key, m.meta_value ?? '');
    return byOrder;
  }

  // Products stay posts in both storages; their SKU is the `_sku` postmeta.
  async function readSkus(items: Iterable<WooDbItemRow[]>): Promise<Map<string, string>> {
    const ids = new Set<number>();
    for (const list of items) for (const it of list) for (const k of ['_product_id', '_variation_id']) {
      const v = Number(it.meta.get(k));
      if (Number.isSafeInteger(v) && v > 0) ids.add(v);
    }
    const skus = new Map<string, string>();
    if (ids.size === 0) return skus;
    for (const r of await rows(`SELECT post_id, meta_value FROM ${t('postmeta')} WHERE meta_key = '_sku' AND post_id IN (?)`, [[...ids]])) {
      if (r.meta_value) skus.set(String(r.post_id), String(r.meta_value));
    }
    return skus;
  }

  async function readOrders(storage: WooStorage, afterId: string, limit: number): Promise<WooDbBatch | undefined> {
    const orders = storage === 'hpos' ? await readHposRows(afterId, limit) : await readLegacyRows(afterId, limit);
    if (orders.length === 0) return undefined;
    const items = await readItems(orders.map((o) => o.id));
    const skus = await readSkus(items.values());
    const refunds = await readRefunds(storage, orders.map((o) => o.id));
    return {
      results: orders.map((o) => ({ id: o.id, mapped: mapDbOrder({ ...o, refunded: refunds.get(o.id) ?? 0 }, items.get(o.id) ?? [], skus) })),
      lastId: orders[orders.length - 1]!.id,
    };
  }

  return { prefix, label, detectStorage, countOrders, readOrders, close: () => conn.end() };
}
