import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { assertNever } from '../../lib/errors.ts';
import { createMemoryRateLimiter } from '../../lib/rate-limiter.ts';
import type { HttpsGet } from '../../ports/https-get.ts';
import { createWebhookRuntime, receiveMailgunWebhook, receiveSendGridWebhook, type WebhookDelivery, type WebhookOutcome } from '../../services/esp-webhooks.ts';
import { receiveSesWebhook } from '../../services/ses-webhooks.ts';
import { errorBody } from '../errors.ts';
import type { RouteDeps } from '../server.ts';

/** Largest webhook body read: SNS messages stop at 256 KB, SendGrid batches at about 768 KB. */
export const WEBHOOK_BODY_LIMIT = 1_048_576;

// Requests per minute per IP. ESPs post from a few addresses, one request per event (Mailgun) or
// per batch; the limit is there to bound signature checks (and SNS certificate fetches) for junk.
const PER_IP_PER_MINUTE = 3000;

/** The webhooks plugin's options: the route deps plus the fetcher for SNS certificates and confirmations. */
export interface WebhookDeps extends RouteDeps {
  httpsGet: HttpsGet;
}

/**
 * ESP event webhooks: `POST /webhooks/{mailgun,sendgrid,ses}/:transport`. No API key: each
 * request is verified by the ESP's signature over the exact bytes received, so every body is kept
 * as a Buffer here (this plugin only) and never parsed before the check.
 */
export const webhookRoutes: FastifyPluginAsync<WebhookDeps> = async (app, { ctx, httpsGet }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
  const rt = createWebhookRuntime(httpsGet);
  const perIp = createMemoryRateLimiter(ctx.clock, PER_IP_PER_MINUTE, 60_000);
  app.addHook('onRequest', async (req, reply) => {
    if (perIp.take(req.ip)) return;
    // SNS drops a message on any 4xx (it retries only 5xx), so it is told 503 to come back later.
    const status = req.url.startsWith('/webhooks/ses/') ? 503 : 429;
    await reply.status(status).header('retry-after', '60').send(errorBody('rate_limited', 'too many webhook requests from this address; try again in a minute'));
  });
  const route = { bodyLimit: WEBHOOK_BODY_LIMIT, schema: { hide: true } };

  app.post<{ Params: { transport: string } }>('/webhooks/mailgun/:transport', route, async (req, reply) => answer(reply, await receiveMailgunWebhook(ctx, rt, deliveryOf(req))));
  app.post<{ Params: { transport: string } }>('/webhooks/sendgrid/:transport', route, async (req, reply) => answer(reply, await receiveSendGridWebhook(ctx, deliveryOf(req))));
  app.post<{ Params: { transport: string } }>('/webhooks/ses/:transport', route, async (req, reply) => answer(reply, await receiveSesWebhook(ctx, rt, deliveryOf(req))));
};

function deliveryOf(req: FastifyRequest<{ Params: { transport: string } }>): WebhookDelivery {
  return { transport: req.params.transport, body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers: req.headers };
}

function answer(reply: FastifyReply, outcome: WebhookOutcome): FastifyReply {
  switch (outcome.status) {
    case 'received':
      return reply.status(200).send({ ok: true, applied: outcome.applied, duplicate: outcome.duplicate, unmatched: outcome.unmatched, ignored: outcome.ignored });
    case 'subscription_confirmed':
    case 'subscription_removed':
      return reply.status(200).send({ ok: true, subscription: outcome.status === 'subscription_confirmed' ? 'confirmed' : 'removed' });
    case 'refused':
      // Mailgun reads 406 as "rejected, do not retry": the body was signed but will never be usable.
      return reply.status(406).send(errorBody('validation_failed', outcome.why, [{ field: 'body', message: outcome.why }]));
    default:
      return assertNever(outcome, 'webhook outcome');
  }
}
