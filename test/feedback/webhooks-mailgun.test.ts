import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailgunSignature } from '../../src/adapters/feedback/mailgun-events.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, suppressionReasons } from '../helpers/feedback.ts';

const SIGNING_KEY = 'key-webhook-5d2c1a';

describe.each(DIALECTS)('Mailgun webhooks on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    const r = await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'mg', kind: 'mailgun', settings: { domain: 'mg.shop.example', region: 'eu' }, secrets: { apiKey: 'key-api', webhookSigningKey: SIGNING_KEY } } });
    expect(r.status).toBe(201);
    expect(r.json.secretsSet).toEqual(['apiKey', 'webhookSigningKey']);
    expect(r.body).not.toContain(SIGNING_KEY);
    await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'mg-unsigned', kind: 'mailgun', settings: { domain: 'mg.shop.example', region: 'eu' }, secrets: { apiKey: 'key-api' } } });
  });
  afterAll(async () => t?.close());

  const signature = (over: { key?: string; timestamp?: string; token?: string } = {}) => {
    const timestamp = over.timestamp ?? String(Math.floor(t.clock.now() / 1000));
    const token = over.token ?? randomBytes(25).toString('hex');
    return { timestamp, token, signature: mailgunSignature(over.key ?? SIGNING_KEY, timestamp, token) };
  };
  const event = (ref: string, e: Record<string, unknown>) => ({ id: randomBytes(8).toString('hex'), timestamp: t.clock.now() / 1000, recipient: 'x@example.com', 'user-variables': { chapar_message_ref: ref }, ...e });
  const post = (body: unknown, url = '/webhooks/mailgun/mg', contentType = 'application/json') =>
    t.request({ method: 'POST', url, body: typeof body === 'string' ? body : JSON.stringify(body), scope: 'none', headers: { 'content-type': contentType } });
  const stored = async () => ({
    events: (await t.db.k.selectFrom('events').select(['sourceEventId']).where('source', '=', 'mailgun').execute()).length,
    unmatched: (await t.db.k.selectFrom('unmatchedFeedback').select(['why']).where('source', '=', 'mailgun').execute()).length,
  });

  it('records a correctly signed event once: a replayed request is refused, a resent event is a duplicate', async () => {
    const m = await sentMessage(t);
    const body = { signature: signature(), 'event-data': event(m.ref, { event: 'delivered', recipient: m.email }) };
    const before = await stored();
    const first = await post(body);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ ok: true, applied: 1, duplicate: 0, unmatched: 0, ignored: 0 });
    const replay = await post(body);
    expect(replay.status).toBe(401);
    expect(replay.json.error.message).toMatch(/signature token was used before/);
    // Mailgun's retry of the same event comes with a new token: stored once all the same.
    const again = await post({ ...body, signature: signature() });
    expect(again.json).toEqual({ ok: true, applied: 0, duplicate: 1, unmatched: 0, ignored: 0 });
    expect(await stored()).toEqual({ ...before, events: before.events + 1 });
    const row = await t.db.k.selectFrom('events').selectAll().where('messageRef', '=', m.ref).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ type: 'email_delivered', source: 'mailgun', sourceEventId: body['event-data'].id, contactId: m.contactId });
  });

  it('refuses a wrong, missing, stale or foreign signature with 401 and stores nothing', async () => {
    const m = await sentMessage(t);
    const data = event(m.ref, { event: 'failed', severity: 'permanent', 'delivery-status': { code: 550, 'enhanced-code': '5.1.1', message: 'user unknown' } });
    const before = await stored();
    const cases = [
      { signature: signature({ key: 'someone-elses-key' }), 'event-data': data },
      { signature: { ...signature(), signature: 'ab'.repeat(32) }, 'event-data': data },
      { 'event-data': data },
      { signature: signature({ timestamp: String(Math.floor(t.clock.now() / 1000) - 3600) }), 'event-data': data },
    ];
    for (const body of cases) {
      const r = await post(body);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('unauthorized');
    }
    expect((await post('this is not json')).status).toBe(401);
    // A transport without a signing key accepts nothing.
    const noKey = await post({ signature: signature(), 'event-data': data }, '/webhooks/mailgun/mg-unsigned');
    expect(noKey.status).toBe(401);
    expect(noKey.json.error.message).toMatch(/no webhookSigningKey secret/);
    expect(await stored()).toEqual(before);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
  });

  it('a hard bounce suppresses the address and marks the message; another contact is not affected', async () => {
    const m = await sentMessage(t);
    const bystander = await sentMessage(t);
    const r = await post({ signature: signature(), 'event-data': event(m.ref, { event: 'failed', severity: 'permanent', reason: 'bounce', recipient: m.email, 'delivery-status': { code: 550, 'enhanced-code': '5.1.1', message: '5.1.1 The email account that you tried to reach does not exist' } }) });
    expect(r.json).toMatchObject({ ok: true, applied: 1 });
    expect(await suppressionReasons(t, m.email)).toEqual(['hard_bounce']);
    expect(await t.db.k.selectFrom('messages').select(['status', 'reason']).where('id', '=', m.id).executeTakeFirstOrThrow()).toEqual({ status: 'bounced', reason: 'hard_bounce: user_unknown (5.1.1)' });
    expect(await suppressionReasons(t, bystander.email)).toEqual([]);
  });

  it('a complaint marks the message complained, found by the provider id alone', async () => {
    const m = await sentMessage(t, undefined, { providerMessageId: '20261127100000.1.ABC@mg.shop.example' });
    const r = await post({ signature: signature(), 'event-data': { id: 'complaint-1', event: 'complained', timestamp: t.clock.now() / 1000, recipient: m.email, message: { headers: { 'message-id': '20261127100000.1.ABC@mg.shop.example' } } } });
    expect(r.json).toMatchObject({ applied: 1 });
    expect((await t.db.k.selectFrom('messages').select(['status']).where('id', '=', m.id).executeTakeFirstOrThrow()).status).toBe('complained');
    expect(await suppressionReasons(t, m.email)).toEqual(['complaint']);
  });

  it('keeps an unknown event type as unmatched, with why, and answers 200', async () => {
    const r = await post({ signature: signature(), 'event-data': { id: 'odd-1', event: 'teleported', timestamp: t.clock.now() / 1000 } });
    expect(r.json).toEqual({ ok: true, applied: 0, duplicate: 0, unmatched: 1, ignored: 0 });
    const row = await t.db.k.selectFrom('unmatchedFeedback').selectAll().where('sourceEventId', '=', 'odd-1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ source: 'mailgun', type: 'teleported', why: 'unknown Mailgun event type "teleported"' });
    // Routine events are answered and dropped.
    expect((await post({ signature: signature(), 'event-data': { id: 'acc-1', event: 'accepted' } })).json).toMatchObject({ ignored: 1 });
  });

  it('answers 406 (do not retry) to a signed body it can never use, and keeps a note of it', async () => {
    const r = await post({ signature: signature() });
    expect(r.status).toBe(406);
    expect(r.json.error.message).toBe('the webhook has no "event-data" object');
    const legacy = await post(new URLSearchParams({ ...signature(), event: 'delivered' }).toString(), '/webhooks/mailgun/mg', 'application/x-www-form-urlencoded');
    expect(legacy.status).toBe(406);
    expect(legacy.json.error.message).toMatch(/legacy \(form-encoded\) Mailgun webhook/);
    expect(await t.db.k.selectFrom('unmatchedFeedback').select(['why']).where('why', 'like', '%legacy%').execute()).toHaveLength(1);
  });

  it('answers 413 to a 10 MB body without reading it, and 404 to an unknown transport', async () => {
    const before = await stored();
    const huge = JSON.stringify({ signature: signature(), 'event-data': { event: 'delivered', pad: 'x'.repeat(10 * 1024 * 1024) } });
    const r = await post(huge);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('payload_too_large');
    expect(await stored()).toEqual(before);
    const unknown = await post({ signature: signature(), 'event-data': {} }, '/webhooks/mailgun/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toMatch(/no mailgun transport named "nope"/);
    // The SendGrid route does not take a Mailgun transport's name.
    expect((await post([], '/webhooks/sendgrid/mg')).status).toBe(404);
  });
});
