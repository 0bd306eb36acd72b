import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createMemoryRateLimiter } from '../../lib/rate-limiter.ts';
import { recordBrowserEvents } from '../../services/browser-events.ts';
import { trackingOrigins } from '../../services/connectors.ts';
import { getStoreSettings } from '../../services/store-settings.ts';
import { errorBody } from '../errors.ts';
import type { RouteDeps } from '../server.ts';
import { sendPreflight } from './cors.ts';
import { TRACKING_SNIPPET } from './tracking-snippet-source.ts';

// The storefront snippet: `GET /t.js` (cacheable script) and `POST /t/events` where it sends the
// events of identified visitors. No API key: the per-store public key in the body names the store,
// and the guards are CORS limited to the configured origins (JSON forces a preflight; text/plain,
// which would skip it, is refused), a per-IP limit and a small body.

const BODY_LIMIT = 16_384;
// Per IP and minute: a shopper browsing fast sends a few events a minute; shared NATs send more.
const PER_IP = { limit: 240, windowMs: 60_000 };
const ETAG = `"${createHash('sha256').update(TRACKING_SNIPPET).digest('hex').slice(0, 16)}"`;

/** `GET /t.js`, and `OPTIONS`/`POST /t/events` for the pages of the allowed origins. */
export const trackingSnippetRoutes: FastifyPluginAsync<RouteDeps> = async (app, { ctx }) => {
  app.removeContentTypeParser('text/plain');
  const perIp = createMemoryRateLimiter(ctx.clock, PER_IP.limit, PER_IP.windowMs);
  const ownOrigin = new URL(ctx.publicUrl).origin;
  const hide = { schema: { hide: true } };

  const allowed = async (origin: string) => origin === ownOrigin || (await trackingOrigins(ctx, (await getStoreSettings(ctx)).signupOrigins)).has(origin);
  const forbidden = (reply: FastifyReply, origin: string) =>
    reply.status(403).send(errorBody('forbidden', `pages of ${origin} may not send events: add the origin with PUT /api/v1/connectors/tracking`, [{ field: 'origin', message: 'not an allowed tracking origin' }]));
  const limit = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!perIp.take(req.ip)) await reply.status(429).header('retry-after', '60').send(errorBody('rate_limited', 'too many events from this address; try again in a minute'));
  };

  app.get('/t.js', hide, async (req, reply) => {
    reply.header('etag', ETAG).header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').header('cross-origin-resource-policy', 'cross-origin');
    if (req.headers['if-none-match'] === ETAG) return reply.status(304).send();
    return reply.type('application/javascript; charset=utf-8').send(TRACKING_SNIPPET);
  });

  app.options('/t/events', { ...hide, onRequest: limit }, async (req, reply) => {
    const origin = req.headers.origin;
    reply.header('vary', 'Origin');
    if (origin === undefined || !(await allowed(origin))) return forbidden(reply, origin ?? '(no origin)');
    return sendPreflight(reply, origin);
  });

  app.post('/t/events', { ...hide, bodyLimit: BODY_LIMIT, onRequest: limit }, async (req, reply) => {
    // Browsers send Origin with every cross-site fetch; a request without one is not from a page.
    const origin = req.headers.origin;
    reply.header('vary', 'Origin');
    if (origin !== undefined) {
      if (!(await allowed(origin))) return forbidden(reply, origin);
      reply.header('access-control-allow-origin', origin);
    }
    const ua = req.headers['user-agent'];
    const outcome = await recordBrowserEvents(ctx, req.body, { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 500) : null });
    if (outcome.status === 'ignored') return { ok: true, ignored: true, why: outcome.why };
    return { ok: true, stored: outcome.stored, duplicates: outcome.duplicates };
  });
};

