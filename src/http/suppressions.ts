import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SUPPRESSION_REASONS, type Suppression } from '../domain/suppressions.ts';
import { AppError } from '../lib/errors.ts';
import { checkSendPermission } from '../services/send-permission.ts';
import { listSuppressions, removeSuppression, suppressAddress } from '../services/suppressions.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime, Nullable, PageQuery, StringEnum } from './schemas.ts';

const toJson = (s: Suppression) => ({ id: s.id, email: s.email, reason: s.reason, source: s.source, note: s.note, createdAt: isoTime(s.createdAt) });

/** The suppression list, and the send-permission check built on it. */
export const suppressionRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['suppressions'];

  app.get(
    '/suppressions',
    {
      schema: {
        tags,
        summary: 'List suppressions',
        querystring: Type.Object({ ...PageQuery, email: Type.Optional(Type.String({ maxLength: 320 })), reason: Type.Optional(StringEnum(SUPPRESSION_REASONS)) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const afterId = req.query.cursor === undefined ? undefined : Number(req.query.cursor);
      if (afterId !== undefined && !Number.isSafeInteger(afterId)) throw new AppError('validation_failed', 'cursor: is not a cursor this API returned', [{ field: 'cursor', message: 'invalid' }]);
      const rows = await listSuppressions(ctx, { email: req.query.email, reason: req.query.reason, afterId, limit: limit + 1 });
      const items = rows.slice(0, limit);
      return { items: items.map(toJson), nextCursor: rows.length > limit ? String(items[items.length - 1]!.id) : null };
    },
  );

  app.post(
    '/suppressions',
    {
      schema: {
        tags,
        summary: 'Suppress an address',
        body: Type.Object(
          {
            email: Type.String({ maxLength: 320 }),
            reason: Type.Optional(StringEnum(['hard_bounce', 'complaint', 'unsubscribe_all', 'manual'] as const, 'default manual')),
            note: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const r = await suppressAddress(ctx, { email: req.body.email, reason: req.body.reason ?? 'manual', source: 'api', note: req.body.note });
      return reply.status(r.created ? 201 : 200).send(r);
    },
  );

  app.delete('/suppressions/:id', { config: { scope: 'admin' }, schema: { tags, summary: 'Lift a suppression (not erasures)', params: IdParams } }, async (req, reply) => {
    await removeSuppression(ctx, req.params.id);
    return reply.status(204).send();
  });

  app.get(
    '/send-permission',
    {
      schema: {
        tags,
        summary: 'May this address get this kind of mail now?',
        querystring: Type.Object(
          { email: Type.String({ maxLength: 320 }), kind: StringEnum(['marketing', 'transactional'] as const), topic: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => checkSendPermission(ctx, { email: req.query.email, kind: req.query.kind, topicKey: req.query.topic }),
  );
};
