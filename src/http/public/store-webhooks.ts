import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { assertNever } from '../../lib/errors.ts';
import { createMemoryRateLimiter } from '../../lib/rate-limiter.ts';
import { receiveShopifyWebhook, receiveWooCommerceWebhook, type StoreWebhookDelivery, type StoreWebhookOutcome } from '../../services/store-webhooks.ts';
import { errorBody } from '../errors.ts';
import type { RouteDeps } from '../server.ts';

/** Largest store webhook body read: an order with a few hundred lines and their metadata. */
export const STORE_WEBHOOK_BODY_LIMIT = 2 * 1_048_576;

// Requests per minute per IP. A store posts from one or a few addresses (Shopify from its pool),
// and a bulk edit in the store can send thousands of updates; the limit bounds junk, not stores.
const PER_IP_PER_MINUTE = 1200;

/**
 * Store webhooks: `POST /webhooks/woocommerce` and `POST /webhooks/shopify`. No API key: each
 * request is verified by its HMAC over the exact bytes received, so every body is kept as a
 * Buffer here (this plugin only) and parsed only after the check.
 */
export const storeWebhookRoutes: FastifyPluginAsync<RouteDeps> = async (app, { ctx }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: STORE_WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
  const perIp = createMemoryRateLimiter(ctx.clock, PER_IP_PER_MINUTE, 60_000);
  app.addHook('onRequest', async (req, reply) => {
    if (perIp.take(req.ip)) return;
    await reply.status(429).header('retry-after', '60').send(errorBody('rate_limited', 'too many webhook requests from this address; try again in a minute'));
  });
  const route = { bodyLimit: STORE_WEBHOOK_BODY_LIMIT, schema: { hide: true } };

  app.post('/webhooks/woocommerce', route, async (req, reply) => answer(reply, await receiveWooCommerceWebhook(ctx, deliveryOf(req))));
  app.post('/webhooks/shopify', route, async (req, reply) => answer(reply, await receiveShopifyWebhook(ctx, deliveryOf(req))));
};

function deliveryOf(req: FastifyRequest): StoreWebhookDelivery {
  return { body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers: req.headers };
}

function answer(reply: FastifyReply, outcome: StoreWebhookOutcome): FastifyReply {
  switch (outcome.status) {
    case 'ping':
      return reply.status(200).send({ ok: true, ping: true });
    case 'ignored':
      return reply.status(200).send({ ok: true, ignored: true, topic: outcome.topic, why: outcome.why });
    case 'duplicate':
      return reply.status(200).send({ ok: true, duplicate: true, topic: outcome.topic, deliveryId: outcome.deliveryId });
    case 'recorded':
      return reply.status(200).send({ ok: true, topic: outcome.topic, recorded: outcome.kind, externalId: outcome.externalId, applied: outcome.applied, stubProducts: outcome.stubProducts, warnings: outcome.warnings });
    case 'erased':
      return reply.status(200).send({ ok: true, topic: outcome.topic, erased: outcome.contactId !== null });
    default:
      return assertNever(outcome, 'store webhook outcome');
  }
}
