import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DKIM_ALGORITHMS, type DkimKeyInfo } from '../domain/dkim-keys.ts';
import { createDkimKey, getDkimKey, importDkimKey, listDkimKeys, removeDkimKey, retireDkimKey } from '../services/dkim-keys.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime, StringEnum } from './schemas.ts';

const toJson = (k: DkimKeyInfo) => ({ ...k, createdAt: isoTime(k.createdAt), retiredAt: isoTime(k.retiredAt) });

const Name = {
  domain: Type.String({ minLength: 1, maxLength: 253, description: 'the signing domain (d=), usually the From domain or its parent' }),
  selector: Type.String({ minLength: 1, maxLength: 127, description: 'the DNS label the key is published under: <selector>._domainkey.<domain>' }),
};

/**
 * DKIM keys: anyone with a key may list them (public halves and where to publish them); only
 * admin keys may create, import, retire or delete. No response ever carries a private key.
 */
export const dkimKeyRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['dkim-keys'];
  const admin = { scope: 'admin' as const };

  app.get('/dkim-keys', { schema: { tags, summary: 'List DKIM keys with the DNS record each needs' } }, async () => ({ items: (await listDkimKeys(ctx)).map(toJson) }));

  app.get('/dkim-keys/:id', { schema: { tags, summary: 'Read one DKIM key', params: IdParams } }, async (req) => toJson(await getDkimKey(ctx, req.params.id)));

  app.post(
    '/dkim-keys',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Generate a key pair (RSA-2048 by default, or Ed25519); publish the TXT record it returns',
        body: Type.Object({ ...Name, algorithm: Type.Optional(StringEnum(DKIM_ALGORITHMS, 'default rsa-sha256')) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => reply.status(201).send(toJson(await createDkimKey(ctx, req.body))),
  );

  app.post(
    '/dkim-keys/import',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Import an existing PEM private key (RSA 1024–4096 bits or Ed25519); it is stored encrypted',
        body: Type.Object({ ...Name, privateKey: Type.String({ minLength: 1, maxLength: 10_000, description: 'unencrypted PEM' }) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const { key, warnings } = await importDkimKey(ctx, req.body);
      return reply.status(201).send({ ...toJson(key), warnings });
    },
  );

  app.post('/dkim-keys/:id/retire', { config: admin, schema: { tags, summary: 'Stop signing with a key (keep its DNS record a few days more)', params: IdParams } }, async (req) =>
    toJson(await retireDkimKey(ctx, req.params.id)),
  );

  app.delete('/dkim-keys/:id', { config: admin, schema: { tags, summary: 'Delete a key and its private half', params: IdParams } }, async (req, reply) => {
    await removeDkimKey(ctx, req.params.id);
    return reply.status(204).send();
  });
};
