import type { FastifyInstance, FastifyRequest } from 'fastify';
import { scopeAllows, type ApiKey, type ApiScope } from '../domain/api-keys.ts';
import { AppError } from '../lib/errors.ts';
import { authenticateApiKey } from '../services/api-keys.ts';
import type { ServiceContext } from '../services/context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; default: `read` for GET/HEAD, `write` otherwise. */
    scope?: ApiScope;
  }
}

/** Reads the key from `Authorization: Bearer …` or `X-Api-Key`. */
function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/** Puts every route of `app` behind an API key with the route's scope. */
export function requireApiKeys(app: FastifyInstance, ctx: ServiceContext): void {
  app.addHook('onRequest', async (req) => {
    const secret = presentedKey(req);
    if (!secret) throw new AppError('unauthorized', 'an API key is required: send "Authorization: Bearer <key>"', [{ field: 'authorization', message: 'missing' }]);
    const key = await authenticateApiKey(ctx, secret);
    if (!key) throw new AppError('unauthorized', 'the API key is not valid or has been revoked', [{ field: 'authorization', message: 'invalid key' }]);
    const needed = req.routeOptions.config.scope ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');
    if (!scopeAllows(key.scope as ApiScope, needed)) {
      throw new AppError('forbidden', `this API key has scope "${key.scope}"; this call needs "${needed}"`, [{ field: 'authorization', message: `needs scope ${needed}` }]);
    }
    req.apiKey = key;
  });
}
