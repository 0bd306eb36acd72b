import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, suppressionReasons } from '../helpers/feedback.ts';

// formats.md §4.2: the official vector, posted as SendGrid would post it.
const VECTOR = {
  key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==',
  signature: 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=',
  timestamp: '1588788367',
  body: '{"category":"example_payload","event":"test_event","message_id":"message_id"}',
};

describe.each(DIALECTS)('SendGrid webhooks on %s', (dialect) => {
  let t: TestApp;
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicKey = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

  beforeAll(async () => {
    t = await createTestApp(dialect);
    const r = await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'sg', kind: 'sendgrid', settings: { webhookPublicKey: publicKey }, secrets: { apiKey: 'SG.key' } } });
    expect(r.status).toBe(201);
    expect(r.json.settings.webhookPublicKey).toBe(publicKey);
    await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'sg-vector', kind: 'sendgrid', settings: { webhookPublicKey: VECTOR.key }, secrets: { apiKey: 'SG.key' } } });
    await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'sg-nokey', kind: 'sendgrid', settings: {}, secrets: { apiKey: 'SG.key' } } });
  });
  afterAll(async () => t?.close());

  const post = (body: string, headers: Record<string, string>, transport = 'sg') =>
    t.request({ method: 'POST', url: `/webhooks/sendgrid/${transport}`, body, scope: 'none', headers: { 'content-type': 'application/json', ...headers } });
  const signed = (body: string, timestamp = String(Math.floor(t.clock.now() / 1000))) => ({
    'x-twilio-email-event-webhook-timestamp': timestamp,
    'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(timestamp + body), pair.privateKey).toString('base64'),
  });
  const ev = (ref: string, email: string, e: Record<string, unknown>) => ({ email, timestamp: Math.floor(t.clock.now() / 1000), sg_message_id: 'sgid.filter0001', chapar_message_ref: ref, ...e });
  const stored = async () => ({
    events: (await t.db.k.selectFrom('events').select(['id']).where('source', '=', 'sendgrid').execute()).length,
    unmatched: (await t.db.k.selectFrom('unmatchedFeedback').select(['id']).where('source', '=', 'sendgrid').execute()).length,
  });

  it('verifies the official test vector over the exact bytes received', async () => {
    const r = await post(VECTOR.body, { 'x-twilio-email-event-webhook-timestamp': VECTOR.timestamp, 'x-twilio-email-event-webhook-signature': VECTOR.signature }, 'sg-vector');
    expect(r.status).toBe(200);
    // A test_event is no event type Chapar knows: kept for inspection.
    expect(r.json).toEqual({ ok: true, applied: 0, duplicate: 0, unmatched: 1, ignored: 0 });
    // The same JSON with other whitespace is other bytes, and fails.
    const spaced = await post(JSON.stringify(JSON.parse(VECTOR.body), null, 2), { 'x-twilio-email-event-webhook-timestamp': VECTOR.timestamp, 'x-twilio-email-event-webhook-signature': VECTOR.signature }, 'sg-vector');
    expect(spaced.status).toBe(401);
  });

  it('records a signed batch; the same batch again is stored once', async () => {
    const m = await sentMessage(t);
    const body = JSON.stringify([ev(m.ref, m.email, { event: 'processed', sg_event_id: 'sg-p1' }), ev(m.ref, m.email, { event: 'delivered', sg_event_id: 'sg-d1' }), ev(m.ref, m.email, { event: 'open', sg_event_id: 'sg-o1', useragent: 'Mozilla/5.0', ip: '203.0.113.5' })]);
    const first = await post(body, signed(body));
    expect(first.json).toEqual({ ok: true, applied: 2, duplicate: 0, unmatched: 0, ignored: 1 });
    const again = await post(body, signed(body));
    expect(again.json).toEqual({ ok: true, applied: 0, duplicate: 2, unmatched: 0, ignored: 1 });
    const rows = await t.db.k.selectFrom('events').select(['type', 'sourceEventId']).where('messageRef', '=', m.ref).orderBy('id').execute();
    expect(rows).toEqual([
      { type: 'email_delivered', sourceEventId: 'sg-d1' },
      { type: 'email_opened', sourceEventId: 'sg-o1' },
    ]);
  });

  it('refuses a wrong or missing signature with 401 and stores nothing', async () => {
    const m = await sentMessage(t);
    const body = JSON.stringify([ev(m.ref, m.email, { event: 'bounce', type: 'bounce', sg_event_id: 'sg-b-bad', status: '5.1.1', reason: '550 5.1.1 no such user' })]);
    const before = await stored();
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ts = String(Math.floor(t.clock.now() / 1000));
    const cases: Record<string, string>[] = [
      { 'x-twilio-email-event-webhook-timestamp': ts, 'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(ts + body), other.privateKey).toString('base64') },
      { ...signed(body), 'x-twilio-email-event-webhook-timestamp': String(Number(ts) + 1) },
      { 'x-twilio-email-event-webhook-timestamp': ts },
      {},
    ];
    for (const headers of cases) expect((await post(body, headers)).status).toBe(401);
    expect((await post(body.replace('5.1.1', '5.1.2'), signed(body))).status).toBe(401);
    const noKey = await post(body, signed(body), 'sg-nokey');
    expect(noKey.status).toBe(401);
    expect(noKey.json.error.message).toMatch(/no webhookPublicKey setting/);
    expect(await stored()).toEqual(before);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
  });

  it('a bounce suppresses the address, a spam report marks the message complained, a drop is kept unmatched', async () => {
    const bounced = await sentMessage(t);
    const complainer = await sentMessage(t);
    const bystander = await sentMessage(t);
    const body = JSON.stringify([
      ev(bounced.ref, bounced.email, { event: 'bounce', type: 'bounce', sg_event_id: 'sg-b1', status: '5.1.1', reason: '550 5.1.1 The email account that you tried to reach does not exist' }),
      ev(complainer.ref, complainer.email, { event: 'spamreport', sg_event_id: 'sg-s1' }),
      ev(bystander.ref, bystander.email, { event: 'dropped', sg_event_id: 'sg-x1', reason: 'Bounced Address' }),
    ]);
    const r = await post(body, signed(body));
    expect(r.json).toEqual({ ok: true, applied: 2, duplicate: 0, unmatched: 1, ignored: 0 });
    expect(await suppressionReasons(t, bounced.email)).toEqual(['hard_bounce']);
    const status = async (id: number) => (await t.db.k.selectFrom('messages').select(['status']).where('id', '=', id).executeTakeFirstOrThrow()).status;
    expect(await status(bounced.id)).toBe('bounced');
    expect(await status(complainer.id)).toBe('complained');
    expect(await suppressionReasons(t, complainer.email)).toEqual(['complaint']);
    expect(await status(bystander.id)).toBe('sent');
    expect(await suppressionReasons(t, bystander.email)).toEqual([]);
    const drop = await t.db.k.selectFrom('unmatchedFeedback').selectAll().where('sourceEventId', '=', 'sg-x1').executeTakeFirstOrThrow();
    expect(drop).toMatchObject({ source: 'sendgrid', type: 'dropped', why: 'SendGrid dropped the message without sending it: Bounced Address' });
  });

  it('keeps a signed body that is not JSON as unmatched, answers 413 to 10 MB, and refuses a bad key setting', async () => {
    const junk = 'not json at all';
    const r = await post(junk, signed(junk));
    expect(r.json).toMatchObject({ ok: true, unmatched: 1 });
    const huge = `[${'"x",'.repeat(2_700_000)}"x"]`;
    const before = await stored();
    expect((await post(huge, signed('[]'))).status).toBe(413);
    expect(await stored()).toEqual(before);
    const bad = await t.request({ method: 'POST', url: '/api/v1/transports', body: { name: 'sg-bad', kind: 'sendgrid', settings: { webhookPublicKey: 'c2VjcmV0' }, secrets: { apiKey: 'SG.key' } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/sendgrid\.webhookPublicKey: must be the Signed Event Webhook verification key/);
  });
});
