import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailgunTransport, mailgunApiOrigin } from '../../src/adapters/transports/mailgun.ts';
import { MESSAGE_REF_LABEL } from '../../src/adapters/transports/esp-labels.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import type { SendResult } from '../../src/ports/mail-transport.ts';
import { closedPortUrl } from '../helpers/fake-esp/http-server.ts';
import { startFakeMailgun, type FakeMailgun } from '../helpers/fake-esp/mailgun.ts';
import { sampleOutgoingMail } from '../helpers/fake-esp/outgoing-mail.ts';

const apiKey = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
const domain = 'mg.shop.example';
const clock = new ManualClock('2026-03-02T10:00:00Z');
let fake: FakeMailgun;
const results: SendResult[] = [];

const transport = (over: { apiKey?: string; timeoutMs?: number } = {}) => createMailgunTransport({ apiKey: over.apiKey ?? apiKey, domain, region: 'eu', baseUrl: fake.url, clock, ...(over.timeoutMs ? { timeoutMs: over.timeoutMs } : {}) });
const send = async (over: { apiKey?: string; timeoutMs?: number } = {}) => {
  const r = await transport(over).send(sampleOutgoingMail());
  results.push(r);
  return r;
};

beforeAll(async () => {
  fake = await startFakeMailgun({ apiKey, domain, retryAt: new Date(clock.now() + 120_000) });
});
afterAll(async () => {
  await fake.close();
  // Whatever the outcome, no response text ever carries the key or the Basic credentials.
  const basic = Buffer.from(`api:${apiKey}`).toString('base64');
  for (const r of results) expect(r.response).not.toMatch(new RegExp(`${apiKey}|${basic}|Basic`));
});
beforeEach(() => {
  fake.mode = 'ok';
});

describe('Mailgun transport', () => {
  it('posts the exact signed MIME to messages.mime with the recipient, tags and our ref', async () => {
    const mail = sampleOutgoingMail();
    const r = await transport().send(mail);
    results.push(r);
    expect(r).toEqual({ status: 'sent', providerMessageId: `20260101000000.${fake.accepted.length}.fake@${domain}`, response: 'mailgun: 200 accepted' });
    const got = fake.accepted.at(-1)!;
    expect(got.message.equals(mail.raw)).toBe(true);
    expect(got.to).toEqual(['ana@example.net']);
    expect(got.tags).toEqual(['campaign:7', 'template:summer-sale']);
    expect(got.variables).toEqual({ campaign: '7', template: 'summer-sale', [MESSAGE_REF_LABEL]: 'm0abcdef12345678' });
  });

  it('sends no more than three o:tag fields, but every label as a variable', async () => {
    const tags = { a: '1', b: '2', c: '3', d: '4' };
    const r = await transport().send(sampleOutgoingMail({ tags }));
    results.push(r);
    expect(r.status).toBe('sent');
    expect(fake.accepted.at(-1)!.tags).toEqual(['a:1', 'b:2', 'c:3']);
    expect(fake.accepted.at(-1)!.variables).toEqual({ ...tags, [MESSAGE_REF_LABEL]: 'm0abcdef12345678' });
  });

  it('fails a message Mailgun refuses with 400, quoting its reason', async () => {
    fake.mode = 'bad-request';
    expect(await send()).toEqual({ status: 'failed', code: 400, response: "mailgun: 400 'to' parameter is not a valid address. please check documentation" });
  });

  it('defers on a wrong API key (401) and says an operator must act', async () => {
    const r = await send({ apiKey: 'key-wrongwrongwrongwrong' });
    expect(r).toMatchObject({ status: 'deferred', code: 401 });
    expect(r.response).toMatch(/operator must fix the API key.*Forbidden/);
    expect(r.response).not.toContain('key-wrongwrongwrongwrong');
  });

  it('defers on 429 with Retry-After in seconds or as an HTTP date', async () => {
    fake.mode = 'throttled';
    expect(await send()).toEqual({ status: 'deferred', code: 429, retryAfterMs: 7000, response: 'mailgun: 429 Too many requests' });
    fake.mode = 'throttled-until';
    expect(await send()).toMatchObject({ status: 'deferred', code: 429, retryAfterMs: 120_000 });
  });

  it('defers on 500 and on a 503 that answers HTML', async () => {
    fake.mode = 'server-error';
    expect(await send()).toEqual({ status: 'deferred', code: 500, response: 'mailgun: 500 Internal Server Error' });
    fake.mode = 'unavailable';
    expect(await send()).toEqual({ status: 'deferred', code: 503, response: 'mailgun: 503 <html><body>503 Service Temporarily Unavailable</body></html>' });
  });

  it('defers when Mailgun does not answer before the deadline', async () => {
    fake.mode = 'stall';
    expect(await send({ timeoutMs: 300 })).toEqual({ status: 'deferred', response: 'mailgun: no answer (no answer within 300 ms)' });
  });

  it('defers when nothing listens (network error)', async () => {
    const t = createMailgunTransport({ apiKey, domain, region: 'us', baseUrl: await closedPortUrl() });
    const r = await t.send(sampleOutgoingMail());
    results.push(r);
    expect(r).toEqual({ status: 'deferred', response: 'mailgun: no answer (network error ECONNREFUSED)' });
  });

  it('defers on 404: the domain in the path is wrong, not the message', async () => {
    const t = createMailgunTransport({ apiKey, domain: 'other.example', region: 'us', baseUrl: fake.url });
    const r = await t.send(sampleOutgoingMail());
    results.push(r);
    expect(r).toMatchObject({ status: 'deferred', code: 404 });
    expect(r.response).toMatch(/operator must act/);
  });

  it('uses the region’s API host and refuses bad settings without echoing the key', () => {
    expect(mailgunApiOrigin('us')).toBe('https://api.mailgun.net');
    expect(mailgunApiOrigin('eu')).toBe('https://api.eu.mailgun.net');
    expect(() => createMailgunTransport({ apiKey: '', domain, region: 'us' })).toThrow('mailgun.apiKey: is required');
    expect(() => createMailgunTransport({ apiKey, domain: 'not a domain', region: 'us' })).toThrow(/mailgun\.domain/);
    expect(() => createMailgunTransport({ apiKey, domain, region: 'asia' as 'us' })).toThrow(/mailgun\.region/);
    expect(() => createMailgunTransport({ apiKey: `${apiKey}\r\nX: y`, domain, region: 'us' })).toThrow(/^mailgun\.apiKey: is required and must be a single line$/);
  });
});
