import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemorySendLimiter } from '../../src/adapters/limiter/memory.ts';
import { createRedisSendLimiter } from '../../src/adapters/limiter/redis.ts';
import { createTransportFactory } from '../../src/adapters/transports/factory.ts';
import { startDelivery, type DeliveryRuntime } from '../../src/delivery.ts';
import type { SendLimiter } from '../../src/ports/send-limiter.ts';
import { enqueueMessage, getMessage } from '../../src/services/messages.ts';
import { saveTransport } from '../../src/services/transports.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from '../helpers/redis.ts';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer.ts';

const content = { subject: 'News {{ n }}', html: '<p>News {{ n }}</p><p>{{ store.address }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>', text: null, fromName: 'Shop', fromEmail: 'news@shop.example' };
const DAY = 86_400_000;

describe.each(DIALECTS)('rate control in the delivery path (%s)', (dialect) => {
  let t: TestApp;
  let peer: SmtpPeer;
  const runtimes: DeliveryRuntime[] = [];
  const limiters: SendLimiter[] = [];
  let prefix = '';

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
    prefix = uniqueKeyPrefix();
  });
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.stop();
    for (const l of limiters.splice(0)) await l.close();
    if (TEST_REDIS_URL) await deleteKeys(TEST_REDIS_URL, prefix);
    await t.close();
  });

  // Two workers with limiters of their own that share state as two processes would: through
  // Redis when the tests have one, else one in-memory limiter (a single node's workers).
  async function twoWorkers(): Promise<DeliveryRuntime[]> {
    const shared = TEST_REDIS_URL ? null : createMemorySendLimiter();
    for (let i = 0; i < 2; i++) {
      const limiter = shared ?? (await createRedisSendLimiter({ url: TEST_REDIS_URL!, keyPrefix: prefix }));
      if (!shared || i === 0) limiters.push(limiter);
      runtimes.push(await startDelivery(t.app, { start: false, limiter, random: () => 0.5, concurrency: 4, owner: `w${i}` }));
    }
    return runtimes;
  }
  const transport = (extra: Record<string, unknown> = {}) =>
    saveTransport(t.app.ctx, createTransportFactory({ db: t.app.ctx.db, clock: t.clock }), { name: 'mta', kind: 'smtp', settings: { host: peer.host, port: peer.port, starttls: 'opportunistic', domainLimits: false }, ...extra }, 'create');
  async function subscribers(n: number) {
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'Newsletter' } });
    const contacts = Array.from({ length: n }, (_, i) => ({ email: `sub${i}@example.com`, topics: { newsletter: 'subscribed' }, consent: { source: 'form', wording: 'Send me news' } }));
    const r = await t.request({ method: 'POST', url: '/api/v1/contacts/bulk', body: { contacts } });
    expect(r.status, r.body).toBe(200);
  }
  const marketing = (i: number) => enqueueMessage(t.app.ctx, { idempotencyKey: `campaign:1:${i}`, source: 'campaign', to: `sub${i}@example.com`, content, stream: 'marketing', topicKey: 'newsletter', campaignId: 1, data: { n: i } });
  const transactional = (i: number) => enqueueMessage(t.app.ctx, { idempotencyKey: `tx:${i}`, source: 'tx', to: `buyer${i}@example.com`, content: { ...content, fromEmail: 'orders@shop.example' }, data: { n: i } });

  it("holds marketing over the warm-up day's cap across workers until the next day; transactional mail is never held", async () => {
    await t.request({ method: 'PUT', url: '/api/v1/settings/store', body: { address: '12 Main St, Springfield' } });
    await transport({ warmup: [{ days: 1, perDay: 10 }, { days: 1, perDay: 15 }] });
    // A second transport later on the default route: the overflow must wait, not spill into it.
    await saveTransport(t.app.ctx, createTransportFactory({ db: t.app.ctx.db, clock: t.clock }), { name: 'spare', kind: 'smtp', settings: { host: peer.host, port: peer.port, starttls: 'opportunistic', domainLimits: false } }, 'create');
    await subscribers(30);
    const queued = [];
    for (let i = 0; i < 30; i++) queued.push((await marketing(i)).message.id);
    for (let i = 0; i < 3; i++) await transactional(i);
    const [a, b] = await twoWorkers();
    await Promise.all([a!.worker.drain(), b!.worker.drain()]);
    const views = await Promise.all(queued.map((id) => getMessage(t.app.ctx, id)));
    expect(views.filter((m) => m.status === 'sent')).toHaveLength(10);
    const held = views.filter((m) => m.status === 'queued');
    expect(held).toHaveLength(20);
    const midnight = Math.ceil((t.clock.now() + 1) / DAY) * DAY;
    for (const m of held) {
      expect(m.nextAttemptAt).toBe(midnight);
      expect(m.reason).toMatch(/warm-up day 1 cap of 10 reached on mta/);
      expect(m.attempts).toBe(0);
    }
    expect(peer.received.filter((r) => r.envelope.to[0]!.startsWith('buyer'))).toHaveLength(3);

    t.clock.set(midnight);
    await Promise.all([a!.worker.drain(), b!.worker.drain()]);
    const day2 = await Promise.all(queued.map((id) => getMessage(t.app.ctx, id)));
    expect(day2.filter((m) => m.status === 'sent')).toHaveLength(25);
    expect(peer.received.filter((r) => r.envelope.to[0]!.startsWith('sub'))).toHaveLength(25);
  });

  it('pauses marketing on a transport whose hard bounces pass 5%, keeps transactional mail going, and resumes on request', async () => {
    await transport();
    await subscribers(1);
    peer.setBehaviour(({ to }) => (/^buyer\d*[05]@/.test(to) && Number(/\d+/.exec(to)![0]) < 120 ? { kind: 'reply', at: 'rcpt', code: 550, text: '5.1.1 No such user' } : { kind: 'accept' }));
    for (let i = 0; i < 200; i++) await transactional(i);
    const [a] = await twoWorkers();
    await a!.worker.drain();
    await a!.refresh();
    const breakers = await t.request({ method: 'GET', url: '/api/v1/breakers' });
    const b = breakers.json.items.find((x: { scope: string }) => x.scope === 'transport:mta');
    expect(b.state).toBe('paused');
    expect(b.reason).toMatch(/hard bounces 24 of 200 sent \(12\.00%\) above the pause threshold/);

    const held = (await marketing(0)).message.id;
    await transactional(1000);
    await a!.worker.drain();
    expect((await getMessage(t.app.ctx, held)).status).toBe('queued');
    expect((await getMessage(t.app.ctx, held)).reason).toMatch(/held: circuit breaker transport:mta paused/);
    expect(peer.received.some((r) => r.envelope.to[0] === 'buyer1000@example.com')).toBe(true);

    t.clock.advance(1000);
    const resumed = await t.request({ method: 'POST', url: `/api/v1/breakers/${encodeURIComponent('transport:mta')}/resume` });
    expect(resumed.status).toBe(200);
    await a!.refresh();
    t.clock.advance(60_000);
    await a!.worker.drain();
    expect((await getMessage(t.app.ctx, held)).status).toBe('sent');
  });

  it('retries a connection closed mid-DATA and a stalled server without losing or repeating the message', async () => {
    await transport({ settings: { host: peer.host, port: peer.port, starttls: 'opportunistic', domainLimits: false, socketTimeoutMs: 300 } });
    let n = 0;
    peer.setBehaviour(() => (++n === 1 ? { kind: 'close-mid-data', afterBytes: 100 } : n === 2 ? { kind: 'stall', at: 'data' } : { kind: 'accept' }));
    const { message } = await transactional(1);
    const [a] = await twoWorkers();
    for (let i = 0; i < 3; i++) {
      await a!.worker.drain();
      const m = await getMessage(t.app.ctx, message.id);
      if (m.status === 'sent') break;
      t.clock.set(m.nextAttemptAt!);
    }
    const m = await getMessage(t.app.ctx, message.id);
    expect(m.status).toBe('sent');
    expect(m.attempts).toBe(3);
    expect(m.history!.map((h) => h.status)).toEqual(['queued', 'deferred', 'deferred', 'sent']);
    expect(peer.received.filter((r) => r.envelope.to[0] === 'buyer1@example.com')).toHaveLength(1);
  });
});
