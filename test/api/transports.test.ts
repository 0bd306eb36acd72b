import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { upsertBreaker } from '../../src/db/queries/breakers.ts';
import { DEFAULT_WARMUP_PLAN } from '../../src/domain/warmup.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { loadTransportDefinitions } from '../../src/services/transports.ts';
import { createTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { DIALECTS, openTestDatabase } from '../helpers/databases.ts';

const PASSWORD = 'pw-Zq81-never-shown';
const SES_SECRET = 'ses-wJalrXUtnFEMI-K7MDENG';
const smtp = (extra: object = {}) => ({ name: 'mta', kind: 'smtp', settings: { host: '127.0.0.1', port: 2525, starttls: 'opportunistic', user: 'shop' }, secrets: { password: PASSWORD }, ...extra });
const fields = (r: { json: { error: { details: { field: string }[] } } }) => r.json.error.details.map((d) => d.field);

describe.each(DIALECTS)('transports, routes and breakers API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('creates an SMTP transport: settings shown, secrets only by name, sealed at rest', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/transports', body: smtp({ maxPerSecond: 50, maxConnections: 4 }) });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: 'mta', kind: 'smtp', settings: { host: '127.0.0.1', port: 2525, user: 'shop' }, secretsSet: ['password'], maxPerSecond: 50, maxConnections: 4, warmup: null, enabled: true, createdAt: '2026-11-27T10:00:00.000Z' });
    const all = [r, await t.request({ method: 'GET', url: '/api/v1/transports' }), await t.request({ method: 'GET', url: '/api/v1/transports/mta' })];
    for (const res of all) expect(res.body).not.toContain(PASSWORD);
    expect(all[1]!.json.items).toHaveLength(1);
    expect(all[2]!.json.secretsSet).toEqual(['password']);
    expect(JSON.stringify(await t.db.k.selectFrom('transports').selectAll().execute())).not.toContain(PASSWORD);
  });

  it('replaces a transport keeping secrets not given; a new secret replaces the old', async () => {
    const r = await t.request({ method: 'PUT', url: '/api/v1/transports/mta', body: { kind: 'smtp', settings: { host: '127.0.0.2', user: 'shop' }, enabled: false } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ settings: { host: '127.0.0.2', user: 'shop' }, secretsSet: ['password'], enabled: false, maxPerSecond: null });
    expect(r.body).not.toContain(PASSWORD);
    expect((await loadTransportDefinitions(t.app.ctx)).find((d) => d.name === 'mta')!.secrets).toEqual({ password: PASSWORD });
    const changed = await t.request({ method: 'PUT', url: '/api/v1/transports/mta', body: smtp({ secrets: { password: 'new-pw' } }) });
    expect(changed.status).toBe(200);
    expect(changed.body).not.toContain('new-pw');
    expect((await loadTransportDefinitions(t.app.ctx)).find((d) => d.name === 'mta')!.secrets).toEqual({ password: 'new-pw' });
  });

  it('creates an SES transport with the default warm-up plan', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'ses', kind: 'ses', settings: { region: 'eu-west-1', accessKeyId: 'AKIAEXAMPLE', configurationSet: 'chapar' }, secrets: { secretAccessKey: SES_SECRET }, warmup: 'default' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ kind: 'ses', secretsSet: ['secretAccessKey'], warmup: DEFAULT_WARMUP_PLAN, warmupStartedAt: '2026-11-27T10:00:00.000Z' });
    expect(r.body).not.toContain(SES_SECRET);
  });

  it('refuses bad transports, naming the field', async () => {
    const post = (body: object) => t.request({ method: 'POST', url: '/api/v1/transports', body });
    const badKind = await post(smtp({ name: 'x1', kind: 'postfix' }));
    expect(badKind.status).toBe(400);
    expect(fields(badKind)).toEqual(['kind']);
    expect(fields(await post(smtp({ name: 'x1', kind: 'capture' })))).toEqual(['kind']);

    const secretInSettings = await post(smtp({ name: 'x1', settings: { host: 'mx.example', password: PASSWORD }, secrets: undefined }));
    expect(secretInSettings.status).toBe(400);
    expect(fields(secretInSettings)).toEqual(['settings/password']);
    expect(secretInSettings.body).not.toContain(PASSWORD);

    const unknownSetting = await post(smtp({ name: 'x1', settings: { host: 'mx.example', colour: 'red' } }));
    expect(unknownSetting.status).toBe(400);
    expect(fields(unknownSetting)).toEqual(['settings/colour']);
    expect(unknownSetting.json.error.message).toMatch(/colour is not a setting of a smtp transport/);

    const missing = await post({ name: 'mg', kind: 'mailgun', settings: { region: 'eu' }, secrets: { apiKey: 'key-1' } });
    expect(fields(missing)).toEqual(['settings/domain']);

    const warmup = await post(smtp({ name: 'x1', warmup: [{ days: 7, perDay: 0 }, { days: 7, perDay: 800 }] }));
    expect(warmup.status).toBe(400);
    expect(fields(warmup)).toEqual(['warmup/0/perDay']);

    const notSecret = await post(smtp({ name: 'x1', secrets: { password: 'p', token: 't' } }));
    expect(fields(notSecret)).toEqual(['secrets/token']);
    const badName = await post(smtp({ name: 'Capture Me' }));
    expect(fields(badName)).toEqual(['name']);
    const extra = await post(smtp({ name: 'x1', colour: 'red' }));
    expect(extra.json.error.details).toEqual([{ field: 'colour', message: 'is not a known field' }]);
    const rate = await post(smtp({ name: 'x1', maxPerSecond: '5' }));
    expect(fields(rate)).toEqual(['maxPerSecond']);

    expect((await post(smtp())).status).toBe(409);
    const rename = await t.request({ method: 'PUT', url: '/api/v1/transports/mta', body: smtp({ name: 'other' }) });
    expect(fields(rename)).toEqual(['name']);
    const kind = await t.request({ method: 'PUT', url: '/api/v1/transports/mta', body: { kind: 'sendgrid', settings: {} } });
    expect(fields(kind)).toEqual(['kind']);
    expect((await t.request({ method: 'PUT', url: '/api/v1/transports/nope', body: smtp({ name: undefined }) })).status).toBe(404);
    expect((await t.request({ method: 'GET', url: '/api/v1/transports/nope' })).status).toBe(404);
    expect((await t.request({ method: 'GET', url: '/api/v1/transports' })).json.items.map((x: { name: string }) => x.name).sort()).toEqual(['mta', 'ses']);
  });

  it('keeps transports to admin keys', async () => {
    for (const scope of ['read', 'write'] as const) {
      expect((await t.request({ method: 'GET', url: '/api/v1/transports', scope })).status).toBe(403);
      expect((await t.request({ method: 'POST', url: '/api/v1/transports', body: smtp({ name: 'y' }), scope })).status).toBe(403);
      expect((await t.request({ method: 'DELETE', url: '/api/v1/transports/mta', scope })).status).toBe(403);
    }
  });

  it('sets routes (missing conditions null), refuses unknown transports, and protects a routed transport from deletion', async () => {
    expect((await t.request({ method: 'GET', url: '/api/v1/routes', scope: 'read' })).json).toEqual({ items: [] });
    const unknown = await t.request({ method: 'PUT', url: '/api/v1/routes', body: [{ stream: 'marketing', transports: ['ses', 'sendgrid'] }] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details).toEqual([{ field: '0/transports/1', message: 'no transport "sendgrid"' }]);
    const badDomain = await t.request({ method: 'PUT', url: '/api/v1/routes', body: [{ recipientDomain: 'Not A Domain', transports: ['mta'] }, { transports: [], colour: 1 }] });
    expect(badDomain.status).toBe(400);
    expect(fields(badDomain)).toEqual(['1/colour']);
    const domain = await t.request({ method: 'PUT', url: '/api/v1/routes', body: [{ recipientDomain: 'Not A Domain', transports: [] }] });
    expect(fields(domain).sort()).toEqual(['0/recipientDomain', '0/transports']);

    const rules = [{ stream: 'transactional', transports: ['mta', 'capture'] }, { stream: 'marketing', recipientDomain: 'gmail.com', transports: ['ses'] }];
    expect((await t.request({ method: 'PUT', url: '/api/v1/routes', body: rules, scope: 'write' })).status).toBe(403);
    const saved = await t.request({ method: 'PUT', url: '/api/v1/routes', body: rules });
    expect(saved.status).toBe(200);
    const expected = [
      { stream: 'transactional', senderDomain: null, recipientDomain: null, transports: ['mta', 'capture'] },
      { stream: 'marketing', senderDomain: null, recipientDomain: 'gmail.com', transports: ['ses'] },
    ];
    expect(saved.json.items).toEqual(expected);
    expect((await t.request({ method: 'GET', url: '/api/v1/routes', scope: 'read' })).json.items).toEqual(expected);

    const del = await t.request({ method: 'DELETE', url: '/api/v1/transports/ses' });
    expect(del.status).toBe(409);
    expect(del.json.error.message).toMatch(/used by route 1/);
    expect((await t.request({ method: 'PUT', url: '/api/v1/routes', body: [rules[0]] })).status).toBe(200);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/transports/ses' })).status).toBe(204);
    expect((await t.request({ method: 'GET', url: '/api/v1/transports/ses' })).status).toBe(404);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/transports/ses' })).status).toBe(404);
  });

  it('lists circuit breakers and lets an admin resume one', async () => {
    expect((await t.request({ method: 'GET', url: '/api/v1/breakers', scope: 'read' })).json).toEqual({ items: [] });
    const none = await t.request({ method: 'POST', url: '/api/v1/breakers/transport%3Ases/resume' });
    expect(none.status).toBe(404);
    expect(none.json.error.message).toMatch(/no circuit breaker "transport:ses"/);

    const trippedAt = t.clock.now();
    await upsertBreaker(t.db, { scope: 'campaign:12', state: 'paused', reason: 'complaint rate 0.4% above 0.3%', changedAt: trippedAt, resumedAt: null });
    const list = await t.request({ method: 'GET', url: '/api/v1/breakers', scope: 'read' });
    expect(list.json.items).toEqual([{ scope: 'campaign:12', state: 'paused', reason: 'complaint rate 0.4% above 0.3%', changedAt: '2026-11-27T10:00:00.000Z', resumedAt: null }]);
    expect((await t.request({ method: 'POST', url: '/api/v1/breakers/campaign%3A12/resume', scope: 'write' })).status).toBe(403);
    t.clock.advance(60_000);
    const resumed = await t.request({ method: 'POST', url: '/api/v1/breakers/campaign%3A12/resume' });
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ scope: 'campaign:12', state: 'normal', resumedAt: '2026-11-27T10:01:00.000Z', reason: expect.stringMatching(/resumed by an operator \(was paused: complaint rate/) });
    expect((await t.request({ method: 'GET', url: '/api/v1/breakers' })).json.items[0].state).toBe('normal');
  });
});

describe.each(DIALECTS)('transport secrets and the logs on %s', (dialect) => {
  it('never writes a secret to the log, whatever the request does', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
    const env = { CHAPAR_SECRET: TEST_SECRET, LOG_LEVEL: 'trace' };
    const app = await createApp(loadConfig(env), { clock: new ManualClock('2026-11-27T10:00:00Z'), logger, env, database: await openTestDatabase(dialect) });
    try {
      const http = await app.buildHttp();
      const key = (await createApiKey(app.ctx, { name: 'admin', scope: 'admin' })).secret;
      const call = async (method: 'POST' | 'PUT' | 'GET', url: string, body?: object) => {
        const r = await http.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });
        expect(r.body).not.toContain(PASSWORD);
        return r.statusCode;
      };
      expect(await call('POST', '/api/v1/transports', smtp())).toBe(201);
      expect(await call('POST', '/api/v1/transports', smtp())).toBe(409);
      expect(await call('POST', '/api/v1/transports', smtp({ name: 'x', settings: { host: 'h', password: PASSWORD } }))).toBe(400);
      expect(await call('POST', '/api/v1/transports', smtp({ name: 'x', settings: { host: 7 } }))).toBe(400);
      expect(await call('PUT', '/api/v1/transports/mta', smtp({ settings: { host: 'h', bogus: true } }))).toBe(400);
      expect(await call('PUT', '/api/v1/transports/mta', smtp())).toBe(200);
      expect(await call('GET', '/api/v1/transports')).toBe(200);
      // The log did record the requests (so the check below is about something).
      expect(lines.some((l) => l.includes('/api/v1/transports'))).toBe(true);
      const log = lines.join('');
      expect(log).not.toContain(PASSWORD);
      expect(log).not.toContain(key);
    } finally {
      await app.close();
    }
  });
});
