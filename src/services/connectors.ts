import { selectSetting, upsertSetting } from '../db/queries/settings.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { seal, unseal } from '../lib/sealed.ts';
import type { ServiceContext } from './context.ts';
import { isOrigin } from './store-settings.ts';

// The store connectors' settings: the WooCommerce webhook secret, the Shopify app's client secret
// (both sealed at rest and never returned), the Shopify abandonment delay, and the browser
// snippet's public key and allowed origins. One settings document; secrets are write-only.

const KEY = 'connectors';
const SEALED_PURPOSE = 'connector-secret';

/** Which connectors have a webhook secret. */
export type WebhookConnector = 'woocommerce' | 'shopify';

/** The Shopify delay after which an open checkout counts as abandoned, unless configured. */
export const DEFAULT_ABANDON_AFTER_MINUTES = 60;

interface StoredConnectors {
  woocommerce?: { siteUrl: string | null; secret: string };
  shopify?: { shopDomain: string | null; secret: string; abandonAfterMinutes: number };
  tracking?: { origins: string[] };
}

/** The connectors as the API shows them: what is set, where to point the store, never a secret. */
export interface ConnectorsView {
  woocommerce: { configured: boolean; siteUrl: string | null; webhookUrl: string; topics: string[] };
  shopify: { configured: boolean; shopDomain: string | null; abandonAfterMinutes: number; webhookUrl: string; topics: string[] };
  tracking: { publicKey: string; origins: string[]; scriptUrl: string; snippet: string };
}

async function readStored(ctx: ServiceContext): Promise<StoredConnectors> {
  return (await selectSetting<StoredConnectors>(ctx.db, KEY)) ?? {};
}

/**
 * The browser snippet's per-store public key: derived from the master secret, so it needs no
 * storage and every process agrees on it. Public by design (it sits in the store's pages); it only
 * names the store, and the origins list and rate limits are what guard the endpoint.
 */
export function trackingPublicKey(ctx: ServiceContext): string {
  return `chpk_${ctx.keyring.keyedHash('tracking-public-key', 'v1').slice(0, 32)}`;
}

/** Reads every connector's settings for the admin API. */
export async function getConnectors(ctx: ServiceContext): Promise<ConnectorsView> {
  const s = await readStored(ctx);
  const publicKey = trackingPublicKey(ctx);
  return {
    woocommerce: {
      configured: s.woocommerce !== undefined,
      siteUrl: s.woocommerce?.siteUrl ?? null,
      webhookUrl: `${ctx.publicUrl}/webhooks/woocommerce`,
      topics: ['order.created', 'order.updated', 'customer.created', 'customer.updated', 'product.created', 'product.updated'],
    },
    shopify: {
      configured: s.shopify !== undefined,
      shopDomain: s.shopify?.shopDomain ?? null,
      abandonAfterMinutes: s.shopify?.abandonAfterMinutes ?? DEFAULT_ABANDON_AFTER_MINUTES,
      webhookUrl: `${ctx.publicUrl}/webhooks/shopify`,
      topics: ['orders/create', 'orders/updated', 'customers/create', 'customers/update', 'checkouts/create', 'checkouts/update', 'products/create', 'products/update'],
    },
    tracking: {
      publicKey,
      origins: s.tracking?.origins ?? [],
      scriptUrl: `${ctx.publicUrl}/t.js`,
      snippet: `<script src="${ctx.publicUrl}/t.js" data-key="${publicKey}" async></script>`,
    },
  };
}

/** Sets the WooCommerce webhook secret (sealed) and the site's address; the secret may be left out to keep the saved one. */
export async function configureWooCommerce(ctx: ServiceContext, input: { secret?: string; siteUrl?: string | null }): Promise<ConnectorsView> {
  const s = await readStored(ctx);
  const errors: ErrorDetail[] = [];
  const secret = checkSecret(ctx, input.secret, s.woocommerce?.secret, errors);
  const siteUrl = input.siteUrl ?? s.woocommerce?.siteUrl ?? null;
  if (siteUrl !== null && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(siteUrl)) errors.push({ field: 'siteUrl', message: 'must be the store\'s http(s) address, such as https://shop.example' });
  failOn(errors);
  await upsertSetting(ctx.db, KEY, { ...s, woocommerce: { siteUrl, secret: secret! } }, ctx.clock.now());
  return getConnectors(ctx);
}

/** Sets the Shopify app's client secret (sealed), the shop's domain and the abandonment delay. */
export async function configureShopify(ctx: ServiceContext, input: { secret?: string; shopDomain?: string | null; abandonAfterMinutes?: number }): Promise<ConnectorsView> {
  const s = await readStored(ctx);
  const errors: ErrorDetail[] = [];
  const secret = checkSecret(ctx, input.secret, s.shopify?.secret, errors);
  const shopDomain = input.shopDomain === undefined ? (s.shopify?.shopDomain ?? null) : input.shopDomain?.trim().toLowerCase() || null;
  if (shopDomain !== null && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(shopDomain)) {
    errors.push({ field: 'shopDomain', message: 'must be the shop\'s domain, such as my-shop.myshopify.com (no https://, no path)' });
  }
  const abandonAfterMinutes = input.abandonAfterMinutes ?? s.shopify?.abandonAfterMinutes ?? DEFAULT_ABANDON_AFTER_MINUTES;
  if (!Number.isInteger(abandonAfterMinutes) || abandonAfterMinutes < 5 || abandonAfterMinutes > 43_200) {
    errors.push({ field: 'abandonAfterMinutes', message: 'must be a whole number of minutes from 5 to 43200 (30 days)' });
  }
  failOn(errors);
  await upsertSetting(ctx.db, KEY, { ...s, shopify: { shopDomain, secret: secret!, abandonAfterMinutes } }, ctx.clock.now());
  return getConnectors(ctx);
}

/** Sets the web origins whose pages may send browser events (besides the store's signup origins). */
export async function configureTracking(ctx: ServiceContext, input: { origins: string[] }): Promise<ConnectorsView> {
  const errors: ErrorDetail[] = [];
  if (input.origins.length > 20) errors.push({ field: 'origins', message: 'at most 20 origins' });
  input.origins.forEach((o, i) => {
    if (!isOrigin(o)) errors.push({ field: `origins/${i}`, message: `"${o}" is not an origin: write scheme and host only, such as https://shop.example (no path, no trailing slash, lower case)` });
  });
  failOn(errors);
  const s = await readStored(ctx);
  await upsertSetting(ctx.db, KEY, { ...s, tracking: { origins: input.origins } }, ctx.clock.now());
  return getConnectors(ctx);
}

/** Removes a connector's settings and secret; its webhooks are refused (401) from then on. */
export async function removeConnector(ctx: ServiceContext, which: WebhookConnector): Promise<ConnectorsView> {
  const s = await readStored(ctx);
  if (s[which] === undefined) throw new AppError('not_found', `the ${which} connector is not set up`);
  const { [which]: _removed, ...rest } = s;
  await upsertSetting(ctx.db, KEY, rest, ctx.clock.now());
  return getConnectors(ctx);
}

/** What the webhook endpoint needs of a connector: its secret in clear, and for Shopify the shop and delay. */
export interface WebhookSettings {
  secret: string;
  /** WooCommerce: the shop's address, when the operator gave it. */
  siteUrl: string | null;
  shopDomain: string | null;
  abandonAfterMinutes: number;
}

/** The connector's webhook settings with the secret unsealed, or null when it is not set up. */
export async function loadWebhookSettings(ctx: ServiceContext, which: WebhookConnector): Promise<WebhookSettings | null> {
  const s = await readStored(ctx);
  const c = s[which];
  if (!c) return null;
  return {
    secret: unseal(ctx.keyring, SEALED_PURPOSE, c.secret),
    siteUrl: which === 'woocommerce' ? (s.woocommerce?.siteUrl ?? null) : null,
    shopDomain: which === 'shopify' ? (s.shopify?.shopDomain ?? null) : null,
    abandonAfterMinutes: s.shopify?.abandonAfterMinutes ?? DEFAULT_ABANDON_AFTER_MINUTES,
  };
}

/** The origins allowed to send browser events: the tracking origins and the store's signup origins. */
export async function trackingOrigins(ctx: ServiceContext, signupOrigins: readonly string[]): Promise<Set<string>> {
  const s = await readStored(ctx);
  return new Set([...(s.tracking?.origins ?? []), ...signupOrigins]);
}

/** The sealed secret to store: the new one checked and sealed, or the saved one kept. */
function checkSecret(ctx: ServiceContext, given: string | undefined, saved: string | undefined, errors: ErrorDetail[]): string | null {
  if (given === undefined) {
    if (saved === undefined) errors.push({ field: 'secret', message: 'is required the first time: paste the secret set in the store' });
    return saved ?? null;
  }
  if (given.trim() !== given || given.length < 8 || given.length > 500 || /[\r\n]/.test(given)) {
    errors.push({ field: 'secret', message: 'must be 8 to 500 characters on one line, without spaces around it' });
    return null;
  }
  return seal(ctx.keyring, SEALED_PURPOSE, given);
}

function failOn(errors: ErrorDetail[]): void {
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

