import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getCapturedMessage, listCapturedMessages } from '../services/captured-messages.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime } from './schemas.ts';

/** The capture transport's mailbox: what would have been sent, readable before any real transport exists. */
export const capturedMessageRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['captured-messages'];

  app.get(
    '/captured-messages',
    {
      schema: {
        tags,
        summary: 'List captured messages, newest first',
        querystring: Type.Object({ to: Type.Optional(Type.String({ maxLength: 320 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })), before: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const rows = await listCapturedMessages(ctx, { to: req.query.to, before: req.query.before, limit: req.query.limit ?? 50 });
      return { items: rows.map((r) => ({ ...r, createdAt: isoTime(r.createdAt) })) };
    },
  );

  app.get('/captured-messages/:id', { schema: { tags, summary: 'The raw message (message/rfc822)', params: IdParams, produces: ['message/rfc822'] } }, async (req, reply) => {
    const m = await getCapturedMessage(ctx, req.params.id);
    return reply.header('content-type', 'message/rfc822').send(m.raw);
  });
};
