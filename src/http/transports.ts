import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RouteRule } from '../domain/transports.ts';
import { DEFAULT_WARMUP_PLAN } from '../domain/warmup.ts';
import { AppError, invalid } from '../lib/errors.ts';
import { getRoutes, getTransport, listTransports, removeTransport, saveTransport, setRoutes, type TransportInput, type TransportView } from '../services/transports.ts';
import type { RouteDeps } from './server.ts';
import { isoTime, Nullable, StringEnum } from './schemas.ts';

// Transports (where mail leaves) and the routing rules that choose among them. Only admin keys
// may see or change transports: their settings name hosts and accounts. Secrets go in, never out.

const TransportBody = Type.Object(
  {
    name: Type.String({ maxLength: 64, description: 'lower-case letters, digits, - and _; not "capture"' }),
    kind: StringEnum(['smtp', 'mailgun', 'sendgrid', 'ses'] as const),
    settings: Type.Record(Type.String(), Type.Unknown(), {
      description: 'smtp: host, port, secure, starttls (require|opportunistic), user, localAddress, name…; mailgun: domain, region (us|eu); sendgrid: none needed; ses: region, accessKeyId, configurationSet',
    }),
    secrets: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 10_000 }), { description: 'smtp: password; mailgun/sendgrid: apiKey; ses: secretAccessKey, sessionToken. Stored encrypted, never returned; on replace, secrets not given are kept' }),
    ),
    maxPerSecond: Type.Optional(Nullable(Type.Number({ description: 'messages a second through this transport, all workers together; null = unlimited' }))),
    maxConnections: Type.Optional(Nullable(Type.Integer({ description: 'concurrent sends, all workers together; null = the pool size' }))),
    warmup: Type.Optional(
      Type.Unsafe<unknown>({ description: 'a warm-up plan [{ "days": 7, "perDay": 200 }, …], "default" for the four-week plan (200, 800, 2,500 a day, a week each), or null for none' }),
    ),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
type TransportBody = typeof TransportBody.static;
const ReplaceBody = Type.Object({ ...TransportBody.properties, name: Type.Optional(TransportBody.properties.name) }, { additionalProperties: false });
const NameParams = Type.Object({ name: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

const RouteRuleBody = Type.Object(
  {
    stream: Type.Optional(Nullable(StringEnum(['transactional', 'marketing'] as const))),
    senderDomain: Type.Optional(Nullable(Type.String({ maxLength: 253, description: 'the From domain: example.com (and subdomains) or *.example.com' }))),
    recipientDomain: Type.Optional(Nullable(Type.String({ maxLength: 253 }))),
    transports: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20, description: 'transport names in failover order; "capture" keeps mail in Chapar' }),
  },
  { additionalProperties: false },
);

const toJson = (t: TransportView) => ({ ...t, warmupStartedAt: isoTime(t.warmupStartedAt), createdAt: isoTime(t.createdAt), updatedAt: isoTime(t.updatedAt) });

function toInput(b: Omit<TransportBody, 'name'>, name: string): TransportInput {
  return {
    name,
    kind: b.kind,
    settings: b.settings,
    ...(b.secrets ? { secrets: b.secrets } : {}),
    maxPerSecond: b.maxPerSecond ?? null,
    maxConnections: b.maxConnections ?? null,
    warmup: b.warmup === 'default' ? DEFAULT_WARMUP_PLAN : (b.warmup ?? null),
    enabled: b.enabled ?? true,
  };
}

/** Transports (admin only) and routing rules (read to see, admin to change). */
export const transportRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx, transportFactory }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['transports'];
  const admin = { scope: 'admin' as const };

  app.get('/transports', { config: admin, schema: { tags, summary: 'List transports (secrets shown only by name, in secretsSet)' } }, async () => ({ items: (await listTransports(ctx)).map(toJson) }));

  app.get('/transports/:name', { config: admin, schema: { tags, summary: 'Read a transport', params: NameParams } }, async (req) => toJson(await getTransport(ctx, req.params.name)));

  app.post('/transports', { config: admin, schema: { tags, summary: 'Add a transport; its settings are checked by building it', body: TransportBody } }, async (req, reply) =>
    reply.status(201).send(toJson(await saveTransport(ctx, transportFactory, toInput(req.body, req.body.name), 'create'))),
  );

  app.put('/transports/:name', { config: admin, schema: { tags, summary: 'Replace a transport; secrets not given are kept', params: NameParams, body: ReplaceBody } }, async (req) => {
    if (req.body.name !== undefined && req.body.name !== req.params.name) throw invalid('name', `differs from the transport in the URL ("${req.params.name}"); a transport cannot be renamed`);
    return toJson(await saveTransport(ctx, transportFactory, toInput(req.body, req.params.name), 'replace'));
  });

  app.delete('/transports/:name', { config: admin, schema: { tags, summary: 'Delete a transport (not while a route names it)', params: NameParams } }, async (req, reply) => {
    await removeTransport(ctx, req.params.name);
    return reply.status(204).send();
  });

  app.get('/routes', { schema: { tags, summary: 'The routing rules, in order' } }, async () => ({ items: await getRoutes(ctx) }));

  app.put(
    '/routes',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Replace the routing rules',
        description:
          'The first rule whose stream, sender domain and recipient domain all match (a missing condition matches anything) sends through the first enabled transport of its list, failing over down the list. With no matching rule: transactional mail through SMTP transports, marketing through ESPs, else any enabled transport, else capture.',
        body: Type.Array(RouteRuleBody, { maxItems: 200 }),
      },
    },
    async (req) => {
      const rules: RouteRule[] = req.body.map((r) => ({ stream: r.stream ?? null, senderDomain: r.senderDomain ?? null, recipientDomain: r.recipientDomain ?? null, transports: r.transports }));
      return { items: await setRoutes(ctx, rules).catch(withBodyPaths) };
    },
  );
};

/** The rule checker names fields `/0/transports/1`; the API's other errors say `0/transports/1`. */
function withBodyPaths(err: unknown): never {
  if (err instanceof AppError) throw new AppError(err.code, err.message.replace(/(^|; )\//g, '$1'), err.details.map((d) => ({ ...d, field: d.field.replace(/^\//, '') })));
  throw err;
}
