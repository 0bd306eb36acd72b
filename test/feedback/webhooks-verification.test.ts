import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mailgunSignature, verifyMailgunWebhook } from '../../src/adapters/feedback/mailgun-events.ts';
import { createReplayTokens } from '../../src/adapters/feedback/replay-tokens.ts';
import { verifySendGridWebhook } from '../../src/adapters/feedback/sendgrid-events.ts';
import { createSnsCertificates } from '../../src/adapters/feedback/sns-certificates.ts';
import { checkSigningCertUrl, checkSnsUrl, parseSnsBody, snsStringToSign, verifySnsSignature } from '../../src/adapters/feedback/sns-signature.ts';
import { checkWebhookSettings, parseSendGridPublicKey, topicArnsOf } from '../../src/adapters/feedback/webhook-settings.ts';
import { CERT_URL, fakeHttpsGet, OTHER_CERT, OTHER_KEY, signedEnvelope, SNS_CERT } from '../helpers/sns.ts';

// The pure checks: every signature scheme against its documented vector or a key made here, and
// every way a request can be wrong (formats.md §4).

describe('Mailgun signature', () => {
  // formats.md §4.1 computed vector.
  const key = 'mg-signing-key-123';
  const timestamp = '1529006854';
  const token = 'a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0';
  const vector = '8d3c5783aeebedde61bb6494ddff0dba392011850ae9134f78919dddb479deff';
  const now = 1529006854_000 + 60_000;
  const body = (sig: Record<string, unknown>, extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ signature: sig, 'event-data': { event: 'delivered', id: 'e1' }, ...extra }));

  it('matches the documented vector and accepts a fresh, correctly signed body', () => {
    expect(mailgunSignature(key, timestamp, token)).toBe(vector);
    const r = verifyMailgunWebhook({ body: body({ timestamp, token, signature: vector }), contentType: 'application/json', signingKey: key, now });
    expect(r).toEqual({ ok: true, value: { token, format: 'json', eventData: { event: 'delivered', id: 'e1' } } });
  });

  it('accepts a numeric timestamp and an upper-case hex signature', () => {
    const r = verifyMailgunWebhook({ body: body({ timestamp: Number(timestamp), token, signature: vector.toUpperCase() }), contentType: 'application/json; charset=utf-8', signingKey: key, now });
    expect(r.ok).toBe(true);
  });

  it.each([
    ['a wrong key', { timestamp, token, signature: vector }, 'other-key', now, /does not match/],
    ['a changed token', { timestamp, token: `${token}x`, signature: vector }, key, now, /does not match/],
    ['a changed timestamp', { timestamp: '1529006855', token, signature: vector }, key, now, /does not match/],
    ['a short signature', { timestamp, token, signature: vector.slice(2) }, key, now, /64 hex digits/],
    ['no signature', { timestamp, token }, key, now, /64 hex digits/],
    ['no token', { timestamp, signature: vector }, key, now, /token is missing/],
    ['a non-numeric timestamp', { timestamp: 'yesterday', token, signature: vector }, key, now, /timestamp/],
    ['a stale timestamp', { timestamp, token, signature: vector }, key, 1529006854_000 + 16 * 60_000, /16 minutes from now/],
    ['a timestamp from the future', { timestamp, token, signature: vector }, key, 1529006854_000 - 16 * 60_000, /16 minutes from now/],
  ])('refuses %s', (_name, sig, signingKey, at, why) => {
    const r = verifyMailgunWebhook({ body: body(sig), contentType: 'application/json', signingKey, now: at });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });

  it('refuses bodies that carry no signature at all, saying why', () => {
    const check = (b: string, type = 'application/json') => verifyMailgunWebhook({ body: Buffer.from(b), contentType: type, signingKey: key, now });
    expect(check('not json')).toEqual({ ok: false, why: 'the body is not JSON, so it carries no Mailgun signature' });
    expect(check('{"event-data":{}}')).toEqual({ ok: false, why: 'the body has no "signature" object' });
    expect(check('[]')).toEqual({ ok: false, why: 'the body has no "signature" object' });
    expect(check('', 'text/xml')).toMatchObject({ ok: false, why: expect.stringMatching(/text\/xml body/) });
  });

  it('verifies legacy form-encoded webhooks (reported as legacy, not read)', () => {
    const form = new URLSearchParams({ timestamp, token, signature: vector, event: 'delivered' }).toString();
    const r = verifyMailgunWebhook({ body: Buffer.from(form), contentType: 'application/x-www-form-urlencoded', signingKey: key, now });
    expect(r).toMatchObject({ ok: true, value: { format: 'legacy', token } });
  });
});

describe('replay tokens', () => {
  it('lets a token through once within its window, again after release or expiry', () => {
    const tokens = createReplayTokens(1000);
    expect(tokens.claim('a', 0)).toBe(true);
    expect(tokens.claim('a', 500)).toBe(false);
    tokens.release('a');
    expect(tokens.claim('a', 600)).toBe(true);
    expect(tokens.claim('a', 1700)).toBe(true);
  });

  it('stays bounded, dropping the oldest first', () => {
    const tokens = createReplayTokens(60_000, 3);
    for (const t of ['a', 'b', 'c', 'd']) expect(tokens.claim(t, 0)).toBe(true);
    expect(tokens.claim('a', 1)).toBe(true);
    expect(tokens.claim('d', 1)).toBe(false);
  });
});

describe('SendGrid signature', () => {
  // formats.md §4.2: the official vector from sendgrid-nodejs's eventwebhook tests.
  const publicKey = parseSendGridPublicKey('MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==');
  const signature = 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=';
  const timestamp = '1588788367';
  const body = Buffer.from('{"category":"example_payload","event":"test_event","message_id":"message_id"}');

  it('passes the official test vector', () => {
    expect(verifySendGridWebhook({ body, signature, timestamp, publicKey })).toEqual({ ok: true, value: body });
  });

  it.each([
    ['a changed body', { body: Buffer.from(body.toString().replace('test_event', 'bounce')) }, /does not match/],
    ['a changed timestamp', { timestamp: '1588788368' }, /does not match/],
    ['a reformatted body (same JSON, other bytes)', { body: Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1)) }, /does not match/],
    ['a missing signature header', { signature: undefined }, /signature header is missing/],
    ['a missing timestamp header', { timestamp: undefined }, /timestamp header is missing/],
    ['a signature that is not base64', { signature: 'not base64!' }, /not base64/],
    ['a base64 signature that is not DER', { signature: Buffer.from('garbage').toString('base64') }, /does not match/],
  ])('refuses %s', (_name, over, why) => {
    const r = verifySendGridWebhook({ body, signature, timestamp, publicKey, ...over });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });

  it('refuses a body signed by another key, and accepts one signed by a fresh P-256 key', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const mine = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), pair.privateKey).toString('base64');
    expect(verifySendGridWebhook({ body, signature: mine, timestamp, publicKey }).ok).toBe(false);
    const spki = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(verifySendGridWebhook({ body, signature: mine, timestamp, publicKey: parseSendGridPublicKey(spki) }).ok).toBe(true);
    // The same key in PEM is accepted as the setting too.
    expect(verifySendGridWebhook({ body, signature: mine, timestamp, publicKey: parseSendGridPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' }) as string) }).ok).toBe(true);
  });

  it('takes only an EC P-256 public key as the setting', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    for (const bad of [rsa, p384, 'not a key', '', 42]) {
      expect(() => parseSendGridPublicKey(bad)).toThrow(/sendgrid\.webhookPublicKey: must be the Signed Event Webhook verification key/);
    }
  });
});

describe('SNS envelopes and signatures', () => {
  const publicKey = createPublicKey(SNS_CERT);

  it('builds the documented string to sign for each type (Subject only when present)', () => {
    const n = signedEnvelope('{"x":1}');
    expect(snsStringToSign(n)).toBe(`Message\n{"x":1}\nMessageId\n${n.MessageId}\nTimestamp\n${n.Timestamp}\nTopicArn\n${n.TopicArn}\nType\nNotification\n`);
    expect(snsStringToSign(signedEnvelope('m', { Subject: 'Hi' }))).toContain('MessageId\na1b2c3d4-0000-4000-8000-000000000001\nSubject\nHi\nTimestamp\n');
    const c = signedEnvelope('You have chosen to subscribe', { Type: 'SubscriptionConfirmation' });
    expect(snsStringToSign(c)).toBe(`Message\nYou have chosen to subscribe\nMessageId\n${c.MessageId}\nSubscribeURL\n${c.SubscribeURL}\nTimestamp\n${c.Timestamp}\nToken\ntoken-123\nTopicArn\n${c.TopicArn}\nType\nSubscriptionConfirmation\n`);
  });

  it('verifies SignatureVersion 1 (SHA1) and 2 (SHA256), and nothing altered or signed by another key', () => {
    for (const version of ['1', '2'] as const) {
      const env = signedEnvelope('{"notificationType":"Delivery"}', { SignatureVersion: version });
      expect(verifySnsSignature(env, publicKey)).toBe(true);
      expect(verifySnsSignature({ ...env, Message: '{"notificationType":"Bounce"}' }, publicKey)).toBe(false);
      expect(verifySnsSignature({ ...env, TopicArn: 'arn:aws:sns:eu-west-1:999999999999:other' }, publicKey)).toBe(false);
      expect(verifySnsSignature({ ...env, Signature: 'not base64!' }, publicKey)).toBe(false);
      expect(verifySnsSignature(signedEnvelope('{}', { SignatureVersion: version, key: OTHER_KEY }), publicKey)).toBe(false);
    }
    // A version-1 signature presented as version 2 (SHA256) does not verify.
    const v1 = signedEnvelope('{}', { SignatureVersion: '1' });
    expect(verifySnsSignature({ ...v1, SignatureVersion: '2' }, publicKey)).toBe(false);
  });

  it('reads envelopes, bare SES JSON (raw delivery) and says what is wrong with anything else', () => {
    const env = signedEnvelope('{}');
    expect(parseSnsBody(Buffer.from(JSON.stringify(env)))).toMatchObject({ kind: 'envelope', envelope: { MessageId: env.MessageId } });
    expect(parseSnsBody(Buffer.from('{"notificationType":"Bounce","mail":{"messageId":"x"}}'))).toMatchObject({ kind: 'raw' });
    expect(parseSnsBody(Buffer.from('nope'))).toEqual({ kind: 'unreadable', why: 'the body is not JSON' });
    expect(parseSnsBody(Buffer.from('[1]'))).toEqual({ kind: 'unreadable', why: 'the body is not a JSON object' });
    expect(parseSnsBody(Buffer.from('{"Type":"Other"}'))).toEqual({ kind: 'unreadable', why: '"Type" is "Other", not an SNS message type' });
    const { Signature: _s, SigningCertURL: _c, ...unsigned } = env;
    expect(parseSnsBody(Buffer.from(JSON.stringify(unsigned)))).toEqual({ kind: 'unreadable', why: 'the SNS envelope lacks Signature, SigningCertURL' });
    const { Token: _t, ...noToken } = signedEnvelope('m', { Type: 'SubscriptionConfirmation' });
    expect(parseSnsBody(Buffer.from(JSON.stringify(noToken)))).toEqual({ kind: 'unreadable', why: 'the SNS envelope lacks Token' });
    expect(parseSnsBody(Buffer.from(JSON.stringify({ ...env, SignatureVersion: '3' })))).toEqual({ kind: 'unreadable', why: 'SignatureVersion "3" is not supported (1 or 2)' });
  });

  it.each([
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem', true],
    ['https://sns.us-gov-west-1.amazonaws.com/x.pem', true],
    ['http://sns.us-east-1.amazonaws.com/x.pem', 'is not https'],
    ['https://sns.us-east-1.amazonaws.com.evil.example/x.pem', 'is not an Amazon SNS host'],
    ['https://evil.example/sns.us-east-1.amazonaws.com/x.pem', 'is not an Amazon SNS host'],
    ['https://sns.eu.amazonaws.com/x.pem', 'is not an Amazon SNS host'],
    ['https://s3.us-east-1.amazonaws.com/x.pem', 'is not an Amazon SNS host'],
    ['https://xsns.us-east-1.amazonaws.com/x.pem', 'is not an Amazon SNS host'],
    ['https://sns.us-east-1.amazonaws.com:8443/x.pem', 'has a port or credentials'],
    ['https://user@sns.us-east-1.amazonaws.com/x.pem', 'has a port or credentials'],
    ['https://sns.us-east-1.amazonaws.com/x.txt', 'does not name a .pem file'],
    ['not a url', 'is not a URL'],
  ])('SigningCertURL %s → %s', (url, expected) => {
    const r = checkSigningCertUrl(url);
    if (expected === true) expect(r.ok).toBe(true);
    else expect(!r.ok && r.why).toContain(expected);
  });

  it('applies the same host check to SubscribeURL, without the .pem rule', () => {
    expect(checkSnsUrl('https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t', 'SubscribeURL').ok).toBe(true);
    expect(checkSnsUrl('https://attacker.example/?Action=ConfirmSubscription', 'SubscribeURL')).toEqual({ ok: false, why: 'SubscribeURL host "attacker.example" is not an Amazon SNS host' });
  });
});

describe('SNS certificate cache', () => {
  it('fetches a certificate once, shares one fetch between concurrent requests, and keeps its key', async () => {
    const get = fakeHttpsGet();
    const certs = createSnsCertificates(get);
    const [a, b] = await Promise.all([certs.publicKeyFor(CERT_URL), certs.publicKeyFor(CERT_URL)]);
    await certs.publicKeyFor(CERT_URL);
    expect(a).toBe(b);
    expect(a.asymmetricKeyType).toBe('rsa');
    expect(get.urls).toEqual([CERT_URL]);
  });

  it('does not keep a failure, so the next request fetches again', async () => {
    const url = 'https://sns.eu-west-1.amazonaws.com/flaky.pem';
    let calls = 0;
    const certs = createSnsCertificates(async () => (++calls === 1 ? { status: 503, body: '' } : { status: 200, body: OTHER_CERT }));
    await expect(certs.publicKeyFor(url)).rejects.toThrow('the signing certificate URL answered HTTP 503');
    await expect(certs.publicKeyFor(url)).resolves.toBeDefined();
    expect(calls).toBe(2);
  });

  it('rejects answers that are not an RSA certificate', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const certs = createSnsCertificates(async (url) => ({ status: 200, body: url.endsWith('a.pem') ? '<html>hello</html>' : ec }));
    await expect(certs.publicKeyFor('https://sns.eu-west-1.amazonaws.com/a.pem')).rejects.toThrow('did not return a PEM certificate');
    await expect(certs.publicKeyFor('https://sns.eu-west-1.amazonaws.com/b.pem')).rejects.toThrow('did not return a PEM certificate');
  });
});

describe('webhook settings', () => {
  it('checks each kind’s webhook settings and names the one at fault', () => {
    expect(() => checkWebhookSettings({ kind: 'mailgun', settings: {}, secrets: { webhookSigningKey: 'line\nbreak' } })).toThrow(/mailgun\.webhookSigningKey/);
    expect(() => checkWebhookSettings({ kind: 'sendgrid', settings: { webhookPublicKey: 'x' }, secrets: {} })).toThrow(/sendgrid\.webhookPublicKey/);
    expect(() => checkWebhookSettings({ kind: 'ses', settings: { snsTopicArns: ['arn:aws:sqs:eu-west-1:123456789012:q'] }, secrets: {} })).toThrow(/ses\.snsTopicArns/);
    expect(() => checkWebhookSettings({ kind: 'ses', settings: { snsTopicArns: 'arn:aws:sns:eu-west-1:123456789012:t' }, secrets: {} })).toThrow(/ses\.snsTopicArns/);
    expect(() => checkWebhookSettings({ kind: 'ses', settings: { acceptUnsignedRawDelivery: 'yes' }, secrets: {} })).toThrow(/ses\.acceptUnsignedRawDelivery/);
    expect(topicArnsOf(['arn:aws:sns:eu-west-1:123456789012:ses-events', 'arn:aws-cn:sns:cn-north-1:123456789012:t.fifo'])).toHaveLength(2);
    expect(() => checkWebhookSettings({ kind: 'ses', settings: { snsTopicArns: [], acceptUnsignedRawDelivery: false }, secrets: {} })).not.toThrow();
  });
});
