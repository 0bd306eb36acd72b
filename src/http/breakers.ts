import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { listBreakers, resumeBreaker, type BreakerView } from '../services/breakers.ts';
import type { RouteDeps } from './server.ts';
import { isoTime } from './schemas.ts';

const toJson = (b: BreakerView) => ({ ...b, changedAt: isoTime(b.changedAt), resumedAt: isoTime(b.resumedAt) });

/**
 * Circuit breakers: which transports and campaigns the delivery engine has slowed or paused, and
 * why. A pause holds until an operator (admin key) resumes it.
 */
export const breakerRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['breakers'];

  app.get('/breakers', { schema: { tags, summary: 'Circuit breakers that have tripped at least once: state (normal, slowed, paused) and reason' } }, async () => ({
    items: (await listBreakers(ctx)).map(toJson),
  }));

  app.post(
    '/breakers/:scope/resume',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Resume sending through a slowed or paused scope; only what happens from now on counts',
        params: Type.Object({ scope: Type.String({ maxLength: 200, description: 'transport:<name> or campaign:<id>, URL-encoded' }) }, { additionalProperties: false }),
      },
    },
    async (req) => toJson(await resumeBreaker(ctx, req.params.scope)),
  );
};
