import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createMemorySendLimiter } from '../../src/adapters/limiter/memory.ts';
import { startDelivery } from '../../src/delivery.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

const inline = { subject: 'Order {{ order.number }}', html: '<p>Thanks, order {{ order.number }} is confirmed.</p>', fromName: 'Shop', fromEmail: 'orders@shop.example' };
const send = (body: object, opts: { scope?: 'read' | 'write' | 'admin'; headers?: Record<string, string> } = {}) => ({ method: 'POST', url: '/api/v1/messages', body, scope: opts.scope ?? 'write', ...(opts.headers ? { headers: opts.headers } : {}) });

describe.each(DIALECTS)('transactional messages API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    const tpl = await t.request({
      method: 'POST',
      url: '/api/v1/templates',
      body: { key: 'receipt', name: 'Receipt', kind: 'transactional', defaultLocale: 'en', variants: { en: { subject: 'Receipt {{ order.number }}', fromName: 'Shop', fromEmail: 'orders@shop.example', bodyType: 'html', body: '<p>Total {{ order.total }}</p>' } } },
    });
    expect(tpl.status).toBe(201);
  });
  afterAll(async () => t?.close());

  it('queues an inline message at once (202) under tx:<key>, recording the API key that sent it', async () => {
    const r = await t.request(send({ to: 'ana@Example.COM', ...inline, data: { order: { number: 1001 } }, idempotencyKey: 'order-1001' }));
    expect(r.status).toBe(202);
    expect(r.headers['idempotent-replay']).toBeUndefined();
    expect(r.json).toMatchObject({ idempotencyKey: 'tx:order-1001', stream: 'transactional', source: 'tx', to: 'ana@example.com', status: 'queued', attempts: 0, createdAt: '2026-11-27T10:00:00.000Z', nextAttemptAt: '2026-11-27T10:00:00.000Z', sentAt: null });
    expect(r.json.history).toEqual([expect.objectContaining({ status: 'queued', at: '2026-11-27T10:00:00.000Z' })]);
    const row = await t.db.k.selectFrom('messages').innerJoin('apiKeys', 'apiKeys.id', 'messages.apiKeyId').select(['apiKeys.name']).where('messages.id', '=', r.json.id).executeTakeFirstOrThrow();
    expect(row.name).toBe('test write');
  });

  it('a replayed key answers 200 with the existing message, even when the rest of the body differs', async () => {
    const first = await t.request(send({ to: 'replay@example.com', ...inline, data: { order: { number: 1 } } }, { headers: { 'idempotency-key': 'replay-1' } }));
    expect(first.status).toBe(202);
    const again = await t.request(send({ to: 'replay@example.com', ...inline, data: { order: { number: 1 } }, idempotencyKey: 'replay-1' }));
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    const other = await t.request(send({ to: 'someone-else@example.com', ...inline }, { headers: { 'idempotency-key': 'replay-1' } }));
    expect(other.status).toBe(200);
    expect(other.json).toMatchObject({ id: first.json.id, to: 'replay@example.com' });
    expect(await t.db.k.selectFrom('messages').select('id').where('idempotencyKey', '=', 'tx:replay-1').execute()).toHaveLength(1);
  });

  it('sends with a stored template; an unknown template is a 400 naming `template`', async () => {
    const r = await t.request(send({ to: 'bo@example.com', template: 'receipt', data: { order: { number: 7, total: '9.50' } }, idempotencyKey: 'tpl-1' }));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ template: 'receipt', stream: 'transactional', status: 'queued' });
    const bad = await t.request(send({ to: 'bo@example.com', template: 'nope', idempotencyKey: 'tpl-2' }));
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([expect.objectContaining({ field: 'template' })]);
    const both = await t.request(send({ to: 'bo@example.com', template: 'receipt', subject: 'x', stream: 'marketing', idempotencyKey: 'tpl-3' }));
    expect(both.status).toBe(400);
    expect(both.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['stream', 'subject']);
  });

  it('records an invalid recipient as failed with the reason (202), and never sends it', async () => {
    const r = await t.request(send({ to: 'not an address', ...inline, idempotencyKey: 'bad-to' }));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'failed', nextAttemptAt: null });
    expect(r.json.reason).toMatch(/^invalid recipient: "not an address"/);
    expect(r.json.history).toEqual([expect.objectContaining({ status: 'failed', response: r.json.reason })]);
  });

  it('refuses a request without an idempotency key, or with a header and body that disagree', async () => {
    const none = await t.request(send({ to: 'a@example.com', ...inline }));
    expect(none.status).toBe(400);
    expect(none.json.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'idempotencyKey', message: expect.stringMatching(/required/) }] });
    const mismatch = await t.request(send({ to: 'a@example.com', ...inline, idempotencyKey: 'k-1' }, { headers: { 'idempotency-key': 'k-2' } }));
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.details).toEqual([expect.objectContaining({ field: 'idempotencyKey', message: expect.stringMatching(/Idempotency-Key header/) })]);
    const badHeader = await t.request(send({ to: 'a@example.com', ...inline }, { headers: { 'idempotency-key': 'has space' } }));
    expect(badHeader.status).toBe(400);
    expect(badHeader.json.error.details[0].field).toBe('Idempotency-Key');
    const badBody = await t.request(send({ to: 'a@example.com', ...inline, idempotencyKey: 'x'.repeat(201) }));
    expect(badBody.status).toBe(400);
    expect(badBody.json.error.details[0].field).toBe('idempotencyKey');
    // Nothing was stored by any of them.
    expect(await t.db.k.selectFrom('messages').select('id').where('toEmail', '=', 'a@example.com').execute()).toHaveLength(0);
  });

  it('checks inline content: html or text, Liquid syntax with line and column, sender, unknown fields, sendAt', async () => {
    const noBody = await t.request(send({ to: 'a@example.com', subject: 'Hi', fromEmail: 'orders@shop.example', idempotencyKey: 'c-1' }));
    expect(noBody.status).toBe(400);
    expect(noBody.json.error.details).toEqual([expect.objectContaining({ field: 'html', message: expect.stringMatching(/html, text, or both/) })]);

    const liquid = await t.request(send({ to: 'a@example.com', ...inline, html: '<p>\n{% if order %}unclosed</p>', idempotencyKey: 'c-2' }));
    expect(liquid.status).toBe(400);
    expect(liquid.json.error.details).toEqual([expect.objectContaining({ field: 'html', message: expect.stringMatching(/^line 2, column \d+: /) })]);

    const noSender = await t.request(send({ to: 'a@example.com', subject: 'Hi', text: 'Hello', idempotencyKey: 'c-3' }));
    expect(noSender.status).toBe(400);
    expect(noSender.json.error.details).toEqual([{ field: 'fromEmail', message: 'is required without a template' }]);

    const badSender = await t.request(send({ to: 'a@example.com', ...inline, fromEmail: 'nobody', idempotencyKey: 'c-4' }));
    expect(badSender.json.error.details).toEqual([expect.objectContaining({ field: 'fromEmail' })]);

    const unknown = await t.request(send({ to: 'a@example.com', ...inline, cc: 'x@example.com', idempotencyKey: 'c-5' }));
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details).toEqual([{ field: 'cc', message: 'is not a known field' }]);

    const sendAt = await t.request(send({ to: 'a@example.com', ...inline, sendAt: 'tomorrow', idempotencyKey: 'c-6' }));
    expect(sendAt.status).toBe(400);
    expect(sendAt.json.error.details).toEqual([expect.objectContaining({ field: 'sendAt' })]);

    const marketing = await t.request(send({ to: 'a@example.com', ...inline, stream: 'marketing', idempotencyKey: 'c-7' }));
    expect(marketing.status).toBe(400);
    expect(marketing.json.error.details).toEqual([expect.objectContaining({ field: 'topic' })]);
  });

  it('needs a write key to send; a read key may read', async () => {
    const r = await t.request(send({ to: 'a@example.com', ...inline, idempotencyKey: 'scope-1' }, { scope: 'read' }));
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('forbidden');
    expect((await t.request({ method: 'GET', url: '/api/v1/messages', scope: 'read' })).status).toBe(200);
    expect((await t.request({ method: 'POST', url: '/api/v1/messages', body: {}, scope: 'none' })).status).toBe(401);
  });

  it('reads one message (404 when unknown) and lists with filters and a cursor', async () => {
    expect((await t.request({ method: 'GET', url: '/api/v1/messages/999999', scope: 'read' })).json.error.code).toBe('not_found');
    for (const n of [1, 2, 3]) expect((await t.request(send({ to: 'list@Shop.example', ...inline, data: { order: { number: n } }, idempotencyKey: `list-${n}` }))).status).toBe(202);
    const page1 = await t.request({ method: 'GET', url: '/api/v1/messages?to=list@SHOP.EXAMPLE&limit=2', scope: 'read' });
    expect(page1.status).toBe(200);
    expect(page1.json.items.map((m: { idempotencyKey: string }) => m.idempotencyKey)).toEqual(['tx:list-3', 'tx:list-2']);
    expect(page1.json.items[0].history).toBeUndefined();
    const page2 = await t.request({ method: 'GET', url: `/api/v1/messages?to=list@shop.example&limit=2&cursor=${page1.json.nextCursor}`, scope: 'read' });
    expect(page2.json).toMatchObject({ items: [{ idempotencyKey: 'tx:list-1' }], nextCursor: null });
    const failed = await t.request({ method: 'GET', url: '/api/v1/messages?status=failed', scope: 'read' });
    expect(failed.json.items.length).toBeGreaterThan(0);
    expect(failed.json.items.every((m: { status: string }) => m.status === 'failed')).toBe(true);
    const one = await t.request({ method: 'GET', url: `/api/v1/messages/${page1.json.items[0].id}`, scope: 'read' });
    expect(one.json).toMatchObject({ idempotencyKey: 'tx:list-3', history: [{ status: 'queued' }] });
    for (const q of ['status=lost', 'limit=201', 'cursor=abc', 'colour=red']) {
      const bad = await t.request({ method: 'GET', url: `/api/v1/messages?${q}`, scope: 'read' });
      expect(bad.status, q).toBe(400);
      expect(bad.json.error.details[0].field, q).toBe(q.split('=')[0]);
    }
  });

  it('end to end: POST, the delivery worker sends it through capture, GET shows sent with its history', async () => {
    const delivery = await startDelivery(t.app, { start: false, limiter: createMemorySendLimiter(), random: () => 0.5 });
    try {
      await delivery.worker.drain(); // what earlier tests queued
      const r = await t.request(send({ to: 'e2e@example.com', ...inline, data: { order: { number: 4242 } }, idempotencyKey: 'e2e-1' }));
      expect(r.status).toBe(202);
      const later = await t.request(send({ to: 'later@example.com', ...inline, sendAt: '2026-11-27T12:00:00Z', idempotencyKey: 'e2e-2' }));
      expect(later.json).toMatchObject({ status: 'queued', nextAttemptAt: '2026-11-27T12:00:00.000Z' });
      expect(await delivery.worker.drain()).toBe(1);
      const m = await t.request({ method: 'GET', url: `/api/v1/messages/${r.json.id}`, scope: 'read' });
      expect(m.json).toMatchObject({ status: 'sent', transport: 'capture', attempts: 1, sentAt: '2026-11-27T10:00:00.000Z' });
      expect(m.json.history.map((h: { status: string }) => h.status)).toEqual(['queued', 'sent']);
      const captured = await t.request({ method: 'GET', url: '/api/v1/captured-messages?to=e2e@example.com' });
      expect(captured.json.items).toHaveLength(1);
      const raw = await t.request({ method: 'GET', url: `/api/v1/captured-messages/${captured.json.items[0].id}` });
      const mail = await simpleParser(raw.body);
      expect(mail.subject).toBe('Order 4242');
      expect(mail.html).toContain('order 4242 is confirmed');
      expect((await t.request({ method: 'GET', url: `/api/v1/messages/${later.json.id}` })).json.status).toBe('queued');
    } finally {
      await delivery.stop();
    }
  });

  it('end to end: a route naming capture keeps its mail in Chapar; the rest takes the default route to the SMTP transport', async () => {
    // An SMTP transport nothing listens behind: what reaches it is deferred, not lost.
    expect((await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'mta', kind: 'smtp', settings: { host: '127.0.0.1', port: 1, starttls: 'opportunistic', domainLimits: false } } })).status).toBe(201);
    expect((await t.request({ method: 'PUT', url: '/api/v1/routes', body: [{ recipientDomain: 'test.example', transports: ['capture'] }] })).status).toBe(200);
    const delivery = await startDelivery(t.app, { start: false, limiter: createMemorySendLimiter(), random: () => 0.5 });
    try {
      const qa = await t.request(send({ to: 'qa@test.example', ...inline, data: { order: { number: 1 } }, idempotencyKey: 'route-1' }));
      const real = await t.request(send({ to: 'real@example.com', ...inline, data: { order: { number: 2 } }, idempotencyKey: 'route-2' }));
      expect(await delivery.worker.drain()).toBe(2);
      expect((await t.request({ method: 'GET', url: `/api/v1/messages/${qa.json.id}` })).json).toMatchObject({ status: 'sent', transport: 'capture' });
      const deferred = (await t.request({ method: 'GET', url: `/api/v1/messages/${real.json.id}` })).json;
      expect(deferred).toMatchObject({ status: 'deferred', transport: 'mta' });
      expect(deferred.history.map((h: { status: string }) => h.status)).toEqual(['queued', 'deferred']);
      expect((await t.request({ method: 'GET', url: '/api/v1/captured-messages?to=real@example.com' })).json.items).toHaveLength(0);
    } finally {
      await delivery.stop();
    }
  });
});

describe.each(DIALECTS)('transactional API rate limit on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { CHAPAR_TX_RATE: '2', CHAPAR_TX_BURST: '3' });
  });
  afterAll(async () => t?.close());

  it('answers 429 with Retry-After once a key has used its burst, per key, and refills with time', async () => {
    const post = (n: number, scope: 'write' | 'admin' = 'write') => t.request(send({ to: 'rl@example.com', ...inline, idempotencyKey: `rl-${scope}-${n}` }, { scope }));
    for (const n of [1, 2, 3]) expect((await post(n)).status).toBe(202);
    const limited = await post(4);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json.error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/at most 2 a second \(bursts of 3\)/) });
    expect((await post(1, 'admin')).status).toBe(202); // another key has its own bucket
    t.clock.advance(500); // one token back at 2 a second
    expect((await post(5)).status).toBe(202);
    expect((await post(6)).status).toBe(429);
    expect(await t.db.k.selectFrom('messages').select('id').execute()).toHaveLength(5);
  });
});
