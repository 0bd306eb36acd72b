import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { checkSendPermission } from '../../src/services/send-permission.ts';

describe.each(DIALECTS)('suppression list and send permission on %s', (dialect) => {
  let t: TestApp;
  const may = (email: string, kind: 'marketing' | 'transactional', topic?: string) =>
    t.request({ method: 'GET', url: `/api/v1/send-permission?email=${encodeURIComponent(email)}&kind=${kind}${topic ? `&topic=${topic}` : ''}`, scope: 'read' }).then((r) => r.json);

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'Newsletter' } });
    await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'reader@example.com', topics: { newsletter: 'subscribed' } } });
    await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'pending@example.com', topics: { newsletter: 'pending' } } });
  });
  afterAll(async () => t?.close());

  it('allows marketing mail only with a subscribed topic', async () => {
    expect(await may('reader@example.com', 'marketing', 'newsletter')).toEqual({ allowed: true });
    expect(await may('READER@Example.com', 'marketing', 'newsletter')).toEqual({ allowed: true });
    expect(await may('pending@example.com', 'marketing', 'newsletter')).toEqual({ allowed: false, reason: 'not_subscribed', status: 'pending' });
    expect(await may('stranger@example.com', 'marketing', 'newsletter')).toEqual({ allowed: false, reason: 'not_subscribed', status: null });
    expect(await may('reader@example.com', 'marketing')).toEqual({ allowed: false, reason: 'no_topic' });
    expect(await may('stranger@example.com', 'transactional')).toEqual({ allowed: true });
    expect(await may('broken address', 'transactional')).toEqual({ allowed: false, reason: 'invalid_address' });
  });

  it('an unsubscribe_all blocks marketing but not transactional mail', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email: 'reader@example.com', reason: 'unsubscribe_all' } });
    expect(r.status).toBe(201);
    expect(await may('reader@example.com', 'marketing', 'newsletter')).toEqual({ allowed: false, reason: 'suppressed', suppression: 'unsubscribe_all' });
    expect(await may('reader@example.com', 'transactional')).toEqual({ allowed: true });
  });

  it('a hard bounce, complaint or manual entry blocks transactional mail too', async () => {
    for (const [i, reason] of (['hard_bounce', 'complaint', 'manual'] as const).entries()) {
      const email = `blocked${i}@example.com`;
      await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email, reason } });
      expect(await checkSendPermission(t.app.ctx, { email, kind: 'transactional' })).toEqual({ allowed: false, reason: 'suppressed', suppression: reason });
    }
  });

  it('is idempotent per address and reason, and lists entries by address or reason', async () => {
    const again = await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email: 'Blocked0@EXAMPLE.com', reason: 'hard_bounce' } });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ created: false });
    const byEmail = await t.request({ method: 'GET', url: '/api/v1/suppressions?email=blocked0@example.com', scope: 'read' });
    expect(byEmail.json.items).toEqual([expect.objectContaining({ email: 'blocked0@example.com', reason: 'hard_bounce', source: 'api' })]);
    const byReason = await t.request({ method: 'GET', url: '/api/v1/suppressions?reason=complaint', scope: 'read' });
    expect(byReason.json.items.map((s: { email: string }) => s.email)).toEqual(['blocked1@example.com']);
  });

  it('pages through the list with a cursor', async () => {
    const all: number[] = [];
    let cursor: string | null = null;
    do {
      const r = await t.request({ method: 'GET', url: `/api/v1/suppressions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, scope: 'read' });
      all.push(...r.json.items.map((s: { id: number }) => s.id));
      cursor = r.json.nextCursor;
    } while (cursor);
    expect(all).toHaveLength(4);
    expect([...all].sort((a, b) => a - b)).toEqual(all);
  });

  it('refuses bad input: invalid address, the reserved erased reason, an unknown reason', async () => {
    const bad = await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].field).toBe('email');
    const erased = await t.request({ method: 'POST', url: '/api/v1/suppressions', body: { email: 'x@example.com', reason: 'erased' } });
    expect(erased.status).toBe(400);
    expect(erased.json.error.details[0].field).toBe('reason');
  });

  it('lifts a suppression with an admin key only', async () => {
    const list = await t.request({ method: 'GET', url: '/api/v1/suppressions?email=blocked2@example.com' });
    const id = list.json.items[0].id;
    expect((await t.request({ method: 'DELETE', url: `/api/v1/suppressions/${id}`, scope: 'write' })).status).toBe(403);
    expect((await t.request({ method: 'DELETE', url: `/api/v1/suppressions/${id}` })).status).toBe(204);
    expect(await may('blocked2@example.com', 'transactional')).toEqual({ allowed: true });
    expect((await t.request({ method: 'DELETE', url: `/api/v1/suppressions/${id}` })).status).toBe(404);
  });
});
