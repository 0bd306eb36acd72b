import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, suppressionReasons } from '../helpers/feedback.ts';
import { CERT_URL, fakeHttpsGet, OTHER_KEY, signedEnvelope, TOPIC_ARN } from '../helpers/sns.ts';

// SES through SNS, end to end: envelopes signed here with the fixture key (test/fixtures/sns), the
// certificate served by a fake httpsGet that records every URL Chapar asks for.

const SES = { region: 'eu-west-1', accessKeyId: 'AKIAEXAMPLE' };
let seq = 0;

describe.each(DIALECTS)('SES webhooks through SNS on %s', (dialect) => {
  let t: TestApp;
  const get = fakeHttpsGet({ 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=broken': { status: 500, body: 'oops' } });

  beforeAll(async () => {
    t = await createTestApp(dialect, {}, { httpsGet: get });
    const add = async (name: string, settings: Record<string, unknown>) => {
      const r = await t.request({ method: 'POST', url: '/api/v1/transports', body: { name, kind: 'ses', settings: { ...SES, ...settings }, secrets: { secretAccessKey: 'secret' } } });
      expect(r.status).toBe(201);
    };
    await add('ses', { snsTopicArns: [TOPIC_ARN] });
    await add('ses-no-topics', {});
    await add('ses-raw', { snsTopicArns: [TOPIC_ARN], acceptUnsignedRawDelivery: true });
  });
  afterAll(async () => t?.close());

  const post = (body: unknown, transport = 'ses', headers: Record<string, string> = {}) =>
    t.request({ method: 'POST', url: `/webhooks/ses/${transport}`, body: typeof body === 'string' ? body : JSON.stringify(body), scope: 'none', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification', ...headers } });
  const mail = (ref: string, email: string) => ({ timestamp: '2026-11-27T09:58:00.000Z', messageId: `ses-${ref}`, destination: [email], tags: { chapar_message_ref: [ref] } });
  const id = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  const stored = async () => ({
    events: (await t.db.k.selectFrom('events').select(['id']).where('source', '=', 'ses').execute()).length,
    unmatched: (await t.db.k.selectFrom('unmatchedFeedback').select(['id']).where('source', '=', 'ses').execute()).length,
  });

  it('records a SignatureVersion 1 notification once, fetching the certificate once', async () => {
    const m = await sentMessage(t);
    const env = signedEnvelope(JSON.stringify({ notificationType: 'Delivery', mail: mail(m.ref, m.email), delivery: { timestamp: '2026-11-27T09:59:00.000Z', recipients: [m.email] } }), { MessageId: id() });
    const first = await post(env);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ ok: true, applied: 1, duplicate: 0, unmatched: 0, ignored: 0 });
    // SNS retries an envelope it thinks failed: stored once.
    expect((await post(env)).json).toEqual({ ok: true, applied: 0, duplicate: 1, unmatched: 0, ignored: 0 });
    const rows = await t.db.k.selectFrom('events').select(['type', 'sourceEventId']).where('messageRef', '=', m.ref).execute();
    expect(rows).toEqual([{ type: 'email_delivered', sourceEventId: `${env.MessageId}:${m.email}` }]);
    expect(get.urls.filter((u) => u === CERT_URL)).toHaveLength(1);
  });

  it('a SignatureVersion 2 hard bounce suppresses the address; a complaint marks the message complained', async () => {
    const bounced = await sentMessage(t);
    const complainer = await sentMessage(t);
    const bystander = await sentMessage(t);
    const bounce = { notificationType: 'Bounce', mail: mail(bounced.ref, bounced.email), bounce: { bounceType: 'Permanent', bounceSubType: 'General', feedbackId: 'fb-1', bouncedRecipients: [{ emailAddress: bounced.email, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }] } };
    expect((await post(signedEnvelope(JSON.stringify(bounce), { MessageId: id(), SignatureVersion: '2' }))).json).toMatchObject({ applied: 1 });
    expect(await suppressionReasons(t, bounced.email)).toEqual(['hard_bounce']);
    const complaint = { notificationType: 'Complaint', mail: mail(complainer.ref, complainer.email), complaint: { complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: complainer.email }] } };
    expect((await post(signedEnvelope(JSON.stringify(complaint), { MessageId: id(), SignatureVersion: '2' }))).json).toMatchObject({ applied: 1 });
    const status = async (mid: number) => (await t.db.k.selectFrom('messages').select(['status']).where('id', '=', mid).executeTakeFirstOrThrow()).status;
    expect(await status(bounced.id)).toBe('bounced');
    expect(await status(complainer.id)).toBe('complained');
    expect(await status(bystander.id)).toBe('sent');
    expect(await suppressionReasons(t, bystander.email)).toEqual([]);
  });

  it('refuses a wrong signature, an altered message or a certificate off the SNS hosts with 401, storing nothing', async () => {
    const m = await sentMessage(t);
    const message = JSON.stringify({ notificationType: 'Bounce', mail: mail(m.ref, m.email), bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: m.email }] } });
    const before = await stored();
    const fetched = get.urls.length;
    const good = signedEnvelope(message, { MessageId: id() });
    const cases = [
      signedEnvelope(message, { MessageId: id(), key: OTHER_KEY }),
      { ...good, Message: message.replace('Permanent', 'Transient') },
      signedEnvelope(message, { MessageId: id(), SigningCertURL: 'https://attacker.example/cert.pem' }),
      signedEnvelope(message, { MessageId: id(), SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem' }),
      signedEnvelope(message, { MessageId: id(), SigningCertURL: 'http://sns.eu-west-1.amazonaws.com/cert.pem' }),
      { ...good, Signature: undefined },
    ];
    for (const body of cases) {
      const r = await post(body);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('unauthorized');
    }
    expect((await post('{"Type":')).status).toBe(401);
    // The off-host certificates were never fetched; the good URL was cached already.
    expect(get.urls.length).toBe(fetched);
    expect(await stored()).toEqual(before);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
  });

  it('refuses topics the transport does not allow with 403', async () => {
    const env = signedEnvelope('{}', { MessageId: id(), TopicArn: 'arn:aws:sns:eu-west-1:999999999999:someone-else' });
    const r = await post(env);
    expect(r.status).toBe(403);
    expect(r.json.error.message).toMatch(/topic arn:aws:sns:eu-west-1:999999999999:someone-else is not in the snsTopicArns of transport "ses"/);
    const none = await post(signedEnvelope('{}', { MessageId: id() }), 'ses-no-topics');
    expect(none.status).toBe(403);
    expect(none.json.error.message).toMatch(/allows no SNS topic yet; add arn:aws:sns:eu-west-1:123456789012:ses-events to its snsTopicArns setting/);
  });

  it('confirms a subscription by fetching exactly the signed SubscribeURL, and only on an SNS host', async () => {
    const env = signedEnvelope('You have chosen to subscribe to the topic…', { Type: 'SubscriptionConfirmation', MessageId: id() });
    const r = await post(env, 'ses', { 'x-amz-sns-message-type': 'SubscriptionConfirmation' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true, subscription: 'confirmed' });
    expect(get.urls.at(-1)).toBe(env.SubscribeURL);
    const fetched = get.urls.length;
    const offHost = signedEnvelope('x', { Type: 'SubscriptionConfirmation', MessageId: id(), SubscribeURL: 'https://attacker.example/?Action=ConfirmSubscription' });
    expect((await post(offHost)).status).toBe(401);
    expect(get.urls.length).toBe(fetched);
    // AWS answering an error: a 5xx, so SNS tries again.
    const broken = signedEnvelope('x', { Type: 'SubscriptionConfirmation', MessageId: id(), SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=broken' });
    const failed = await post(broken);
    expect(failed.status).toBe(500);
    expect(failed.json.error.message).toMatch(/could not confirm the SNS subscription \(SubscribeURL answered 500\)/);
    expect((await post(signedEnvelope('x', { Type: 'UnsubscribeConfirmation', MessageId: id() }))).json).toEqual({ ok: true, subscription: 'removed' });
  });

  it('keeps an unknown notification type and a non-SES message as unmatched, with why', async () => {
    const m = await sentMessage(t);
    const odd = await post(signedEnvelope(JSON.stringify({ eventType: 'Teleport', mail: mail(m.ref, m.email) }), { MessageId: id() }));
    expect(odd.json).toEqual({ ok: true, applied: 0, duplicate: 0, unmatched: 1, ignored: 0 });
    const text = await post(signedEnvelope('Hello from the SNS console', { MessageId: id(), Subject: 'test' }));
    expect(text.json).toMatchObject({ unmatched: 1 });
    const whys = (await t.db.k.selectFrom('unmatchedFeedback').select(['why']).where('source', '=', 'ses').execute()).map((r) => r.why);
    expect(whys).toEqual(expect.arrayContaining(['unknown SES notification type "Teleport"', 'the SNS message is not JSON, so not an SES notification']));
  });

  it('refuses unsigned raw message delivery unless the transport accepts it, and then checks the topic header', async () => {
    const m = await sentMessage(t);
    const raw = { notificationType: 'Bounce', mail: mail(m.ref, m.email), bounce: { bounceType: 'Permanent', feedbackId: 'raw-1', bouncedRecipients: [{ emailAddress: m.email, status: '5.1.1' }] } };
    const refused = await post(raw);
    expect(refused.status).toBe(401);
    expect(refused.json.error.message).toMatch(/unsigned SES notification \(SNS raw message delivery\)/);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    expect((await post(raw, 'ses-raw', { 'x-amz-sns-topic-arn': 'arn:aws:sns:eu-west-1:999999999999:x' })).status).toBe(403);
    const accepted = await post(raw, 'ses-raw', { 'x-amz-sns-topic-arn': TOPIC_ARN, 'x-amz-sns-message-id': id() });
    expect(accepted.json).toMatchObject({ applied: 1 });
    expect(await suppressionReasons(t, m.email)).toEqual(['hard_bounce']);
  });

  it('answers 500 when the certificate cannot be fetched (SNS retries), 413 to 10 MB, 404 to an unknown transport', async () => {
    const before = await stored();
    const missing = await post(signedEnvelope('{}', { MessageId: id(), SigningCertURL: 'https://sns.eu-west-1.amazonaws.com/gone.pem' }));
    expect(missing.status).toBe(500);
    expect(missing.json.error.message).toBe('could not fetch the SNS signing certificate: the signing certificate URL answered HTTP 404');
    const huge = await post(signedEnvelope('x'.repeat(10 * 1024 * 1024), { MessageId: id() }));
    expect(huge.status).toBe(413);
    expect(await stored()).toEqual(before);
    expect((await post(signedEnvelope('{}'), 'nope')).status).toBe(404);
  });
});
