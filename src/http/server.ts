import { createServer } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { TransportFactory } from '../ports/mail-transport.ts';
import type { HttpsGet } from '../ports/https-get.ts';
import type { ServiceContext } from '../services/context.ts';
import type { TrackingRecorder } from '../services/tracking.ts';
import { createMemoryRateLimiter, type RateLimiter } from '../lib/rate-limiter.ts';
import { requireApiKeys } from './auth.ts';
import { errorBody, handleError } from './errors.ts';
import { ErrorResponse } from './schemas.ts';
import { bodyAjv, queryAjv } from './validation.ts';
import { contactRoutes } from './contacts.ts';
import { topicRoutes } from './topics.ts';
import { suppressionRoutes } from './suppressions.ts';
import { apiKeyRoutes } from './api-keys.ts';
import { templateRoutes } from './templates.ts';
import { settingsRoutes } from './settings.ts';
import { capturedMessageRoutes } from './captured-messages.ts';
import { dkimKeyRoutes } from './dkim-keys.ts';
import { publicLinkRoutes } from './public/links.ts';
import { createTrackingFastPath } from './public/tracking-fast-path.ts';
import { signupRoutes } from './public/signup.ts';
import { webhookRoutes } from './public/webhooks.ts';
import { messageRoutes } from './messages.ts';
import { transportRoutes } from './transports.ts';
import { breakerRoutes } from './breakers.ts';
import { eventRoutes } from './events.ts';
import { segmentRoutes } from './segments.ts';
import { eventIngestRoutes } from './events-ingest.ts';
import { storeRoutes } from './store.ts';
import { storeWebhookRoutes } from './public/store-webhooks.ts';
import { trackingSnippetRoutes } from './public/tracking-snippet.ts';
import { connectorRoutes } from './connectors.ts';

export interface HttpOptions {
  logger: Logger;
  bodyLimitBytes: number;
  bulkBodyLimitBytes: number;
  publicUrl: string;
  version: string;
  /** Builds a transport's adapter, to check its settings when it is saved (adapters live in app.ts's world). */
  transportFactory: TransportFactory;
  /** The transactional API's limit per API key. */
  txRate: { perSecond: number; burst: number };
  /** Whose X-Forwarded-For to believe (config.trustProxy). */
  trustProxy: string | false;
  /** Where the tracking endpoints record opens and clicks. */
  tracking: TrackingRecorder;
  /** Fetches SNS signing certificates and subscription links for the SES webhook. */
  httpsGet: HttpsGet;
}

/** Everything the route plugins need. */
export interface RouteDeps {
  ctx: ServiceContext;
  bulkBodyLimitBytes: number;
  transportFactory: TransportFactory;
  txRate: { perSecond: number; burst: number };
  tracking: TrackingRecorder;
  /** The per-IP limit of the public links (clicks, pixels, unsubscribe and preference pages). */
  linkLimiter: RateLimiter;
}

/** Builds the HTTP server: the public health check, the OpenAPI docs and `/api/v1` behind API keys. */
export async function buildHttpServer(ctx: ServiceContext, opts: HttpOptions): Promise<FastifyInstance> {
  // Request logs keep the method and path only: signed links carry capabilities (an unsubscribe
  // token) and query strings carry addresses, and neither belongs in a log store.
  const logger = opts.logger.child({}, { serializers: { req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: loggableUrl(req.url), remoteAddress: req.ip }) } });
  const linkLimiter = createMemoryRateLimiter(ctx.clock, 300, 60_000);
  const fastPath = createTrackingFastPath({ tracking: opts.tracking, perIp: linkLimiter, trustProxy: opts.trustProxy, logger });
  // Fastify's logger type is narrower than pino's; the instance is the same pino logger.
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes,
    trustProxy: opts.trustProxy,
    return503OnClosing: true,
    // Clicks and open pixels are answered before Fastify sees them (tracking-fast-path.ts).
    serverFactory: (handler) => createServer((req, res) => fastPath(req, res) || handler(req, res)),
  }).withTypeProvider<TypeBoxTypeProvider>();
  // From the moment closing starts, Fastify answers them (with 503), so no hit arrives after the recorder's last flush.
  app.addHook('preClose', (done) => {
    fastPath.close();
    done();
  });

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`, [{ field: 'url', message: 'unknown route' }])),
  );
  app.addSchema(ErrorResponse);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Chapar API', version: opts.version, description: 'Email marketing and transactional email for online stores.' },
      servers: [{ url: opts.publicUrl }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: chp_…' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  // Probed every few seconds by load balancers and monitors: a request log line each would bury
  // the log (and cost more than the answer); its warnings and errors are still logged.
  app.get('/health', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ ok: true }));
  const deps: RouteDeps = { ctx, bulkBodyLimitBytes: opts.bulkBodyLimitBytes, transportFactory: opts.transportFactory, txRate: opts.txRate, tracking: opts.tracking, linkLimiter };
  await app.register(publicLinkRoutes, deps);
  await app.register(signupRoutes, deps);
  await app.register(webhookRoutes, { ...deps, httpsGet: opts.httpsGet });
  await app.register(storeWebhookRoutes, deps);
  await app.register(trackingSnippetRoutes, deps);

  await app.register(
    async (api) => {
      requireApiKeys(api, ctx);
      await api.register(contactRoutes, deps);
      await api.register(topicRoutes, deps);
      await api.register(suppressionRoutes, deps);
      await api.register(apiKeyRoutes, deps);
      await api.register(templateRoutes, deps);
      await api.register(settingsRoutes, deps);
      await api.register(capturedMessageRoutes, deps);
      await api.register(dkimKeyRoutes, deps);
      await api.register(messageRoutes, deps);
      await api.register(transportRoutes, deps);
      await api.register(breakerRoutes, deps);
      await api.register(eventRoutes, deps);
      await api.register(segmentRoutes, deps);
      await api.register(eventIngestRoutes, deps);
      await api.register(storeRoutes, deps);
      await api.register(connectorRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

/** A request URL fit for a log line: signed-link paths cut to their kind, query strings dropped. */
export function loggableUrl(url: string): string {
  const path = url.split('?')[0]!;
  if (path.startsWith('/signup/confirm/')) return '/signup/confirm/…';
  const signed = /^\/([couvp])\//.exec(path);
  return signed ? `/${signed[1]}/…` : path;
}
