import { inTransaction } from '../db/database.ts';
import { claimConnectorDelivery } from '../db/queries/connector-deliveries.ts';
import { headerOf } from '../adapters/store/hmac-signature.ts';
import { describeErrors, parseJsonKeepingBigIds, type StoreReading } from '../adapters/store/payload-reading.ts';
import { readShopifyWebhook, SHOPIFY_HEADERS, shopifyDeliveryId, verifyShopifySignature } from '../adapters/store/shopify-webhooks.ts';
import { isWooCommercePing, readWooCommerceWebhook, verifyWooCommerceSignature, WOO_HEADERS } from '../adapters/store/woocommerce-webhooks.ts';
import type { StoreSource } from '../domain/store.ts';
import { AppError, assertNever, invalid, type ErrorDetail } from '../lib/errors.ts';
import { loadWebhookSettings, type WebhookConnector } from './connectors.ts';
import type { ServiceContext } from './context.ts';
import { eraseContact } from './gdpr.ts';
import { selectContactIdByEmailKey, selectExternalIdOwner } from '../db/queries/store-contacts.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { recordCarts, recordCustomers, recordOrders, recordProducts, type StoreBatchResult, type StoreWarning } from './store-data.ts';

// WooCommerce and Shopify webhooks: check the signature over the raw bytes, read the topic's
// payload, and record it through store-data, with the delivery id claimed in the same transaction
// so a replay is stored once and a failed delivery can be retried. Nothing is stored before the
// signature holds, and nothing at all when any field of the payload is wrong.

/** One webhook request as it arrived: the raw bytes and the headers. */
export interface StoreWebhookDelivery {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** What became of a store webhook. */
export type StoreWebhookOutcome =
  | { status: 'ping' }
  | { status: 'ignored'; topic: string; why: string }
  | { status: 'duplicate'; topic: string; deliveryId: string }
  | { status: 'recorded'; topic: string; kind: 'order' | 'customer' | 'product' | 'cart'; externalId: string | null; applied: boolean; stubProducts: number; warnings: string[] }
  | { status: 'erased'; topic: string; contactId: number | null };

/** Receives a WooCommerce webhook: the creation ping, or a signed order, customer or product. */
export async function receiveWooCommerceWebhook(ctx: ServiceContext, d: StoreWebhookDelivery): Promise<StoreWebhookOutcome> {
  // The ping comes unsigned when the webhook is saved in WooCommerce (maybe before Chapar knows the
  // secret); it stores nothing, and anything other than 200 makes WooCommerce refuse the webhook.
  if (isWooCommercePing(d.body, d.headers)) return { status: 'ping' };
  const settings = await requireSettings(ctx, 'woocommerce');
  const check = verifyWooCommerceSignature(d.body, settings.secret, d.headers);
  if (!check.ok) throw unverified(ctx, 'woocommerce', 'X-WC-Webhook-Signature', check.why);
  // A copy of the shop (a staging site, a clone) keeps the live shop's webhooks and their secret,
  // and would send its test orders here; X-WC-Webhook-Source names the site that sent it.
  const source = headerOf(d.headers, WOO_HEADERS.source);
  if (settings.siteUrl && source && !isSameSite(source, settings.siteUrl)) {
    throw new AppError('forbidden', `this webhook is from ${source.slice(0, 200)}, but the WooCommerce connector is set up for ${settings.siteUrl}: a copy of the shop (a staging site) still sends the live shop's webhooks`, [{ field: 'X-WC-Webhook-Source', message: 'another site' }]);
  }
  const topic = headerOf(d.headers, WOO_HEADERS.topic);
  if (!topic) throw invalid('X-WC-Webhook-Topic', 'is missing: only WooCommerce webhooks are accepted here');
  const reading = readWooCommerceWebhook(topic, parseBody(d.body));
  return applyReading(ctx, 'woocommerce', topic, headerOf(d.headers, WOO_HEADERS.deliveryId) ?? null, reading);
}

/** Receives a Shopify webhook: a signed order, customer, checkout or product. */
export async function receiveShopifyWebhook(ctx: ServiceContext, d: StoreWebhookDelivery): Promise<StoreWebhookOutcome> {
  const settings = await requireSettings(ctx, 'shopify');
  const check = verifyShopifySignature(d.body, settings.secret, d.headers);
  if (!check.ok) throw unverified(ctx, 'shopify', 'X-Shopify-Hmac-Sha256', check.why);
  const topic = headerOf(d.headers, SHOPIFY_HEADERS.topic);
  if (!topic) throw invalid('X-Shopify-Topic', 'is missing: only Shopify webhooks are accepted here');
  const shop = headerOf(d.headers, SHOPIFY_HEADERS.shopDomain)?.toLowerCase() ?? null;
  // One app secret can sign for several shops (a public app); only the configured shop's data belongs here.
  if (settings.shopDomain && shop && shop !== settings.shopDomain) {
    throw new AppError('forbidden', `this webhook is from the shop ${shop}, but the Shopify connector is set up for ${settings.shopDomain}`, [{ field: 'X-Shopify-Shop-Domain', message: 'another shop' }]);
  }
  const reading = readShopifyWebhook(topic, parseBody(d.body), settings.shopDomain ?? shop);
  return applyReading(ctx, 'shopify', topic, shopifyDeliveryId(d.headers), reading);
}

/**
 * Whether a webhook's source is the configured site: the same host (a leading `www.` and the
 * scheme aside, which WordPress and the operator may write differently), and within its path when
 * the site lives under one.
 */
function isSameSite(source: string, siteUrl: string): boolean {
  const parse = (u: string) => {
    try {
      const url = new URL(u);
      return { host: url.hostname.toLowerCase().replace(/^www\./, ''), path: url.pathname.replace(/\/+$/, '') };
    } catch {
      return null;
    }
  };
  const a = parse(source);
  const b = parse(siteUrl);
  return a !== null && b !== null && a.host === b.host && (a.path === b.path || a.path.startsWith(`${b.path}/`));
}

async function requireSettings(ctx: ServiceContext, which: WebhookConnector) {
  const settings = await loadWebhookSettings(ctx, which);
  if (!settings) throw new AppError('unauthorized', `the ${which} connector is not set up: save its secret with PUT /api/v1/connectors/${which}`, [{ field: 'secret', message: 'not configured' }]);
  return settings;
}

function unverified(ctx: ServiceContext, source: StoreSource, header: string, why: string): AppError {
  ctx.logger.warn({ source, why }, 'store webhook refused: signature');
  return new AppError('unauthorized', why, [{ field: header, message: 'signature does not verify' }]);
}

function parseBody(body: Buffer): unknown {
  try {
    return parseJsonKeepingBigIds(body.toString('utf8'));
  } catch (err) {
    throw invalid('body', `is not JSON (${(err as Error).message})`);
  }
}

async function applyReading(ctx: ServiceContext, source: StoreSource, topic: string, deliveryId: string | null, reading: StoreReading): Promise<StoreWebhookOutcome> {
  if (reading.kind === 'ignored') return { status: 'ignored', topic, why: reading.why };
  if (reading.kind === 'invalid') throw refused(source, topic, reading.errors);
  const outcome = await inTransaction(ctx.db, async (tx): Promise<StoreWebhookOutcome> => {
    const now = ctx.clock.now();
    if (deliveryId !== null && deliveryId.length <= 200 && !(await claimConnectorDelivery(tx, { source, deliveryId, topic, receivedAt: now }))) {
      return { status: 'duplicate', topic, deliveryId };
    }
    return record({ ...ctx, db: tx }, source, topic, reading);
  });
  ctx.logger.info({ source, topic, deliveryId, status: outcome.status, ...(outcome.status === 'recorded' ? { kind: outcome.kind, externalId: outcome.externalId } : {}) }, 'store webhook');
  return outcome;
}

/** Records one reading; a rejected input throws, which rolls back the delivery claim too. */
async function record(ctx: ServiceContext, source: StoreSource, topic: string, reading: Exclude<StoreReading, { kind: 'ignored' | 'invalid' }>): Promise<StoreWebhookOutcome> {
  if (reading.kind === 'erasure') return { status: 'erased', topic, contactId: await eraseStoreCustomer(ctx, reading.customer) };
  const done = (r: StoreBatchResult<object>, externalId: string | null): StoreWebhookOutcome => {
    if (r.rejected.length > 0) throw refused(source, topic, r.rejected.flatMap((x) => x.errors));
    const s = r.stored[0] as { applied?: boolean; stubProducts?: number } | undefined;
    return { status: 'recorded', topic, kind: reading.kind, externalId, applied: s?.applied ?? true, stubProducts: s?.stubProducts ?? 0, warnings: r.warnings.map(sentence) };
  };
  switch (reading.kind) {
    case 'order':
      return done(await recordOrders(ctx, [reading.order]), reading.order.externalId);
    case 'customer':
      return done(await recordCustomers(ctx, [reading.customer]), reading.customer.externalId ?? null);
    case 'product':
      return done(await recordProducts(ctx, [reading.product]), reading.product.externalId);
    case 'cart':
      return done(await recordCarts(ctx, [reading.cart]), reading.cart.externalId);
    default:
      return assertNever(reading, 'store reading');
  }
}

/** Erases the contact a store names by its id or address; null when Chapar never knew them. */
async function eraseStoreCustomer(ctx: ServiceContext, c: { source: StoreSource; externalId: string | null; email: string | null }): Promise<number | null> {
  const byId = c.externalId ? await selectExternalIdOwner(ctx.db, c.source, c.externalId) : undefined;
  const key = c.email ? normalizeEmail(c.email) : null;
  const byEmail = byId === undefined && key?.ok ? await selectContactIdByEmailKey(ctx.db, key.value.key) : undefined;
  const id = byId ?? byEmail;
  if (id === undefined) return null;
  await eraseContact(ctx, id);
  return id;
}

function sentence(w: StoreWarning): string {
  return `${w.field} ${w.message}`;
}

function refused(source: StoreSource, topic: string, errors: ErrorDetail[]): AppError {
  return new AppError('validation_failed', `the ${source} ${topic} payload cannot be stored: ${describeErrors(errors)}`, errors);
}
