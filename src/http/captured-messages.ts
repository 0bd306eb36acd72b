import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { selectCapturedMessage, selectCapturedMessages } from '../db/queries/captured-messages.ts';
import { AppError } from '../lib/errors.ts';
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
      const rows = await selectCapturedMessages(ctx.db, { to: req.query.to, beforeId: req.query.before, limit: req.query.limit ?? 50 });
      return { items: rows.map((r) => ({ ...r, createdAt: isoTime(r.createdAt) })) };
    },
  );

  app.get('/captured-messages/:id', { schema: { tags, summary: 'The raw message (message/rfc822)', params: IdParams, produces: ['message/rfc822'] } }, async (req, reply) => {
    const m = await selectCapturedMessage(ctx.db, req.params.id);
    if (!m) throw new AppError('not_found', `captured message ${req.params.id} does not exist`);
    return reply.header('content-type', 'message/rfc822').send(m.raw);
  });
};
