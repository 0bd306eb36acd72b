import { roundMoney, type CustomerInput, type OrderInput, type OrderItemInput, type OrderStatus, type ProductInput } from '../../domain/store.ts';
import { headerOf, verifyBase64Hmac, type SignatureCheck } from './hmac-signature.ts';
import { ignoreAnonymous, objectOf, PayloadReader, readingOf, type Json, type Mapped, type StoreReading } from './payload-reading.ts';

// WooCommerce webhooks (formats.md §1.5): the body is the REST v3 resource (§1.6) as PHP's
// json_encode wrote it, signed with base64(HMAC-SHA256(raw body, secret)). Money arrives as
// decimal strings, `*_gmt` times are UTC without an offset, and a new webhook is pinged once with
// a form body `webhook_id=N` and no X-WC headers at all.

/** The headers a WooCommerce delivery carries (lower case, as Node gives them). */
export const WOO_HEADERS = {
  signature: 'x-wc-webhook-signature',
  topic: 'x-wc-webhook-topic',
  deliveryId: 'x-wc-webhook-delivery-id',
  webhookId: 'x-wc-webhook-id',
  source: 'x-wc-webhook-source',
} as const;

type Headers = Record<string, string | string[] | undefined>;

/** Checks `X-WC-Webhook-Signature` over the raw body with the webhook's secret. */
export function verifyWooCommerceSignature(body: Buffer, secret: string, headers: Headers): SignatureCheck {
  return verifyBase64Hmac(body, secret, headerOf(headers, WOO_HEADERS.signature), 'X-WC-Webhook-Signature');
}

/** True for the ping WooCommerce sends when a webhook is saved: `webhook_id=N`, unsigned, no topic. */
export function isWooCommercePing(body: Buffer, headers: Headers): boolean {
  if (headerOf(headers, WOO_HEADERS.signature) !== undefined || headerOf(headers, WOO_HEADERS.topic) !== undefined) return false;
  return body.length < 64 && /^webhook_id=\d+$/.test(body.toString('latin1').trim());
}

// REST/webhook status words (unprefixed), §1.3. `trash` is a deleted order; drafts are checkouts in progress.
const STATUS_MAP: Record<string, OrderStatus> = {
  pending: 'pending',
  processing: 'processing',
  'on-hold': 'on_hold',
  completed: 'completed',
  cancelled: 'cancelled',
  refunded: 'refunded',
  failed: 'failed',
  'checkout-draft': 'draft',
  draft: 'draft',
  'auto-draft': 'draft',
  new: 'draft',
  trash: 'cancelled',
  // Local pickup (WooCommerce 11.3+): paid, waiting at the counter.
  'ready-for-pickup': 'processing',
};

/**
 * The normalised status of a WooCommerce status word. Plugins add their own (`shipped`,
 * `awaiting-shipment`…); those count as processing once the order is paid and as pending before.
 */
export function mapWooCommerceStatus(word: string, paid: boolean): OrderStatus {
  return STATUS_MAP[word.replace(/^wc-/, '')] ?? (paid ? 'processing' : 'pending');
}

/** What a delivery of `topic` asks for: an order, customer or product to record, or nothing (and why). */
export function readWooCommerceWebhook(topic: string, payload: unknown): StoreReading {
  const [resource, event] = topic.split('.');
  const body = objectOf(payload);
  if (resource === 'action') return { kind: 'ignored', why: `custom action topic ${topic} is not used by Chapar` };
  if (!['order', 'customer', 'product'].includes(resource ?? '')) return { kind: 'ignored', why: `topic ${topic} is not used by Chapar` };
  if (event === 'deleted') return { kind: 'ignored', why: `${topic} carries only an id; the ${resource} is kept as last received` };
  if (!['created', 'updated', 'restored'].includes(event ?? '')) return { kind: 'ignored', why: `topic ${topic} is not used by Chapar` };
  if (!body) return { kind: 'invalid', errors: [{ field: 'body', message: 'must be a JSON object' }] };
  if (resource === 'order') return ignoreAnonymous(readingOf('order', mapWooCommerceOrder(body)), 'order');
  if (resource === 'customer') return readingOf('customer', mapWooCommerceCustomer(body));
  return readingOf('product', mapWooCommerceProduct(body));
}

/** Maps a REST v3 order to an OrderInput: billing email as the customer, line items by product id. */
export function mapWooCommerceOrder(o: Json): Mapped<OrderInput> {
  const r = new PayloadReader();
  const externalId = r.required(r.id(o.id, 'id'), 'id');
  const sourceStatus = r.required(r.text(o.status, 'status', 64), 'status');
  const currency = r.required(r.currency(o.currency, 'currency'), 'currency');
  const total = r.required(r.money(o.total, 'total'), 'total');
  const orderedAt = r.required(r.wooTime(o.date_created_gmt, 'date_created_gmt'), 'date_created_gmt');
  const paidAt = r.wooTime(o.date_paid_gmt, 'date_paid_gmt');
  const completedAt = r.wooTime(o.date_completed_gmt, 'date_completed_gmt');
  const updatedAt = r.wooTime(o.date_modified_gmt, 'date_modified_gmt');
  const discount = r.money(o.discount_total, 'discount_total') ?? 0;
  // Each refund's total is negative ("-5.00"); a partial refund leaves the status as it was.
  const refunded = r.list(o.refunds, 'refunds').reduce<number>((sum, x, i) => sum + Math.abs(r.money(objectOf(x)?.total, `refunds/${i}/total`) ?? 0), 0);
  const couponCodes = r
    .list(o.coupon_lines, 'coupon_lines')
    .map((c, i) => r.text(objectOf(c)?.code, `coupon_lines/${i}/code`, 200))
    .filter((c): c is string => c !== null);
  const items = r.list(o.line_items, 'line_items').map((item, i) => lineItem(r, objectOf(item), `line_items/${i}`));
  const customer = customerOfOrder(r, o);
  return r.done({
    source: 'woocommerce',
    externalId: externalId ?? '',
    number: r.text(o.number, 'number', 64),
    customer,
    status: mapWooCommerceStatus(sourceStatus ?? '', paidAt !== null),
    sourceStatus,
    currency: currency ?? '',
    total: total ?? 0,
    // Never more than the total: a refund's rounding must not make the order fail its check.
    refunded: Math.min(roundMoney(refunded), total ?? 0),
    discount,
    couponCodes,
    orderedAt: orderedAt ?? 0,
    paidAt,
    completedAt,
    updatedAt,
    items: items.filter((i): i is OrderItemInput => i !== null),
  });
}

/** The buyer of an order: the store account (customer_id, 0 for guests) and the billing details. */
function customerOfOrder(r: PayloadReader, o: Json): CustomerInput {
  const billing = objectOf(o.billing) ?? {};
  return {
    source: 'woocommerce',
    externalId: r.id(o.customer_id, 'customer_id'),
    email: r.text(billing.email, 'billing/email', 320),
    firstName: r.text(billing.first_name, 'billing/first_name', 200),
    lastName: r.text(billing.last_name, 'billing/last_name', 200),
    phone: r.text(billing.phone, 'billing/phone', 64),
    attributes: addressAttributes(r, billing, 'billing'),
  };
}

function lineItem(r: PayloadReader, item: Json | null, path: string): OrderItemInput | null {
  if (!item) return r.fail(path, 'must be an object');
  const quantity = r.integer(item.quantity, `${path}/quantity`) ?? 0;
  // `price` is a number in REST v3 (the unit price after discounts); older payloads lack it, so
  // the line total divided by the quantity stands in.
  let price = r.money(item.price, `${path}/price`);
  if (price === null && item.price === undefined) {
    const total = r.money(item.total, `${path}/total`);
    price = total !== null && quantity > 0 ? total / quantity : 0;
  }
  return {
    // product_id is 0 when the product was deleted from the store; the line keeps its name and sku.
    productExternalId: r.id(item.product_id, `${path}/product_id`),
    sku: r.text(item.sku, `${path}/sku`, 200),
    name: r.text(item.name, `${path}/name`, 500) ?? '(unnamed item)',
    quantity,
    price: price ?? 0,
  };
}

function addressAttributes(r: PayloadReader, a: Json, path: string): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  const city = r.text(a.city, `${path}/city`, 200);
  const country = r.text(a.country, `${path}/country`, 2);
  if (city) attrs.city = city;
  if (country) attrs.country = country.toUpperCase();
  return attrs;
}

/** Maps a REST v3 customer (a registered account) to a CustomerInput. */
export function mapWooCommerceCustomer(c: Json): Mapped<CustomerInput> {
  const r = new PayloadReader();
  const billing = objectOf(c.billing) ?? {};
  const externalId = r.required(r.id(c.id, 'id'), 'id');
  // Woo lets an account's email be empty (created by a plugin); the billing address may hold one.
  const email = r.text(c.email, 'email', 320) ?? r.text(billing.email, 'billing/email', 320);
  r.wooTime(c.date_modified_gmt, 'date_modified_gmt');
  return r.done({
    source: 'woocommerce',
    externalId,
    email,
    firstName: r.text(c.first_name, 'first_name', 200) ?? r.text(billing.first_name, 'billing/first_name', 200),
    lastName: r.text(c.last_name, 'last_name', 200) ?? r.text(billing.last_name, 'billing/last_name', 200),
    phone: r.text(billing.phone, 'billing/phone', 64),
    attributes: addressAttributes(r, billing, 'billing'),
  });
}

/** Maps a REST v3 product to a ProductInput (the currency is the store's, not in the payload). */
export function mapWooCommerceProduct(p: Json): Mapped<ProductInput> {
  const r = new PayloadReader();
  const externalId = r.required(r.id(p.id, 'id'), 'id');
  const images = r.list(p.images, 'images');
  const stock = r.text(p.stock_status, 'stock_status', 32);
  const categories = r
    .list(p.categories, 'categories')
    .map((c, i) => r.text(objectOf(c)?.name, `categories/${i}/name`, 200))
    .filter((c): c is string => c !== null);
  return r.done({
    source: 'woocommerce',
    externalId: externalId ?? '',
    sku: r.text(p.sku, 'sku', 200),
    name: r.text(p.name, 'name', 500) ?? `Product ${externalId ?? ''}`.trim(),
    url: r.text(p.permalink, 'permalink', 2000),
    imageUrl: r.text(objectOf(images[0])?.src, 'images/0/src', 2000),
    price: r.money(p.price, 'price'),
    categories,
    // On backorder can still be bought, so it counts as in stock for recommendations.
    inStock: stock === null ? null : stock !== 'outofstock',
    updatedAt: r.wooTime(p.date_modified_gmt, 'date_modified_gmt'),
  });
}
