import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Topic } from '../domain/consent.ts';
import { changeTopic, createTopic, getTopic, listTopics, removeTopic } from '../services/topics.ts';
import type { RouteDeps } from './server.ts';
import { isoTime, Nullable } from './schemas.ts';

const KeyParams = Type.Object({ key: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const toJson = (t: Topic) => ({ ...t, createdAt: isoTime(t.createdAt), updatedAt: isoTime(t.updatedAt) });

/** Topics a contact can subscribe to (newsletter, promotions, product news…). */
export const topicRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['topics'];

  app.get('/topics', { schema: { tags, summary: 'List topics' } }, async () => ({ items: (await listTopics(ctx)).map(toJson) }));

  app.post(
    '/topics',
    {
      schema: {
        tags,
        summary: 'Create a topic',
        body: Type.Object(
          { key: Type.String({ maxLength: 64, description: 'slug: a-z, 0-9, - and _' }), name: Type.String({ maxLength: 200 }), description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => reply.status(201).send(toJson(await createTopic(ctx, req.body))),
  );

  app.get('/topics/:key', { schema: { tags, summary: 'Read a topic', params: KeyParams } }, async (req) => toJson(await getTopic(ctx, req.params.key)));

  app.patch(
    '/topics/:key',
    {
      schema: {
        tags,
        summary: 'Rename or re-describe a topic',
        params: KeyParams,
        body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))) }, { additionalProperties: false }),
      },
    },
    async (req) => toJson(await changeTopic(ctx, req.params.key, req.body)),
  );

  app.delete('/topics/:key', { config: { scope: 'admin' }, schema: { tags, summary: 'Delete a topic and its subscriptions', params: KeyParams } }, async (req, reply) => {
    await removeTopic(ctx, req.params.key);
    return reply.status(204).send();
  });
};
