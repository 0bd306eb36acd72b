import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createMemorySendLimiter } from '../../src/adapters/limiter/memory.ts';
import { selectMessage } from '../../src/db/queries/messages.ts';
import { startDelivery, type DeliveryRuntime } from '../../src/delivery.ts';
import { createTransportFactory } from '../../src/adapters/transports/factory.ts';
import { getMessage, enqueueMessage } from '../../src/services/messages.ts';
import { saveTransport, setRoutes } from '../../src/services/transports.ts';
import { suppressAddress } from '../../src/services/suppressions.ts';
import { checkSendPermission } from '../../src/services/send-permission.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer.ts';

const inline = { subject: 'Your order {{ order.number }}', html: '<p>Hello {{ contact.first_name | default: "there" }}, order {{ order.number }} is confirmed. <a href="https://shop.example/orders/{{ order.number }}">View</a></p>', text: null, fromName: 'Shop', fromEmail: 'orders@shop.example' };

describe.each(DIALECTS)('outbox and delivery (%s)', (dialect) => {
  let t: TestApp;
  let peer: SmtpPeer;
  let delivery: DeliveryRuntime;

  beforeAll(async () => {
    peer = await startSmtpPeer();
  });
  afterAll(async () => {
    await peer.close();
  });
  beforeEach(async () => {
    t = await createTestApp(dialect);
    peer.received.length = 0;
    peer.setBehaviour(() => ({ kind: 'accept' }));
  });
  afterEach(async () => {
    await delivery?.stop();
    await t.close();
  });

  const start = async () => {
    delivery = await startDelivery(t.app, { start: false, limiter: createMemorySendLimiter(), random: () => 0.5, concurrency: 4 });
  };
  const useSmtp = async (settings: Record<string, unknown> = {}) => {
    await saveTransport(t.app.ctx, createTransportFactory({ db: t.app.ctx.db, clock: t.clock }), { name: 'mta', kind: 'smtp', settings: { host: peer.host, port: peer.port, starttls: 'opportunistic', domainLimits: false, socketTimeoutMs: 2000, ...settings } }, 'create');
  };
  const tx = (key: string, to = 'ana@example.com', extra: object = {}) =>
    enqueueMessage(t.app.ctx, { idempotencyKey: `tx:${key}`, source: 'tx', to, content: inline, data: { order: { number: 1001 } }, ...extra });

  it('stores one message per idempotency key and sends it once through capture on a fresh install', async () => {
    await start();
    const a = await tx('order-1001');
    const b = await tx('order-1001');
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.message.id).toBe(a.message.id);
    expect(await delivery.worker.drain()).toBe(1);
    const m = await getMessage(t.app.ctx, a.message.id);
    expect(m.status).toBe('sent');
    expect(m.transport).toBe('capture');
    expect(m.history!.map((h) => h.status)).toEqual(['queued', 'sent']);
    const captured = await t.request({ method: 'GET', url: '/api/v1/captured-messages' });
    expect(captured.json.items).toHaveLength(1);
    expect(await delivery.worker.drain()).toBe(0);
  });

  it('sends through SMTP with the rendered, signed message and records the provider id', async () => {
    await useSmtp();
    const key = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'shop.example', selector: 's1', algorithm: 'ed25519-sha256' } });
    expect(key.status).toBe(201);
    await start();
    const { message } = await tx('order-1', 'Ana@Example.com');
    await delivery.worker.drain();
    const m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('sent');
    expect(m.transport).toBe('mta');
    expect(peer.received).toHaveLength(1);
    expect(m.providerMessageId).toBe(peer.received[0]!.queueId);
    const mail = await simpleParser(peer.received[0]!.raw);
    expect(mail.subject).toBe('Your order 1001');
    expect(mail.html).toContain('order 1001 is confirmed');
    expect(peer.received[0]!.raw.toString()).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256;/m);
    expect(peer.received[0]!.envelope.from).toMatch(/^bounces\+/);

    // The web version is rendered again from the outbox, with the same signed links.
    const view = new URL(t.app.ctx.composer.urls.viewInBrowser(message.ref, 0));
    const page = await t.request({ method: 'GET', url: view.pathname, scope: 'none' });
    expect(page.status).toBe(200);
    expect(page.body).toContain('order 1001 is confirmed');
    const link = /href="([^"]+\/c\/[^"]+)"/.exec(mail.html as string)![1]!;
    expect(page.body).toContain(link.replace(/&/g, '&amp;'));
    const forged = await t.request({ method: 'GET', url: view.pathname.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')), scope: 'none' });
    expect(forged.status).toBe(404);
  });

  it('builds and signs in worker threads the same way', async () => {
    await useSmtp();
    expect((await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'shop.example', selector: 'r1' } })).status).toBe(201);
    delivery = await startDelivery(t.app, { start: false, limiter: createMemorySendLimiter(), random: () => 0.5, concurrency: 8, buildThreads: 2 });
    for (let i = 0; i < 20; i++) await tx(`thread-${i}`, `buyer${i}@example.com`);
    expect(await delivery.worker.drain()).toBe(20);
    expect(peer.received).toHaveLength(20);
    const { dkimVerify } = await import('mailauth/lib/dkim/verify.js' as string);
    const dnsValue = (await t.request({ method: 'GET', url: '/api/v1/dkim-keys' })).json.items[0].dnsValue as string;
    for (const r of peer.received) {
      const mail = await simpleParser(r.raw);
      expect(mail.subject).toBe('Your order 1001');
      const result = await dkimVerify(r.raw, { resolver: async () => [[dnsValue]], curTime: new Date(t.clock.now() + 1000) });
      expect(result.results[0].status.result).toBe('pass');
    }
  });

  it('records suppressed, unconsented and invalid recipients with the reason and never sends them', async () => {
    await useSmtp();
    await start();
    await suppressAddress(t.app.ctx, { email: 'bounced@example.com', reason: 'hard_bounce', source: 'test' });
    const sup = await tx('a', 'bounced@example.com');
    const bad = await tx('b', 'not-an-address');
    expect(bad.message.status).toBe('failed');
    expect(bad.message.reason).toMatch(/invalid recipient/);
    const mk = await enqueueMessage(t.app.ctx, { idempotencyKey: 'campaign:1:9', source: 'campaign', to: 'nobody@example.com', content: inline, stream: 'marketing', topicKey: 'newsletter' });
    await delivery.worker.drain();
    expect((await getMessage(t.app.ctx, sup.message.id)).reason).toBe('suppressed: hard_bounce');
    expect((await getMessage(t.app.ctx, sup.message.id)).status).toBe('suppressed');
    expect((await getMessage(t.app.ctx, mk.message.id)).status).toBe('suppressed');
    expect((await getMessage(t.app.ctx, mk.message.id)).reason).toMatch(/not subscribed to "newsletter"/);
    expect(peer.received).toHaveLength(0);
    expect(await delivery.worker.drain()).toBe(0);
  });

  it('defers on 4xx with backoff, then sends once the retry is due', async () => {
    await useSmtp();
    await start();
    let calls = 0;
    peer.setBehaviour(() => (++calls === 1 ? { kind: 'reply', at: 'rcpt', code: 451, text: '4.3.0 Try again later' } : { kind: 'accept' }));
    const { message } = await tx('retry');
    await delivery.worker.drain();
    let m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('deferred');
    expect(m.attempts).toBe(1);
    expect(m.history!.at(-1)).toMatchObject({ status: 'deferred', code: 451, enhanced: '4.3.0', attempt: 1 });
    expect(m.nextAttemptAt).toBe(t.clock.now() + 45_000);
    expect(await delivery.worker.drain()).toBe(0);
    t.clock.advance(45_000);
    await delivery.worker.drain();
    m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('sent');
    expect(m.attempts).toBe(2);
    expect(peer.received).toHaveLength(1);
  });

  it('turns a 5.1.1 into a hard bounce that suppresses the address, and 5.7.1 into a policy block that does not', async () => {
    await useSmtp();
    await start();
    peer.setBehaviour(({ to }) => (to.startsWith('gone') ? { kind: 'reply', at: 'rcpt', code: 550, text: '5.1.1 No such user' } : { kind: 'reply', at: 'data', code: 554, text: '5.7.1 Message rejected as spam' }));
    const gone = await tx('gone', 'gone@example.com');
    const blocked = await tx('blocked', 'blocked@example.com');
    await delivery.worker.drain();
    const g = await getMessage(t.app.ctx, gone.message.id);
    expect(g.status).toBe('bounced');
    expect(g.reason).toMatch(/^hard_bounce: 550/);
    expect(await checkSendPermission(t.app.ctx, { email: 'gone@example.com', kind: 'transactional' })).toMatchObject({ allowed: false, suppression: 'hard_bounce' });
    const b = await getMessage(t.app.ctx, blocked.message.id);
    expect(b.status).toBe('bounced');
    expect(b.reason).toMatch(/^policy_block/);
    expect(await checkSendPermission(t.app.ctx, { email: 'blocked@example.com', kind: 'transactional' })).toEqual({ allowed: true });
  });

  it('gives up as a soft bounce when the retry window closes', async () => {
    await useSmtp();
    await start();
    peer.setBehaviour(() => ({ kind: 'reply', at: 'rcpt', code: 452, text: '4.2.2 Mailbox full' }));
    const { message } = await tx('full');
    for (let i = 0; i < 30; i++) {
      await delivery.worker.drain();
      const row = await selectMessage(t.app.ctx.db, message.id);
      if (row!.status !== 'deferred') break;
      t.clock.set(row!.dueAt);
    }
    const m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('bounced');
    expect(m.reason).toMatch(/^soft_bounce/);
    expect(m.attempts).toBeGreaterThan(5);
    expect(peer.received).toHaveLength(0);
  });

  it('fails over to the next transport when the first cannot be reached', async () => {
    await saveTransport(t.app.ctx, createTransportFactory({ db: t.app.ctx.db, clock: t.clock }), { name: 'dead', kind: 'smtp', settings: { host: '127.0.0.1', port: 1, starttls: 'opportunistic', domainLimits: false, connectionTimeoutMs: 500 } }, 'create');
    await useSmtp();
    await setRoutes(t.app.ctx, [{ stream: 'transactional', senderDomain: null, recipientDomain: null, transports: ['dead', 'mta'] }]);
    await start();
    const { message } = await tx('failover');
    await delivery.worker.drain();
    const m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('sent');
    expect(m.transport).toBe('mta');
    expect(peer.received).toHaveLength(1);
  });

  it('records a template that fails to render as failed, without retrying it', async () => {
    await start();
    // An endless loop hits the render time limit; a header value with a line break would inject headers.
    const loop = await enqueueMessage(t.app.ctx, { idempotencyKey: 'tx:loop', source: 'tx', to: 'ana@example.com', content: { ...inline, html: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' } });
    const injected = await enqueueMessage(t.app.ctx, { idempotencyKey: 'tx:inject', source: 'tx', to: 'ana@example.com', content: { ...inline, subject: 'Hi {{ name }}' }, data: { name: 'x\r\nBcc: victim@example.com' } });
    await delivery.worker.drain();
    for (const { message } of [loop, injected]) {
      const m = await getMessage(t.app.ctx, message.id);
      expect(m.status).toBe('failed');
      expect(m.reason).toMatch(/^render failed/);
    }
    expect(await delivery.worker.drain()).toBe(0);
  });

  it('makes a row whose lease ran out (a dead worker) claimable again', async () => {
    await start();
    const { message } = await tx('lease');
    const { claimMessages } = await import('../../src/db/queries/messages.ts');
    const claimed = await claimMessages(t.app.ctx.db, { owner: 'dead-worker', now: t.clock.now(), leaseMs: 60_000, limit: 10 });
    expect(claimed.map((c) => c.id)).toEqual([message.id]);
    expect(await delivery.worker.drain()).toBe(0);
    t.clock.advance(60_000);
    expect(await delivery.worker.drain()).toBe(1);
    expect((await getMessage(t.app.ctx, message.id)).status).toBe('sent');
  });
});
