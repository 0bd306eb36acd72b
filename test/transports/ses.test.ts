import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGE_REF_LABEL } from '../../src/adapters/transports/esp-labels.ts';
import { createSesTransport, type SesConfig } from '../../src/adapters/transports/ses.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import type { SendResult } from '../../src/ports/mail-transport.ts';
import { closedPortUrl } from '../helpers/fake-esp/http-server.ts';
import { sampleOutgoingMail } from '../helpers/fake-esp/outgoing-mail.ts';
import { startFakeSes, type FakeSes } from '../helpers/fake-esp/ses.ts';
import { verifySigV4 } from '../helpers/fake-esp/sigv4.ts';

const credentials = { accessKeyId: 'AKIAFAKEEXAMPLE12345', secretAccessKey: 'wJalrFAKE/K7MDENG/bPxRfiCYFAKEEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEFAKEsessionTOKEN0123456789' };
const region = 'eu-west-1';
const clock = new ManualClock('2026-03-02T10:00:00Z');
let fake: FakeSes;
const results: SendResult[] = [];

const transport = (over: Partial<SesConfig> = {}) => createSesTransport({ region, ...credentials, configurationSet: 'chapar-events', baseUrl: fake.url, clock, ...over });
const send = async (over: Partial<SesConfig> = {}) => {
  const r = await transport(over).send(sampleOutgoingMail());
  results.push(r);
  return r;
};

beforeAll(async () => {
  fake = await startFakeSes({ region, ...credentials, now: () => clock.now(), configurationSets: ['chapar-events'], retryAt: new Date(clock.now() + 60_000) });
});
afterAll(async () => {
  await fake.close();
  for (const r of results) {
    expect(r.response).not.toContain(credentials.secretAccessKey);
    expect(r.response).not.toContain(credentials.sessionToken);
    expect(r.response).not.toContain('AWS4-HMAC-SHA256');
  }
});
beforeEach(() => {
  fake.mode = 'ok';
});

describe('SES v2 transport', () => {
  it('sends the raw MIME, envelope, configuration set and tags, signed with SigV4', async () => {
    const mail = sampleOutgoingMail();
    const r = await send();
    expect(r).toEqual({ status: 'sent', providerMessageId: `0100019fake${String(fake.accepted.length).padStart(4, '0')}-000000`, response: 'ses: 200 accepted' });
    const got = fake.accepted.at(-1)!;
    expect(got.raw.equals(mail.raw)).toBe(true);
    expect(got.body).toEqual({
      FromEmailAddress: 'b+m0abcdef12345678@bounce.shop.example',
      Destination: { ToAddresses: ['ana@example.net'] },
      Content: { Raw: { Data: mail.raw.toString('base64') } },
      EmailTags: [
        { Name: 'campaign', Value: '7' },
        { Name: 'template', Value: 'summer-sale' },
        { Name: MESSAGE_REF_LABEL, Value: 'm0abcdef12345678' },
      ],
      ConfigurationSetName: 'chapar-events',
    });
    const req = fake.requests.at(-1)!;
    expect(req.headers['x-amz-date']).toBe('20260302T100000Z');
    expect(req.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKEEXAMPLE12345\/20260302\/eu-west-1\/ses\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token, Signature=/);
  });

  it('replaces characters SES refuses in tags', async () => {
    const r = await transport().send(sampleOutgoingMail({ tags: { 'flow step': 'a.b/c' } }));
    results.push(r);
    expect(r.status).toBe('sent');
    expect(fake.accepted.at(-1)!.body.EmailTags[0]).toEqual({ Name: 'flow_step', Value: 'a_b_c' });
  });

  it('is refused (403, deferred) when signed with a wrong secret, a wrong key id or no session token', async () => {
    const wrongSecret = await send({ secretAccessKey: 'WRONGwrongWRONGwrongWRONGwrongWRONGwrong0' });
    expect(wrongSecret).toMatchObject({ status: 'deferred', code: 403 });
    expect(wrongSecret.response).toMatch(/^ses: 403 not authorised, an operator must fix .*\(SignatureDoesNotMatch: The request signature we calculated/);
    expect(wrongSecret.response).not.toContain('WRONGwrongWRONG');
    expect(await send({ accessKeyId: 'AKIAOTHERKEY00000000' })).toMatchObject({ status: 'deferred', code: 403, response: expect.stringContaining('UnrecognizedClientException') });
    const { sessionToken: _, ...noToken } = credentials;
    expect(await createSesTransport({ region, ...noToken, baseUrl: fake.url, clock }).send(sampleOutgoingMail())).toMatchObject({ status: 'deferred', code: 403 });
  });

  it('is refused when its clock is off by more than five minutes', async () => {
    const late = new ManualClock(clock.now() - 10 * 60_000);
    expect(await send({ clock: late })).toMatchObject({ status: 'deferred', code: 403, response: expect.stringContaining('InvalidSignatureException') });
  });

  it('fails a message SES rejects, but defers when the account is paused or the configuration set is missing', async () => {
    fake.mode = 'bad-request';
    expect(await send()).toEqual({
      status: 'failed',
      code: 400,
      response: 'ses: 400 MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: b+m0abcdef12345678@bounce.shop.example',
    });
    fake.mode = 'sending-paused';
    expect(await send()).toMatchObject({ status: 'deferred', code: 400, response: expect.stringContaining('an operator must act (SendingPausedException') });
    fake.mode = 'ok';
    expect(await send({ configurationSet: 'missing-set' })).toMatchObject({ status: 'deferred', code: 404, response: expect.stringContaining('NotFoundException') });
  });

  it('defers on throttling (429 with Retry-After), 500, 503, a stall and a closed port', async () => {
    fake.mode = 'throttled';
    expect(await send()).toEqual({ status: 'deferred', code: 429, retryAfterMs: 7000, response: 'ses: 429 TooManyRequestsException: Maximum sending rate exceeded.' });
    fake.mode = 'throttled-until';
    expect(await send()).toMatchObject({ status: 'deferred', retryAfterMs: 60_000 });
    fake.mode = 'server-error';
    expect(await send()).toMatchObject({ status: 'deferred', code: 500 });
    fake.mode = 'unavailable';
    expect(await send()).toEqual({ status: 'deferred', code: 503, response: 'ses: 503 ServiceUnavailable: Service is unavailable.' });
    fake.mode = 'stall';
    expect(await send({ timeoutMs: 300 })).toEqual({ status: 'deferred', response: 'ses: no answer (no answer within 300 ms)' });
    expect(await send({ baseUrl: await closedPortUrl() })).toEqual({ status: 'deferred', response: 'ses: no answer (network error ECONNREFUSED)' });
  });

  it('refuses bad settings by name, never by value', () => {
    expect(() => createSesTransport({ region: 'Mars', ...credentials })).toThrow(/^ses\.region:/);
    expect(() => createSesTransport({ region, ...credentials, secretAccessKey: '' })).toThrow(/^ses\.secretAccessKey: is required/);
    expect(() => createSesTransport({ region, ...credentials, configurationSet: 'a b' })).toThrow(/^ses\.configurationSet:/);
  });
});

describe('the fake’s SigV4 verifier', () => {
  // AWS's SigV4 test suite, case "get-vanilla": its published signature must verify, and a
  // one-character change of the secret must not.
  const vanilla = {
    method: 'GET',
    url: '/',
    headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
    rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z'],
    body: Buffer.alloc(0),
  };
  const expectation = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', service: 'service', now: () => Date.parse('2015-08-30T12:36:00Z') };

  it('accepts AWS’s own example and refuses it under another secret', () => {
    expect(verifySigV4(vanilla, expectation)).toEqual({ ok: true });
    expect(verifySigV4(vanilla, { ...expectation, secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ' })).toMatchObject({ ok: false, error: 'SignatureDoesNotMatch' });
  });
});
