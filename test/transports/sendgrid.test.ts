import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGE_REF_LABEL } from '../../src/adapters/transports/esp-labels.ts';
import { createSendGridTransport } from '../../src/adapters/transports/sendgrid.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import type { SendResult } from '../../src/ports/mail-transport.ts';
import { closedPortUrl } from '../helpers/fake-esp/http-server.ts';
import { sampleOutgoingMail } from '../helpers/fake-esp/outgoing-mail.ts';
import { startFakeSendGrid, type FakeSendGrid } from '../helpers/fake-esp/sendgrid.ts';

const apiKey = 'SG.fakeKeyId_0123456789.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const clock = new ManualClock('2026-03-02T10:00:00Z');
let fake: FakeSendGrid;
const results: SendResult[] = [];

const transport = (over: { apiKey?: string; timeoutMs?: number; baseUrl?: string } = {}) =>
  createSendGridTransport({ apiKey: over.apiKey ?? apiKey, baseUrl: over.baseUrl ?? fake.url, clock, ...(over.timeoutMs ? { timeoutMs: over.timeoutMs } : {}) });
const send = async (over: Parameters<typeof transport>[0] = {}, mail = sampleOutgoingMail()) => {
  const r = await transport(over).send(mail);
  results.push(r);
  return r;
};

beforeAll(async () => {
  fake = await startFakeSendGrid({ apiKey, retryAt: new Date(clock.now() + 90_000) });
});
afterAll(async () => {
  await fake.close();
  for (const r of results) expect(r.response).not.toMatch(new RegExp(`${apiKey.replace(/\./g, '\\.')}|Bearer`));
});
beforeEach(() => {
  fake.mode = 'ok';
});

describe('SendGrid transport', () => {
  it('posts v3 mail send JSON built from the parts; 202 gives the X-Message-Id', async () => {
    const r = await send();
    expect(r).toEqual({ status: 'sent', providerMessageId: `fakeSgId${fake.accepted.length}`, response: 'sendgrid: 202 accepted' });
    expect(fake.accepted.at(-1)).toEqual({
      personalizations: [{ to: [{ email: 'ana@example.net' }] }],
      from: { email: 'news@shop.example', name: 'Café Shop' },
      reply_to: { email: 'help@shop.example' },
      subject: 'Soldes d’été',
      content: [
        { type: 'text/plain', value: 'Bonjour Ana, les soldes d’été commencent.' },
        { type: 'text/html', value: '<p>Bonjour Ana, les soldes d’été commencent.</p>' },
      ],
      headers: {
        'List-Unsubscribe': '<https://shop.example/u/t0k3n>, <mailto:unsubscribe+t0k3n@bounce.shop.example>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'Feedback-ID': 'campaign-7:summer:marketing:shop',
      },
      custom_args: { campaign: '7', template: 'summer-sale', [MESSAGE_REF_LABEL]: 'm0abcdef12345678' },
      categories: ['campaign:7', 'template:summer-sale'],
    });
  });

  it('leaves out headers SendGrid reserves, an empty part, a missing reply-to and a blank sender name', async () => {
    const base = sampleOutgoingMail();
    const mail = sampleOutgoingMail({
      tags: {},
      parts: {
        ...base.parts,
        from: { name: '', address: 'news@shop.example' },
        replyTo: null,
        text: '',
        headers: [['Feedback-ID', 'a:b:c:d'], ['Content-Type', 'text/plain'], ['DKIM-Signature', 'v=1'], ['reply-to', 'x@y.example'], ['Message-ID', '<x@y>']],
      },
    });
    const r = await send({}, mail);
    expect(r.status).toBe('sent');
    const body = fake.accepted.at(-1);
    expect(body.from).toEqual({ email: 'news@shop.example' });
    expect(body).not.toHaveProperty('reply_to');
    expect(body).not.toHaveProperty('categories');
    expect(body.content).toEqual([{ type: 'text/html', value: base.parts.html }]);
    expect(body.headers).toEqual({ 'Feedback-ID': 'a:b:c:d' });
    expect(body.custom_args).toEqual({ [MESSAGE_REF_LABEL]: 'm0abcdef12345678' });
  });

  it('fails a message SendGrid refuses with 400, quoting its errors with their fields', async () => {
    fake.mode = 'bad-request';
    expect(await send()).toEqual({ status: 'failed', code: 400, response: 'sendgrid: 400 personalizations.0.to.0.email: Does not contain a valid address.' });
  });

  it('defers on a wrong API key (401) and says an operator must act', async () => {
    const r = await send({ apiKey: 'SG.wrong.wrongwrongwrong' });
    expect(r).toEqual({
      status: 'deferred',
      code: 401,
      response: 'sendgrid: 401 not authorised, an operator must fix the API key, its permissions or the account (The provided authorization grant is invalid, expired, or revoked)',
    });
  });

  it('defers on 429 with Retry-After in seconds or as an HTTP date, and on 500/503', async () => {
    fake.mode = 'throttled';
    expect(await send()).toEqual({ status: 'deferred', code: 429, retryAfterMs: 7000, response: 'sendgrid: 429 too many requests' });
    fake.mode = 'throttled-until';
    expect(await send()).toMatchObject({ status: 'deferred', code: 429, retryAfterMs: 90_000 });
    fake.mode = 'server-error';
    expect(await send()).toEqual({ status: 'deferred', code: 500, response: 'sendgrid: 500 internal error' });
    fake.mode = 'unavailable';
    expect(await send()).toEqual({ status: 'deferred', code: 503, retryAfterMs: 30_000, response: 'sendgrid: 503 no details' });
  });

  it('defers on a stall (timeout) and when nothing listens', async () => {
    fake.mode = 'stall';
    expect(await send({ timeoutMs: 300 })).toEqual({ status: 'deferred', response: 'sendgrid: no answer (no answer within 300 ms)' });
    expect(await send({ baseUrl: await closedPortUrl() })).toEqual({ status: 'deferred', response: 'sendgrid: no answer (network error ECONNREFUSED)' });
  });

  it('refuses bad settings by name', () => {
    expect(() => createSendGridTransport({ apiKey: ' ' })).toThrow('sendgrid.apiKey: is required');
    expect(() => createSendGridTransport({ apiKey, baseUrl: 'https://user:pw@api.sendgrid.com' })).toThrow(/^sendgrid\.baseUrl:/);
    expect(() => createSendGridTransport({ apiKey, timeoutMs: 0 })).toThrow(/^sendgrid\.timeoutMs:/);
  });
});
