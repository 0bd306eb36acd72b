import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemorySendLimiter } from '../../src/adapters/limiter/memory.ts';
import { createTransportFactory } from '../../src/adapters/transports/factory.ts';
import { startDelivery, type DeliveryRuntime } from '../../src/delivery.ts';
import { enqueueMessage, getMessage } from '../../src/services/messages.ts';
import { saveTransport, setRoutes } from '../../src/services/transports.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { startFakeMailgun, type FakeMailgun } from '../helpers/fake-esp/mailgun.ts';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer.ts';

const content = { subject: 'Receipt {{ n }}', html: '<p>Receipt {{ n }}</p>', text: null, fromName: 'Shop', fromEmail: 'orders@shop.example' };

describe.each(DIALECTS)('delivery through an ESP (%s)', (dialect) => {
  let t: TestApp;
  let mailgun: FakeMailgun;
  let peer: SmtpPeer;
  let delivery: DeliveryRuntime;

  beforeEach(async () => {
    t = await createTestApp(dialect);
    mailgun = await startFakeMailgun({ apiKey: 'key-test-123', domain: 'mg.shop.example' });
    peer = await startSmtpPeer();
    const factory = createTransportFactory({ db: t.app.ctx.db, clock: t.clock });
    await saveTransport(t.app.ctx, factory, { name: 'mailgun', kind: 'mailgun', settings: { domain: 'mg.shop.example', region: 'eu', baseUrl: mailgun.url, timeoutMs: 2000 }, secrets: { apiKey: 'key-test-123' } }, 'create');
    await saveTransport(t.app.ctx, factory, { name: 'mta', kind: 'smtp', settings: { host: peer.host, port: peer.port, starttls: 'opportunistic', domainLimits: false } }, 'create');
    await setRoutes(t.app.ctx, [{ stream: null, senderDomain: null, recipientDomain: null, transports: ['mailgun', 'mta'] }]);
    delivery = await startDelivery(t.app, { start: false, limiter: createMemorySendLimiter(), random: () => 0.5, concurrency: 2 });
  });
  afterEach(async () => {
    await delivery.stop();
    await mailgun.close();
    await peer.close();
    await t.close();
  });
  const send = (key: string) => enqueueMessage(t.app.ctx, { idempotencyKey: `tx:${key}`, source: 'tx', to: 'ana@example.com', content, data: { n: 7 } });

  it('sends the signed MIME through the ESP and keeps its message id', async () => {
    const { message } = await send('ok');
    await delivery.worker.drain();
    const m = await getMessage(t.app.ctx, message.id);
    expect(m).toMatchObject({ status: 'sent', transport: 'mailgun' });
    expect(mailgun.accepted).toHaveLength(1);
    expect(m.providerMessageId).toBeTruthy();
    expect(peer.received).toHaveLength(0);
  });

  it('records a request the ESP refuses for good as failed, not as a bounce, and does not suppress the address', async () => {
    mailgun.mode = 'bad-request';
    const { message } = await send('bad');
    await delivery.worker.drain();
    const m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('failed');
    expect(m.reason).toMatch(/^refused by mailgun: /);
    expect(m.history!.at(-1)).toMatchObject({ status: 'failed', code: 400 });
    expect((await t.request({ method: 'GET', url: '/api/v1/send-permission?email=ana@example.com&kind=transactional' })).json.allowed).toBe(true);
  });

  it('defers on 429 no sooner than Retry-After, and fails over to SMTP when the ESP is down', async () => {
    mailgun.mode = 'throttled';
    const throttled = await send('throttled');
    await delivery.worker.drain();
    const m = await getMessage(t.app.ctx, throttled.message.id);
    expect(m.status).toBe('deferred');
    expect(m.nextAttemptAt! - t.clock.now()).toBeGreaterThanOrEqual(7000);
    expect(peer.received).toHaveLength(0);

    mailgun.mode = 'server-error';
    const down = await send('down');
    await delivery.worker.drain();
    const d = await getMessage(t.app.ctx, down.message.id);
    expect(d).toMatchObject({ status: 'sent', transport: 'mta' });
    // Both tries belong to one attempt, each with what its transport answered.
    expect(d.history!.map((h) => [h.status, h.transport, h.code, h.attempt])).toEqual([
      ['queued', null, null, null],
      ['deferred', 'mailgun', 500, 1],
      ['sent', 'mta', null, 1],
    ]);
    expect(peer.received).toHaveLength(1);
  });
});
