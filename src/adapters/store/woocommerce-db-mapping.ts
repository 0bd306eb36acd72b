import { roundMoney, type OrderInput, type OrderItemInput } from '../../domain/store.ts';
import type { WooMapped } from './woocommerce-rest-mapping.ts';
import { mapWooStatus, parseUnixSeconds, parseWooGmtDate, parseWooMoney, textOrNull, wooIdOrNull } from './woocommerce-values.ts';

// Rows of a WooCommerce database (HPOS tables or posts/postmeta, formats.md 1.1, 1.2) onto
// OrderInput. Both storages are first brought to one neutral shape, then mapped once. Pure.

/** One order as either storage holds it, before mapping; money and dates as the database returns them (strings). */
export interface WooDbOrderRow {
  id: string;
  /** With the `wc-` prefix, or `trash`. */
  status: string | null;
  currency: string | null;
  total: string | null;
  /** The sum of the order's refunds (positive), from its shop_order_refund rows; absent: none. */
  refunded?: number;
  discount: string | null;
  customerId: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  city: string | null;
  country: string | null;
  /** UTC DATETIME strings (`2026-11-01 09:30:00`). */
  createdGmt: string | null;
  updatedGmt: string | null;
  /** Paid and completed times in milliseconds, already read from whichever column or meta key holds them. */
  paidAt: number | null;
  completedAt: number | null;
  number: string | null;
}

/** One row of `woocommerce_order_items` with the item meta the backfill reads. */
export interface WooDbItemRow {
  orderId: string;
  itemId: string;
  type: string;
  name: string;
  meta: Map<string, string>;
}

/** Postmeta date keys: `_date_paid` (unix seconds, WC ≥ 3.0) before `_paid_date` (a DATETIME in the site's zone, so only a fallback). */
export function legacyDate(unix: string | undefined, mysqlLocal: string | undefined): number | null {
  return parseUnixSeconds(unix) ?? parseWooGmtDate(mysqlLocal);
}

// City and country, as the webhooks keep them; empty ones are left out.
function addressAttributes(city: string | null, country: string | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const c = textOrNull(city);
  const k = textOrNull(country);
  if (c) out.city = c;
  if (k) out.country = k.toUpperCase();
  return out;
}

/** Maps one order row with its items (line items and coupons) and the SKUs of the products they name. */
export function mapDbOrder(row: WooDbOrderRow, items: readonly WooDbItemRow[], skus: ReadonlyMap<string, string>): WooMapped<OrderInput> {
  const status = mapWooStatus(row.status, row.paidAt !== null);
  if (status.kind === 'skip') return { kind: 'skip', reason: `order ${row.id} is ${status.reason}` };
  const total = parseWooMoney(row.total ?? '');
  if (total === undefined) return { kind: 'invalid', reason: `order ${row.id}: total ${JSON.stringify(row.total)} is not a number` };
  const currency = textOrNull(row.currency);
  if (!currency || !/^[A-Za-z]{3}$/.test(currency)) return { kind: 'invalid', reason: `order ${row.id}: currency ${JSON.stringify(row.currency)} is not a 3-letter code` };
  // A legacy order saved as a draft can keep the zero GMT date; its modification time is the best there is.
  const orderedAt = parseWooGmtDate(row.createdGmt) ?? parseWooGmtDate(row.updatedGmt);
  if (orderedAt === null) return { kind: 'invalid', reason: `order ${row.id} has no creation date` };
  // As with webhooks: with neither an address nor an account there is nobody to link the order to.
  if (!textOrNull(row.email) && !wooIdOrNull(row.customerId)) return { kind: 'skip', reason: `order ${row.id} has no email and no customer account` };
  const lines: OrderItemInput[] = [];
  const coupons: string[] = [];
  for (const it of items) {
    if (it.type === 'coupon') {
      const code = textOrNull(it.name);
      if (code) coupons.push(code);
      continue;
    }
    if (it.type !== 'line_item') continue;
    const quantity = Number(it.meta.get('_qty') ?? '1');
    const lineTotal = parseWooMoney(it.meta.get('_line_total') ?? '') ?? 0;
    const productId = wooIdOrNull(it.meta.get('_product_id'));
    const variationId = wooIdOrNull(it.meta.get('_variation_id'));
    lines.push({
      productExternalId: productId,
      // A variation carries its own SKU; the parent's is the fallback, as WooCommerce shows it.
      sku: (variationId ? skus.get(variationId) : undefined) ?? (productId ? skus.get(productId) : undefined) ?? null,
      name: textOrNull(it.name) ?? `product ${productId ?? 'unknown'}`,
      quantity: Number.isFinite(quantity) ? quantity : 1,
      price: Number.isFinite(quantity) && quantity > 0 ? lineTotal / quantity : lineTotal,
    });
  }
  return {
    kind: 'ok',
    value: {
      source: 'woocommerce',
      externalId: row.id,
      number: textOrNull(row.number) ?? row.id,
      customer: {
        source: 'woocommerce',
        externalId: wooIdOrNull(row.customerId),
        email: textOrNull(row.email),
        firstName: textOrNull(row.firstName),
        lastName: textOrNull(row.lastName),
        phone: textOrNull(row.phone),
        attributes: addressAttributes(row.city, row.country),
      },
      status: status.status,
      sourceStatus: (row.status ?? '').replace(/^wc-/, '') || null,
      currency: currency.toUpperCase(),
      total,
      refunded: Math.min(roundMoney(row.refunded ?? 0), total),
      discount: parseWooMoney(row.discount ?? '') ?? 0,
      couponCodes: coupons,
      orderedAt,
      paidAt: row.paidAt,
      completedAt: row.completedAt,
      updatedAt: parseWooGmtDate(row.updatedGmt),
      items: lines,
    },
  };
}
