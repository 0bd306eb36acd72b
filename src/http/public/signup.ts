import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeEmail } from '../../domain/emails.ts';
import { AppError, assertNever } from '../../lib/errors.ts';
import { createMemoryRateLimiter } from '../../lib/rate-limiter.ts';
import { checkSignupLink, confirmSignup, requestSignup } from '../../services/signups.ts';
import { getStoreSettings } from '../../services/store-settings.ts';
import type { Requester } from '../../services/tracking.ts';
import { errorBody, handleError, statusOf } from '../errors.ts';
import type { RouteDeps } from '../server.ts';
import { sendPreflight } from './cors.ts';
import { langOf } from './pages.ts';
import { honeypotFilled, localeHint, readSignupFields } from './signup-input.ts';
import { confirmAskPage, confirmedPage, expiredConfirmLinkPage, invalidConfirmLinkPage, nothingPendingPage, signupErrorPage, signupReceivedPage } from './signup-pages.ts';

// The public signup (double opt-in): `POST /signup` from the store's own pages, as an HTML form
// post or JSON from fetch(), and the confirmation link `/signup/confirm/<token>`. No API key:
// anyone may post, so it is guarded instead: only the store's origins (CORS and the Origin
// header of form posts), a honeypot field, per-IP and per-address limits, a small body, and at
// most one confirmation email an hour per address (in the service).

const BODY_LIMIT = 16_384;
// In memory: right for one node. Behind a load balancer each node counts on its own, so the
// effective limit is this times the nodes (the hourly email limit is in the database and holds).
const PER_IP = { limit: 20, windowMs: 10 * 60_000 };
const PER_ADDRESS = { limit: 5, windowMs: 3600_000 };
// Preflights and the confirmation link's pages: generous, but a loop cannot hammer the database.
const PAGES_PER_IP = { limit: 60, windowMs: 60_000 };

const SENT_MESSAGE = 'Check your inbox: if this address can receive our email, a link to confirm the subscription is on its way.';

function requester(req: FastifyRequest): Requester {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 500) : null };
}

function isFormPost(req: FastifyRequest): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '');
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
    .header('referrer-policy', 'no-referrer')
    .send(body);
}

/** Fastify's own request errors (body too large, wrong content type, bad JSON) as AppErrors; null for anything unexpected. */
function asAppError(err: FastifyError | Error): AppError | null {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', `the signup is larger than ${BODY_LIMIT / 1024} KB`, [{ field: 'body', message: 'too large' }]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'send the signup as application/x-www-form-urlencoded (an HTML form) or application/json', [{ field: 'content-type', message: 'unsupported' }]);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('validation_failed', `the request body is not a JSON object: ${fe.message}`, [{ field: 'body', message: 'invalid JSON' }]);
  }
  return fe.statusCode === 400 ? new AppError('validation_failed', `the request could not be read: ${fe.message}`, [{ field: 'body', message: fe.message }]) : null;
}

/**
 * The public signup and its confirmation link. Registered outside `/api/v1` (no API key); the
 * confirmation is a GET page with a button and a POST that confirms, because mail scanners open
 * every link in a message and must not subscribe anyone.
 */
export const signupRoutes: FastifyPluginAsync<RouteDeps> = async (app, { ctx }) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, new URLSearchParams(body as string)));
  // text/plain is what a cross-site script can send without a CORS preflight: refused (415), not read.
  app.removeContentTypeParser('text/plain');
  const perIp = createMemoryRateLimiter(ctx.clock, PER_IP.limit, PER_IP.windowMs);
  const perAddress = createMemoryRateLimiter(ctx.clock, PER_ADDRESS.limit, PER_ADDRESS.windowMs);
  const pagesPerIp = createMemoryRateLimiter(ctx.clock, PAGES_PER_IP.limit, PAGES_PER_IP.windowMs);
  const ownOrigin = new URL(ctx.publicUrl).origin;
  const hide = { schema: { hide: true } };

  /** An error as the caller reads it: a small page after a form post, the API's JSON otherwise. */
  const sendError = async (req: FastifyRequest, reply: FastifyReply, e: AppError, retryAfterMs?: number): Promise<FastifyReply> => {
    const status = statusOf(e.code);
    if (status >= 500) req.log.error({ code: e.code, err: e.message }, 'signup failed');
    if (retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    if (!isFormPost(req)) return reply.status(status).send(errorBody(e.code, e.message, e.details));
    const store = await getStoreSettings(ctx);
    return html(reply, status, signupErrorPage(langOf(localeHint(req.body) ?? store.defaultLocale), e.message, e.details, store.url));
  };
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const e = asAppError(err);
    return e ? sendError(req, reply, e) : handleError(err, req, reply);
  });

  const originAllowed = async (origin: string) => origin === ownOrigin || (await getStoreSettings(ctx)).signupOrigins.includes(origin);
  const forbidden = (origin: string) =>
    new AppError('forbidden', `pages of ${origin} may not post signups: add the origin to the store setting signupOrigins`, [{ field: 'origin', message: 'not an allowed signup origin' }]);

  // Browsers send Origin with every cross-site POST (and fetch()); a request without one is not
  // from a web page (curl, the store's server) and cannot be a forged cross-site submission.
  const guardOrigin = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (!(await originAllowed(origin))) return sendError(req, reply, forbidden(origin));
    reply.header('access-control-allow-origin', origin);
  };
  const limitIp = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!perIp.take(req.ip)) return sendError(req, reply, new AppError('rate_limited', `too many signups from this IP address (${req.ip}); try again in a few minutes`, [{ field: 'ip', message: 'rate limit reached' }]), PER_IP.windowMs);
  };

  const limitPages = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!pagesPerIp.take(req.ip)) await reply.status(429).header('retry-after', '60').header('content-type', 'text/plain').send('Too many requests; try again in a minute.');
  };

  app.options('/signup', { ...hide, onRequest: limitPages }, async (req, reply) => {
    const origin = req.headers.origin;
    reply.header('vary', 'Origin');
    if (origin === undefined || !(await originAllowed(origin))) {
      const e = forbidden(origin ?? '(no origin)');
      return reply.status(403).send(errorBody(e.code, e.message, e.details));
    }
    return sendPreflight(reply, origin);
  });

  app.post('/signup', { ...hide, bodyLimit: BODY_LIMIT, onRequest: [limitIp, guardOrigin] }, async (req, reply) => {
    if (!honeypotFilled(req.body)) {
      const fields = readSignupFields(req.body);
      const addr = normalizeEmail(fields.email);
      // Keyed by the address's hash: the limiter holds no addresses in memory.
      if (addr.ok && !perAddress.take(ctx.keyring.keyedHash('optin', addr.value.key))) {
        return sendError(req, reply, new AppError('rate_limited', 'too many signups for this email address; try again later', [{ field: 'email', message: 'rate limit reached' }]), PER_ADDRESS.windowMs);
      }
      await requestSignup(ctx, { ...fields, ...requester(req), source: 'form' });
    }
    if (!isFormPost(req)) return reply.status(200).send({ ok: true, message: SENT_MESSAGE });
    const store = await getStoreSettings(ctx);
    if (store.signupRedirectUrl) return reply.header('cache-control', 'no-store').redirect(store.signupRedirectUrl, 303);
    return html(reply, 200, signupReceivedPage(langOf(localeHint(req.body) ?? store.defaultLocale), store.url));
  });

  // A wildcard, not a parameter: a link naming several topics is longer than Fastify's 100-character parameter limit.
  type Confirm = { Params: { '*': string } };

  app.get<Confirm>('/signup/confirm/*', { ...hide, onRequest: limitPages }, async (req, reply) => {
    const token = req.params['*'];
    const link = await checkSignupLink(ctx, token);
    const store = await getStoreSettings(ctx);
    if (link.status === 'invalid') return html(reply, 404, invalidConfirmLinkPage(langOf(store.defaultLocale)));
    const lang = langOf(link.contact.locale ?? store.defaultLocale);
    if (link.status === 'expired') return html(reply, 410, expiredConfirmLinkPage(lang, store.url));
    if (link.pending.length > 0) return html(reply, 200, confirmAskPage(lang, link.contact.email ?? '', link.pending.map((t) => t.name), `/signup/confirm/${token}`));
    if (link.topics.length > 0 && link.subscribed.length === link.topics.length) return html(reply, 200, confirmedPage(lang, link.contact.email ?? '', link.topics.map((t) => t.name), true, store.url));
    return html(reply, 200, nothingPendingPage(lang, store.url));
  });

  app.post<Confirm>('/signup/confirm/*', { ...hide, bodyLimit: 1024, onRequest: limitPages }, async (req, reply) => {
    const result = await confirmSignup(ctx, req.params['*'], requester(req));
    const store = await getStoreSettings(ctx);
    switch (result.status) {
      case 'invalid':
        return html(reply, 404, invalidConfirmLinkPage(langOf(store.defaultLocale)));
      case 'expired':
        return html(reply, 410, expiredConfirmLinkPage(langOf(result.contact.locale ?? store.defaultLocale), store.url));
      case 'confirmed':
      case 'already_confirmed':
        return html(reply, 200, confirmedPage(langOf(result.contact.locale ?? store.defaultLocale), result.contact.email ?? '', result.topics.map((t) => t.name), result.status === 'already_confirmed', store.url));
      case 'nothing_pending':
        return html(reply, 200, nothingPendingPage(langOf(result.contact.locale ?? store.defaultLocale), store.url));
      default:
        return assertNever(result, 'confirmation');
    }
  });
};
