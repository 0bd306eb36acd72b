import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { API_SCOPES, type ApiKey } from '../domain/api-keys.ts';
import { createApiKey, listApiKeys, revokeKey } from '../services/api-keys.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime, StringEnum } from './schemas.ts';

const toJson = (k: ApiKey) => ({ ...k, createdAt: isoTime(k.createdAt), lastUsedAt: isoTime(k.lastUsedAt), revokedAt: isoTime(k.revokedAt) });

/** API keys: admin scope only. The secret is in the create response and nowhere else, ever. */
export const apiKeyRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['api-keys'];
  const config = { scope: 'admin' as const };

  app.get('/api-keys', { config, schema: { tags, summary: 'List keys (never their secrets)' } }, async () => ({ items: (await listApiKeys(ctx)).map(toJson) }));

  app.post(
    '/api-keys',
    {
      config,
      schema: {
        tags,
        summary: 'Create a key; its secret is shown in this response only',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), scope: StringEnum(API_SCOPES) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const { key, secret } = await createApiKey(ctx, req.body);
      return reply.status(201).send({ ...toJson(key), secret });
    },
  );

  app.delete('/api-keys/:id', { config, schema: { tags, summary: 'Revoke a key', params: IdParams } }, async (req, reply) => {
    await revokeKey(ctx, req.params.id);
    return reply.status(204).send();
  });
};
