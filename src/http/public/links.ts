import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { webVersionOf } from '../../services/captured-messages.ts';
import { contactForLink, linkTopicName, preferencesOf, savePreferences, unsubscribe } from '../../services/preferences.ts';
import type { Requester } from '../../services/tracking.ts';
import type { RouteDeps } from '../server.ts';
import { invalidLinkPage, langOf, pageHeaders, preferencesPage, unsubscribeConfirmPage, unsubscribedPage } from './pages.ts';
import { clickAnswer, openAnswer, tooManyRequestsAnswer, type Answer } from './tracking-answers.ts';

function requester(req: FastifyRequest): Requester {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua : null };
}

function html(reply: FastifyReply, status: number, body: string, csp?: string): FastifyReply {
  return reply.status(status).headers(pageHeaders(csp)).send(body);
}

/** Form bodies (one-click unsubscribe, the preference form) as URLSearchParams; small and text only. */
function acceptForms(app: FastifyInstance): void {
  const parse = (_req: FastifyRequest, body: string, done: (err: Error | null, v?: unknown) => void) => done(null, new URLSearchParams(body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, parse);
  // RFC 8058 allows multipart/form-data too; its content is not needed, only the POST itself.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 8192 }, (_r, _b, done) => done(null, new URLSearchParams()));
}

function send(reply: FastifyReply, a: Answer): FastifyReply {
  return reply.status(a.status).headers(a.headers).send(a.body);
}

/**
 * The public endpoints links in emails point at: click (/c), open pixel (/o), unsubscribe (/u,
 * GET shows a confirmation page, POST unsubscribes at once per RFC 8058), the preference centre
 * (/p) and the web version (/v). No API key: every link is signed instead. Rate-limited per IP.
 * Most clicks and pixels are answered before they reach these routes, by the fast path
 * (tracking-fast-path.ts), with the same answers and the same limiter.
 */
export const publicLinkRoutes: FastifyPluginAsync<RouteDeps> = async (app, { ctx, tracking, linkLimiter: perIp }) => {
  acceptForms(app);
  app.addHook('onRequest', async (req, reply) => {
    if (!perIp.take(req.ip)) await send(reply, tooManyRequestsAnswer());
  });
  const hide = { schema: { hide: true } };
  // Opens and clicks come by the hundred thousand in a campaign's first hour: logging each at info
  // would bury everything else (and write readers' addresses to the log). Errors are still logged.
  const quiet = { schema: { hide: true }, logLevel: 'warn' as const };

  app.get<{ Params: { contact: string; ref: string; url: string; sig: string } }>('/c/:contact/:ref/:url/:sig', quiet, async (req, reply) =>
    // Fastify answers HEAD through this GET route: a link checker's HEAD gets the same answer and is not a click.
    send(reply, clickAnswer(tracking, { contactId: req.params.contact, ref: req.params.ref, url: req.params.url, sig: req.params.sig }, requester(req), req.method !== 'HEAD')),
  );

  app.get<{ Params: { contact: string; ref: string; sig: string } }>('/o/:contact/:ref/:sig', quiet, async (req, reply) =>
    send(reply, openAnswer(tracking, { contactId: req.params.contact, ref: req.params.ref, sig: req.params.sig }, requester(req), req.method !== 'HEAD')),
  );

  app.get<{ Params: { token: string } }>('/u/:token', hide, async (req, reply) => {
    const found = await contactForLink(ctx, req.params.token);
    if (!found) return html(reply, 404, invalidLinkPage());
    const topicName = await linkTopicName(ctx, found.subject);
    const prefs = ctx.composer.urls.preferences(req.params.token);
    return html(reply, 200, unsubscribeConfirmPage(langOf(found.contact.locale), found.contact.email ?? '', topicName, `/u/${req.params.token}`, prefs));
  });

  app.post<{ Params: { token: string } }>('/u/:token', hide, async (req, reply) => {
    const found = await contactForLink(ctx, req.params.token);
    if (!found) return html(reply, 404, invalidLinkPage());
    await unsubscribe(ctx, found.contact, found.subject, requester(req), 'unsubscribe_link');
    const topicName = await linkTopicName(ctx, found.subject);
    const prefs = ctx.composer.urls.preferences(req.params.token);
    return html(reply, 200, unsubscribedPage(langOf(found.contact.locale), found.contact.email ?? '', topicName, prefs));
  });

  app.get<{ Params: { token: string } }>('/p/:token', hide, async (req, reply) => {
    const found = await contactForLink(ctx, req.params.token);
    if (!found) return html(reply, 404, invalidLinkPage());
    return html(reply, 200, preferencesPage(langOf(found.contact.locale), await preferencesOf(ctx, found.contact), `/p/${req.params.token}`, false));
  });

  app.post<{ Params: { token: string }; Body: URLSearchParams | undefined }>('/p/:token', hide, async (req, reply) => {
    const found = await contactForLink(ctx, req.params.token);
    if (!found) return html(reply, 404, invalidLinkPage());
    const form = req.body instanceof URLSearchParams ? req.body : new URLSearchParams();
    const view = await savePreferences(ctx, found.contact, found.subject, { subscribed: form.getAll('topic'), unsubscribeAll: form.get('unsubscribe_all') === '1' }, requester(req));
    return html(reply, 200, preferencesPage(langOf(found.contact.locale), view, `/p/${req.params.token}`, true));
  });

  app.get<{ Params: { contact: string; ref: string; sig: string } }>('/v/:contact/:ref/:sig', hide, async (req, reply) => {
    if (!ctx.composer.urls.verifyMessageTag(req.params.contact, req.params.ref, req.params.sig)) return html(reply, 404, invalidLinkPage());
    const body = await webVersionOf(ctx, req.params.ref);
    if (body === undefined) return html(reply, 404, invalidLinkPage());
    // The web version shows the email's own images; scripts stay off.
    return html(reply, 200, body, "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'");
  });
};
