import { roundMoney, type CartInput, type CustomerInput, type OrderInput, type OrderItemInput, type OrderStatus, type ProductInput } from '../../domain/store.ts';
import { headerOf, verifyBase64Hmac, type SignatureCheck } from './hmac-signature.ts';
import { ignoreAnonymous, objectOf, PayloadReader, readingOf, type Json, type Mapped, type StoreReading } from './payload-reading.ts';

// Shopify webhooks (formats.md §2): the body is the REST resource JSON, signed with
// base64(HMAC-SHA256(raw body, app client secret)). Money is decimal strings, times ISO 8601 with
// an offset, ids integers that can exceed 2^53 (read them with parseJsonKeepingBigIds). There is
// no "abandoned" event: a checkout without `completed_at` is judged abandoned after a delay.

/** The headers a Shopify delivery carries (lower case, as Node gives them). */
export const SHOPIFY_HEADERS = {
  hmac: 'x-shopify-hmac-sha256',
  topic: 'x-shopify-topic',
  shopDomain: 'x-shopify-shop-domain',
  eventId: 'x-shopify-event-id',
  webhookId: 'x-shopify-webhook-id',
} as const;

type Headers = Record<string, string | string[] | undefined>;

/** Checks `X-Shopify-Hmac-Sha256` over the raw body with the app's client secret. */
export function verifyShopifySignature(body: Buffer, secret: string, headers: Headers): SignatureCheck {
  return verifyBase64Hmac(body, secret, headerOf(headers, SHOPIFY_HEADERS.hmac), 'X-Shopify-Hmac-Sha256');
}

/** The delivery's replay key: the event id (same across retries and subscriptions), else the webhook id. */
export function shopifyDeliveryId(headers: Headers): string | null {
  const id = headerOf(headers, SHOPIFY_HEADERS.eventId) ?? headerOf(headers, SHOPIFY_HEADERS.webhookId);
  return id && id.length <= 200 ? id : null;
}

const ORDER_TOPICS = ['orders/create', 'orders/updated', 'orders/paid', 'orders/fulfilled', 'orders/partially_fulfilled', 'orders/cancelled'];

/** What a delivery of `topic` asks for: an order, customer, cart or product to record, or nothing (and why). */
export function readShopifyWebhook(topic: string, payload: unknown, shopDomain: string | null): StoreReading {
  const privacy = readPrivacyTopic(topic, payload);
  if (privacy) return privacy;
  const known = ORDER_TOPICS.includes(topic) || ['customers/create', 'customers/update', 'checkouts/create', 'checkouts/update', 'products/create', 'products/update'].includes(topic);
  if (!known) return { kind: 'ignored', why: `topic ${topic} is not used by Chapar` };
  const body = objectOf(payload);
  if (!body) return { kind: 'invalid', errors: [{ field: 'body', message: 'must be a JSON object' }] };
  if (ORDER_TOPICS.includes(topic)) return ignoreAnonymous(readingOf('order', mapShopifyOrder(body)), 'order');
  if (topic.startsWith('customers/')) return readingOf('customer', mapShopifyCustomer(body));
  if (topic.startsWith('checkouts/')) return ignoreAnonymous(readingOf('cart', mapShopifyCheckout(body)), 'checkout');
  return readingOf('product', mapShopifyProduct(body, shopDomain));
}

/**
 * Shopify's mandatory privacy topics. `customers/redact` erases the customer here too (the same
 * erasure as the API's: contact deleted, address kept only as a keyed hash on the suppression
 * list). A data request is answered by the store owner (`GET /api/v1/contacts/:id/gdpr-export`), and
 * `shop/redact` names a whole shop, which a self-hosted install removes by removing itself.
 */
function readPrivacyTopic(topic: string, payload: unknown): StoreReading | null {
  if (topic === 'customers/data_request') return { kind: 'ignored', why: 'data requests are answered by the store owner with GET /api/v1/contacts/:id/gdpr-export' };
  if (topic === 'shop/redact') return { kind: 'ignored', why: 'a self-hosted Chapar holds one shop: remove the installation to remove its data' };
  if (topic !== 'customers/redact') return null;
  const customer = objectOf(objectOf(payload)?.customer);
  const id = customer?.id;
  const externalId = typeof id === 'number' || typeof id === 'bigint' || (typeof id === 'string' && /^\d{1,25}$/.test(id)) ? String(id) : null;
  const email = typeof customer?.email === 'string' && customer.email.trim() !== '' ? customer.email.trim() : null;
  if (!externalId && !email) return { kind: 'invalid', errors: [{ field: 'customer', message: 'names neither an id nor an email: nothing to erase' }] };
  return { kind: 'erasure', customer: { source: 'shopify', externalId, email } };
}

const PAID = ['paid', 'partially_paid', 'partially_refunded', 'authorized'];

/**
 * The normalised status of a Shopify order from its financial and fulfillment status words:
 * refunded and cancelled first, then fulfilled → completed, paid or authorized → processing.
 */
export function mapShopifyStatus(s: { financial: string | null; fulfillment: string | null; cancelled: boolean }): OrderStatus {
  if (s.financial === 'refunded') return 'refunded';
  if (s.cancelled || s.financial === 'voided') return 'cancelled';
  if (s.financial === 'expired') return 'failed';
  if (s.fulfillment === 'fulfilled') return 'completed';
  if (s.financial !== null && PAID.includes(s.financial)) return 'processing';
  return 'pending';
}

/** Maps an order to an OrderInput: `name` (#1001) as its number, the order's email as the buyer's. */
export function mapShopifyOrder(o: Json): Mapped<OrderInput> {
  const r = new PayloadReader();
  const externalId = r.required(r.id(o.id, 'id'), 'id');
  const financial = r.text(o.financial_status, 'financial_status', 64);
  const fulfillment = r.text(o.fulfillment_status, 'fulfillment_status', 64);
  const createdAt = r.isoTime(o.created_at, 'created_at');
  // processed_at is when the order was placed (older than created_at for imported orders).
  const orderedAt = r.required(r.isoTime(o.processed_at, 'processed_at') ?? createdAt, 'created_at');
  const cancelledAt = r.isoTime(o.cancelled_at, 'cancelled_at');
  const updatedAt = r.isoTime(o.updated_at, 'updated_at');
  const status = mapShopifyStatus({ financial, fulfillment, cancelled: cancelledAt !== null });
  const fulfilledAt = r
    .list(o.fulfillments, 'fulfillments')
    .map((f, i) => r.isoTime(objectOf(f)?.created_at, `fulfillments/${i}/created_at`))
    .reduce<number | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
  const total = r.required(r.money(o.total_price, 'total_price'), 'total_price') ?? 0;
  const order: OrderInput = {
    source: 'shopify',
    externalId: externalId ?? '',
    number: r.text(o.name, 'name', 64) ?? r.text(o.order_number, 'order_number', 64),
    customer: customerOf(r, o),
    status,
    sourceStatus: [financial, fulfillment].filter(Boolean).join('/') || null,
    currency: r.required(r.currency(o.currency, 'currency'), 'currency') ?? '',
    total,
    // Never more than the total: a refund's rounding must not make the order fail its check.
    refunded: Math.min(refundedOf(r, o.refunds), total),
    discount: r.money(o.total_discounts, 'total_discounts') ?? 0,
    couponCodes: r
      .list(o.discount_codes, 'discount_codes')
      .map((d, i) => r.text(objectOf(d)?.code, `discount_codes/${i}/code`, 200))
      .filter((c): c is string => c !== null),
    orderedAt: orderedAt ?? 0,
    paidAt: financial !== null && PAID.includes(financial) && financial !== 'authorized' ? orderedAt : null,
    completedAt: status === 'completed' ? (fulfilledAt ?? updatedAt) : null,
    updatedAt,
    items: lineItems(r, o.line_items),
  };
  return r.done(order);
}

/** What the order's refunds paid back: their successful `refund` transactions (a refund of items only, with no money back, has none). */
function refundedOf(r: PayloadReader, refunds: unknown): number {
  let sum = 0;
  r.list(refunds, 'refunds').forEach((refund, i) => {
    r.list(objectOf(refund)?.transactions, `refunds/${i}/transactions`).forEach((t, j) => {
      const tx = objectOf(t);
      if (tx?.kind === 'refund' && tx.status === 'success') sum += r.money(tx.amount, `refunds/${i}/transactions/${j}/amount`) ?? 0;
    });
  });
  return roundMoney(sum);
}

/** The buyer of an order or checkout: the nested customer (its id) and the email the order was placed with. */
function customerOf(r: PayloadReader, o: Json): CustomerInput {
  const c = objectOf(o.customer) ?? {};
  const address = objectOf(o.billing_address) ?? objectOf(c.default_address) ?? {};
  return {
    source: 'shopify',
    externalId: r.id(c.id, 'customer/id'),
    email: r.text(o.email, 'email', 320) ?? r.text(o.contact_email, 'contact_email', 320) ?? r.text(c.email, 'customer/email', 320),
    firstName: r.text(c.first_name, 'customer/first_name', 200) ?? r.text(address.first_name, 'billing_address/first_name', 200),
    lastName: r.text(c.last_name, 'customer/last_name', 200) ?? r.text(address.last_name, 'billing_address/last_name', 200),
    phone: r.text(o.phone, 'phone', 64) ?? r.text(c.phone, 'customer/phone', 64),
    locale: r.text(o.customer_locale, 'customer_locale', 35),
    attributes: addressAttributes(r, address, 'billing_address'),
  };
}

function addressAttributes(r: PayloadReader, a: Json, path: string): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  const city = r.text(a.city, `${path}/city`, 200);
  const country = r.text(a.country_code, `${path}/country_code`, 2);
  if (city) attrs.city = city;
  if (country) attrs.country = country.toUpperCase();
  return attrs;
}

function lineItems(r: PayloadReader, v: unknown): OrderItemInput[] {
  const items: OrderItemInput[] = [];
  r.list(v, 'line_items').forEach((raw, i) => {
    const item = objectOf(raw);
    const path = `line_items/${i}`;
    if (!item) return void r.fail(path, 'must be an object');
    items.push({
      // A custom item (no product) or a product since deleted has product_id null.
      productExternalId: r.id(item.product_id, `${path}/product_id`),
      sku: r.text(item.sku, `${path}/sku`, 200),
      name: r.text(item.title, `${path}/title`, 500) ?? r.text(item.name, `${path}/name`, 500) ?? '(unnamed item)',
      quantity: r.integer(item.quantity, `${path}/quantity`) ?? 0,
      price: r.money(item.price, `${path}/price`) ?? 0,
    });
  });
  return items;
}

/** Maps a customer to a CustomerInput, with the default address's city and country as attributes. */
export function mapShopifyCustomer(c: Json): Mapped<CustomerInput> {
  const r = new PayloadReader();
  const address = objectOf(c.default_address) ?? {};
  const externalId = r.required(r.id(c.id, 'id'), 'id');
  r.isoTime(c.updated_at, 'updated_at');
  return r.done({
    source: 'shopify',
    externalId,
    email: r.text(c.email, 'email', 320),
    firstName: r.text(c.first_name, 'first_name', 200),
    lastName: r.text(c.last_name, 'last_name', 200),
    phone: r.text(c.phone, 'phone', 64),
    locale: r.text(c.locale, 'locale', 35),
    attributes: addressAttributes(r, address, 'default_address'),
  });
}

/** Maps a checkout to a CartInput: the recovery link, and `completed_at` once it became an order. */
export function mapShopifyCheckout(k: Json): Mapped<CartInput> {
  const r = new PayloadReader();
  const externalId = r.id(k.id, 'id') ?? r.text(k.token, 'token', 200);
  r.required(externalId, 'id');
  const createdAt = r.isoTime(k.created_at, 'created_at');
  const updatedAt = r.required(r.isoTime(k.updated_at, 'updated_at') ?? createdAt, 'updated_at');
  const items = lineItems(r, k.line_items);
  const value = r.money(k.total_price, 'total_price') ?? r.money(k.subtotal_price, 'subtotal_price') ?? items.reduce((sum, i) => sum + i.price * i.quantity, 0);
  return r.done({
    source: 'shopify',
    externalId: externalId ?? '',
    customer: customerOf(r, k),
    items,
    value,
    currency: r.currency(k.presentment_currency, 'presentment_currency') ?? r.currency(k.currency, 'currency'),
    recoveryUrl: r.text(k.abandoned_checkout_url, 'abandoned_checkout_url', 2000),
    updatedAt: updatedAt ?? 0,
    completedAt: r.isoTime(k.completed_at, 'completed_at'),
    orderExternalId: r.id(k.order_id, 'order_id'),
  });
}

/** Maps a product: the first variant's price and sku, the storefront URL from the shop's domain and handle. */
export function mapShopifyProduct(p: Json, shopDomain: string | null): Mapped<ProductInput> {
  const r = new PayloadReader();
  const externalId = r.required(r.id(p.id, 'id'), 'id');
  const variants = r.list(p.variants, 'variants').map(objectOf);
  const first = variants[0] ?? {};
  const handle = r.text(p.handle, 'handle', 500);
  const image = objectOf(p.image) ?? objectOf(r.list(p.images, 'images')[0]) ?? {};
  const type = r.text(p.product_type, 'product_type', 200);
  // In stock if any variant can be bought: stock left, stock not tracked, or backorders allowed.
  const tracked = variants.filter((v) => typeof v?.inventory_quantity === 'number');
  const inStock = tracked.length === 0 ? null : variants.some((v) => !v || v.inventory_management == null || v.inventory_policy === 'continue' || (v.inventory_quantity as number) > 0);
  return r.done({
    source: 'shopify',
    externalId: externalId ?? '',
    sku: r.text(first.sku, 'variants/0/sku', 200),
    name: r.text(p.title, 'title', 500) ?? `Product ${externalId ?? ''}`.trim(),
    url: shopDomain && handle ? `https://${shopDomain}/products/${encodeURIComponent(handle)}` : null,
    imageUrl: r.text(image.src, 'image/src', 2000),
    price: r.money(first.price, 'variants/0/price'),
    categories: type ? [type] : [],
    inStock,
    updatedAt: r.isoTime(p.updated_at, 'updated_at'),
  });
}
