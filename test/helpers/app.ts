import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { DialectName } from '../../src/db/dialect.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { openTestDatabase, type TestDatabase } from './databases.ts';

/** A fixed master secret for tests (never used outside them). */
export const TEST_SECRET = Buffer.alloc(32, 7).toString('base64');

export interface TestApp {
  app: App;
  http: FastifyInstance;
  db: TestDatabase;
  clock: ManualClock;
  /** Keys of each scope, ready for an Authorization header. */
  keys: { read: string; write: string; admin: string };
  /** `app.inject` with a key of the given scope (default admin). */
  request(opts: { method: string; url: string; body?: unknown; scope?: 'read' | 'write' | 'admin' | 'none'; headers?: Record<string, string> }): Promise<{ status: number; json: any; body: string; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** A whole Chapar (services and HTTP) on a fresh test database, with a manual clock; `options` swaps in fakes (e.g. `httpsGet`, a `logger` to read). */
export async function createTestApp(dialect: DialectName, env: Record<string, string> = {}, options: Pick<AppOptions, 'httpsGet' | 'logger'> = {}): Promise<TestApp> {
  const db = await openTestDatabase(dialect);
  const clock = new ManualClock('2026-11-27T10:00:00Z');
  const fullEnv = { CHAPAR_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...env };
  const app = await createApp(loadConfig(fullEnv), { clock, logger: pino({ level: 'silent' }), env: fullEnv, database: db, ...options });
  const http = await app.buildHttp();
  const keys = {
    read: (await createApiKey(app.ctx, { name: 'test read', scope: 'read' })).secret,
    write: (await createApiKey(app.ctx, { name: 'test write', scope: 'write' })).secret,
    admin: (await createApiKey(app.ctx, { name: 'test admin', scope: 'admin' })).secret,
  };
  return {
    app,
    http,
    db,
    clock,
    keys,
    async request({ method, url, body, scope = 'admin', headers = {} }) {
      const res = await http.inject({
        method: method as 'GET',
        url,
        headers: { ...(scope === 'none' ? {} : { authorization: `Bearer ${keys[scope]}` }), ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      let json: unknown;
      try {
        json = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, body: res.body, headers: res.headers };
    },
    async close() {
      await app.close();
    },
  };
}
