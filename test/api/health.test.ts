import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// GET /health answers load balancers and monitors, every few seconds: it is not logged per request,
// while every other request still is.
describe('health check', () => {
  let t: TestApp;
  const lines: { msg: string; req?: { url: string } }[] = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite', {}, { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) });
  });
  afterAll(async () => t?.close());

  it('answers ok without a request log line, and other requests are logged as before', async () => {
    lines.length = 0;
    const health = await t.http.inject({ method: 'GET', url: '/health' });
    expect([health.statusCode, health.json()]).toEqual([200, { ok: true }]);
    expect(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);

    const contacts = await t.request({ method: 'GET', url: '/api/v1/contacts' });
    expect(contacts.status).toBe(200);
    expect(lines.filter((l) => l.msg === 'incoming request').map((l) => l.req?.url)).toEqual(['/api/v1/contacts']);
  });
});
