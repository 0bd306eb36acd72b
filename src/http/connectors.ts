import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { configureShopify, configureTracking, configureWooCommerce, getConnectors, removeConnector } from '../services/connectors.ts';
import type { RouteDeps } from './server.ts';
import { Nullable } from './schemas.ts';

const Secret = Type.String({ maxLength: 500, description: 'write-only: stored encrypted, never returned' });

const WooBody = Type.Object(
  {
    secret: Type.Optional(Type.String({ ...Secret, description: "the webhook's Secret field in WooCommerce → Settings → Advanced → Webhooks; write-only, stored encrypted (leave out to keep the saved one)" })),
    siteUrl: Type.Optional(Nullable(Type.String({ maxLength: 500, description: "the store's address, such as https://shop.example" }))),
  },
  { additionalProperties: false },
);

const ShopifyBody = Type.Object(
  {
    secret: Type.Optional(Type.String({ ...Secret, description: "the app's client secret (API secret key), which signs its webhooks; write-only, stored encrypted (leave out to keep the saved one)" })),
    shopDomain: Type.Optional(Nullable(Type.String({ maxLength: 253, description: 'the shop, such as my-shop.myshopify.com; webhooks from other shops are refused' }))),
    abandonAfterMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 43_200, description: 'an open checkout idle this long counts as abandoned (default 60)' })),
  },
  { additionalProperties: false },
);

const TrackingBody = Type.Object(
  { origins: Type.Array(Type.String({ maxLength: 300 }), { maxItems: 20, description: "origins (https://shop.example) whose pages may load /t.js and send events; the store's signupOrigins are allowed too" }) },
  { additionalProperties: false },
);

/** The store connectors: WooCommerce and Shopify webhook secrets, and the browser snippet's key and origins. */
export const connectorRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['connectors'];
  const admin = { scope: 'admin' as const };
  app.get('/connectors', { config: admin, schema: { tags, summary: 'The connectors: webhook URLs to give the store, what is set up, the browser snippet' } }, async () => getConnectors(ctx));
  app.put('/connectors/woocommerce', { config: admin, schema: { tags, summary: 'Set up WooCommerce webhooks (the secret is stored encrypted)', body: WooBody } }, async (req) => configureWooCommerce(ctx, req.body));
  app.put('/connectors/shopify', { config: admin, schema: { tags, summary: 'Set up Shopify webhooks (the client secret is stored encrypted)', body: ShopifyBody } }, async (req) => configureShopify(ctx, req.body));
  app.put('/connectors/tracking', { config: admin, schema: { tags, summary: 'Set the origins allowed to send browser events', body: TrackingBody } }, async (req) => configureTracking(ctx, req.body));
  app.delete('/connectors/woocommerce', { config: admin, schema: { tags, summary: 'Remove the WooCommerce connector (its webhooks are refused from then on)' } }, async () => removeConnector(ctx, 'woocommerce'));
  app.delete('/connectors/shopify', { config: admin, schema: { tags, summary: 'Remove the Shopify connector (its webhooks are refused from then on)' } }, async () => removeConnector(ctx, 'shopify'));
};
