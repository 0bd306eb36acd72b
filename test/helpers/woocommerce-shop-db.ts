import type { Connection } from 'mysql2/promise';

// Writes orders into a test shop database the way WooCommerce does (formats.md 1.1, 1.2): for
// HPOS a wc_orders row (status with the `wc-` prefix, type shop_order), its billing and shipping
// addresses, operational data and a `shop_order_placehold` post of the same id; for the legacy
// storage a `shop_order` post with the postmeta keys. Line items go to woocommerce_order_items
// and _itemmeta in both. Refunds are separate orders of type `shop_order_refund`.

export interface SeedItem {
  name: string;
  productId: number;
  variationId?: number;
  qty: number;
  /** The line total after discounts, as WooCommerce stores it ("30"). */
  lineTotal: string;
}

export interface SeedOrder {
  id: number;
  /** As stored: `wc-completed`, `wc-checkout-draft`, `trash`… */
  status: string;
  /** For a trashed order: the status it had (kept in `_wp_trash_meta_status`). */
  trashedFrom?: string;
  currency: string;
  total: string;
  discount: string;
  customerId: number;
  billing: { first: string; last: string; email: string; phone: string; city: string; country: string };
  created: Date;
  modified: Date;
  paid?: Date;
  completed?: Date;
  items: SeedItem[];
  coupons: string[];
  refunds?: { id: number; amount: string; at: Date }[];
}

const mysqlDate = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');
// The site's time zone: Tehran, +03:30 (the non-GMT columns are in it).
const siteDate = (d: Date) => mysqlDate(new Date(d.getTime() + 3.5 * 3600_000));

// Every NOT NULL text column of wp_posts without a default.
async function insertPost(conn: Connection, prefix: string, p: { id: number; type: string; status: string; created: Date; modified: Date; parent?: number; password?: string; excerpt?: string; title?: string }): Promise<void> {
  await conn.query(
    `INSERT INTO \`${prefix}posts\` (ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, post_type)
     VALUES (?, 1, ?, ?, '', ?, ?, ?, 'closed', 'closed', ?, ?, '', '', ?, ?, '', ?, '', ?)`,
    [p.id, siteDate(p.created), mysqlDate(p.created), p.title ?? '', p.excerpt ?? '', p.status, p.password ?? '', `order-${p.id}`, siteDate(p.modified), mysqlDate(p.modified), p.parent ?? 0, p.type],
  );
}

async function insertMeta(conn: Connection, table: string, idColumn: string, id: number, meta: Record<string, string>): Promise<void> {
  for (const [k, v] of Object.entries(meta)) await conn.query(`INSERT INTO \`${table}\` (${idColumn}, meta_key, meta_value) VALUES (?, ?, ?)`, [id, k, v]);
}

async function insertItems(conn: Connection, prefix: string, o: SeedOrder): Promise<void> {
  for (const it of o.items) {
    const [r] = await conn.query<import('mysql2').ResultSetHeader>(`INSERT INTO \`${prefix}woocommerce_order_items\` (order_item_name, order_item_type, order_id) VALUES (?, 'line_item', ?)`, [it.name, o.id]);
    await insertMeta(conn, `${prefix}woocommerce_order_itemmeta`, 'order_item_id', r.insertId, {
      _product_id: String(it.productId), _variation_id: String(it.variationId ?? 0), _qty: String(it.qty), _tax_class: '',
      _line_subtotal: it.lineTotal, _line_subtotal_tax: '0', _line_total: it.lineTotal, _line_tax: '0', _line_tax_data: 'a:2:{s:5:"total";a:0:{}s:8:"subtotal";a:0:{}}',
    });
  }
  for (const code of o.coupons) {
    const [r] = await conn.query<import('mysql2').ResultSetHeader>(`INSERT INTO \`${prefix}woocommerce_order_items\` (order_item_name, order_item_type, order_id) VALUES (?, 'coupon', ?)`, [code, o.id]);
    await insertMeta(conn, `${prefix}woocommerce_order_itemmeta`, 'order_item_id', r.insertId, { discount_amount: o.discount, discount_amount_tax: '0' });
  }
  await conn.query(`INSERT INTO \`${prefix}woocommerce_order_items\` (order_item_name, order_item_type, order_id) VALUES ('Flat rate', 'shipping', ?)`, [o.id]);
}

/** Stores a product post with its `_sku` (what order lines name). */
export async function seedProduct(conn: Connection, prefix: string, p: { id: number; name: string; sku: string; parent?: number }): Promise<void> {
  const at = new Date('2024-06-01T00:00:00Z');
  await insertPost(conn, prefix, { id: p.id, type: p.parent ? 'product_variation' : 'product', status: 'publish', created: at, modified: at, parent: p.parent ?? 0, title: p.name });
  await insertMeta(conn, `${prefix}postmeta`, 'post_id', p.id, { _sku: p.sku, _price: '15', _stock_status: 'instock' });
}

/** Writes an order as WooCommerce does with HPOS authoritative (no sync): HPOS rows plus a placeholder post. */
export async function seedHposOrder(conn: Connection, prefix: string, o: SeedOrder): Promise<void> {
  const orderRow = (id: number, type: string, status: string, total: string, parent: number, created: Date) =>
    conn.query(
      `INSERT INTO \`${prefix}wc_orders\` (id, status, currency, type, tax_amount, total_amount, customer_id, billing_email, date_created_gmt, date_updated_gmt, parent_order_id, payment_method, payment_method_title, transaction_id, ip_address, user_agent, customer_note)
       VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, 'bacs', 'Direct bank transfer', '', '203.0.113.7', 'Mozilla/5.0', '')`,
      [id, status, o.currency, type, total, type === 'shop_order' ? o.customerId : 0, type === 'shop_order' ? o.billing.email : null, mysqlDate(created), mysqlDate(type === 'shop_order' ? o.modified : created), parent],
    );
  await insertPost(conn, prefix, { id: o.id, type: 'shop_order_placehold', status: o.status, created: o.created, modified: o.modified });
  await orderRow(o.id, 'shop_order', o.status, o.total, 0, o.created);
  for (const type of ['billing', 'shipping']) {
    await conn.query(
      `INSERT INTO \`${prefix}wc_order_addresses\` (order_id, address_type, first_name, last_name, company, address_1, address_2, city, state, postcode, country, email, phone) VALUES (?, ?, ?, ?, '', 'خیابان ولیعصر', '', ?, '', '1234567890', ?, ?, ?)`,
      [o.id, type, o.billing.first, o.billing.last, o.billing.city, o.billing.country, type === 'billing' ? o.billing.email : null, o.billing.phone],
    );
  }
  await conn.query(
    `INSERT INTO \`${prefix}wc_order_operational_data\` (order_id, created_via, woocommerce_version, prices_include_tax, coupon_usages_are_counted, download_permission_granted, cart_hash, new_order_email_sent, order_key, order_stock_reduced, date_paid_gmt, date_completed_gmt, shipping_tax_amount, shipping_total_amount, discount_tax_amount, discount_total_amount, recorded_sales)
     VALUES (?, 'checkout', '9.4.2', 0, 1, 1, 'e1b2', 1, ?, 1, ?, ?, 0, 0, 0, ?, 1)`,
    [o.id, `wc_order_k${o.id}`, o.paid ? mysqlDate(o.paid) : null, o.completed ? mysqlDate(o.completed) : null, o.discount],
  );
  if (o.trashedFrom) await insertMeta(conn, `${prefix}wc_orders_meta`, 'order_id', o.id, { _wp_trash_meta_status: o.trashedFrom, _wp_trash_meta_time: String(Math.floor(o.modified.getTime() / 1000)) });
  await insertItems(conn, prefix, o);
  for (const r of o.refunds ?? []) {
    await insertPost(conn, prefix, { id: r.id, type: 'shop_order_placehold', status: 'wc-completed', created: r.at, modified: r.at, parent: o.id });
    await orderRow(r.id, 'shop_order_refund', 'wc-completed', `-${r.amount}`, o.id, r.at);
  }
}

/** Writes an order as WooCommerce does with the legacy storage: a shop_order post and its postmeta. */
export async function seedLegacyOrder(conn: Connection, prefix: string, o: SeedOrder): Promise<void> {
  await insertPost(conn, prefix, { id: o.id, type: 'shop_order', status: o.status, created: o.created, modified: o.modified, password: `wc_order_k${o.id}`, title: `Order &ndash; ${o.created.toDateString()}` });
  const meta: Record<string, string> = {
    _order_key: `wc_order_k${o.id}`, _customer_user: String(o.customerId), _order_currency: o.currency, _order_total: o.total,
    _cart_discount: o.discount, _cart_discount_tax: '0', _order_shipping: '0', _order_shipping_tax: '0', _order_tax: '0',
    _payment_method: 'bacs', _payment_method_title: 'Direct bank transfer', _created_via: 'checkout', _order_version: '9.4.2', _prices_include_tax: 'no',
    _billing_first_name: o.billing.first, _billing_last_name: o.billing.last, _billing_email: o.billing.email, _billing_phone: o.billing.phone,
    _billing_city: o.billing.city, _billing_country: o.billing.country, _billing_address_1: 'خیابان ولیعصر',
    _billing_address_index: `${o.billing.first} ${o.billing.last} ${o.billing.city} ${o.billing.email} ${o.billing.phone}`,
    _shipping_first_name: o.billing.first, _shipping_last_name: o.billing.last, _shipping_city: o.billing.city, _shipping_country: o.billing.country,
  };
  if (o.paid) Object.assign(meta, { _date_paid: String(Math.floor(o.paid.getTime() / 1000)), _paid_date: siteDate(o.paid) });
  if (o.completed) Object.assign(meta, { _date_completed: String(Math.floor(o.completed.getTime() / 1000)), _completed_date: siteDate(o.completed) });
  if (o.trashedFrom) Object.assign(meta, { _wp_trash_meta_status: o.trashedFrom, _wp_trash_meta_time: String(Math.floor(o.modified.getTime() / 1000)) });
  await insertMeta(conn, `${prefix}postmeta`, 'post_id', o.id, meta);
  await insertItems(conn, prefix, o);
  for (const r of o.refunds ?? []) {
    await insertPost(conn, prefix, { id: r.id, type: 'shop_order_refund', status: 'wc-completed', created: r.at, modified: r.at, parent: o.id });
    await insertMeta(conn, `${prefix}postmeta`, 'post_id', r.id, { _refund_amount: r.amount, _order_total: `-${r.amount}`, _order_currency: o.currency, _refunded_by: '1' });
  }
}
