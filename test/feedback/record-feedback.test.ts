import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedbackEvent } from '../../src/domain/feedback.ts';
import { recordFeedback } from '../../src/services/feedback.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, suppressionReasons } from '../helpers/feedback.ts';

const DAY = 24 * 3600_000;

function bounce(ref: string, over: Partial<FeedbackEvent> = {}, verdict: Partial<NonNullable<FeedbackEvent['bounce']>> = {}): FeedbackEvent {
  return {
    source: 'bounce_receiver',
    sourceEventId: `${ref}-${Math.random()}`,
    type: 'bounced',
    locator: { messageRef: ref },
    bounce: { reason: 'user_unknown', class: 'hard', status: '5.1.1', diagnostic: '550 5.1.1 user unknown', ...verdict },
    occurredAt: 0,
    ...over,
  };
}

describe.each(DIALECTS)('recording feedback on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  const message = (id: number) => t.db.k.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const eventsOf = (ref: string) => t.db.k.selectFrom('events').selectAll().where('messageRef', '=', ref).execute();
  const topicsOf = async (contactId: number) => (await t.request({ method: 'GET', url: `/api/v1/contacts/${contactId}` })).json.topics;

  it('a hard bounce marks the message bounced and suppresses the address at once; a replay is stored once', async () => {
    const m = await sentMessage(t);
    const bystander = await sentMessage(t);
    const e = bounce(m.ref, { sourceEventId: 'dsn-1', occurredAt: t.clock.now() });
    expect(await recordFeedback(t.app.ctx, [e])).toEqual([{ status: 'applied', messageRef: m.ref }]);
    expect(await recordFeedback(t.app.ctx, [e])).toEqual([{ status: 'duplicate', messageRef: m.ref }]);
    expect(await message(m.id)).toMatchObject({ status: 'bounced', reason: 'hard_bounce: user_unknown (5.1.1)' });
    expect(await suppressionReasons(t, m.email)).toEqual(['hard_bounce']);
    const events = await eventsOf(m.ref);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'email_bounced', source: 'bounce_receiver', sourceEventId: 'dsn-1', reason: 'user_unknown', contactId: m.contactId });
    // Nobody else is touched.
    expect(await suppressionReasons(t, bystander.email)).toEqual([]);
    expect((await message(bystander.id)).status).toBe('sent');
    // The message's history shows the bounce beside its send.
    const history = await t.request({ method: 'GET', url: `/api/v1/messages/${m.id}` });
    expect(history.json.history.map((h: { status: string }) => h.status)).toContain('bounced');
  });

  it('soft bounces suppress after 3 within 14 days; a delivery in between clears the count; older ones expire', async () => {
    const m = await sentMessage(t);
    const soft = (at: number) => bounce(m.ref, { occurredAt: at }, { reason: 'mailbox_full', class: 'soft', status: '4.2.2' });
    const t0 = t.clock.now();
    await recordFeedback(t.app.ctx, [soft(t0), soft(t0 + DAY)]);
    await recordFeedback(t.app.ctx, [{ source: 'maillog', sourceEventId: 'delivered-1', type: 'delivered', locator: { messageRef: m.ref }, occurredAt: t0 + 2 * DAY }]);
    await recordFeedback(t.app.ctx, [soft(t0 + 3 * DAY), soft(t0 + 4 * DAY)]);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    // 20 days later: the two recent ones are out of the window, so this is the first again.
    await recordFeedback(t.app.ctx, [soft(t0 + 24 * DAY)]);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    await recordFeedback(t.app.ctx, [soft(t0 + 25 * DAY), soft(t0 + 26 * DAY)]);
    expect(await suppressionReasons(t, m.email)).toEqual(['soft_bounce']);
    expect((await message(m.id)).reason).toBe('soft_bounce: mailbox_full (4.2.2)');
  });

  it('takes the soft-bounce limit and window from the configuration', async () => {
    const strict = await createTestApp(dialect, { CHAPAR_SOFT_BOUNCE_LIMIT: '2', CHAPAR_SOFT_BOUNCE_DAYS: '1' });
    try {
      const m = await sentMessage(strict);
      const soft = (at: number) => bounce(m.ref, { occurredAt: at }, { reason: 'mailbox_full', class: 'soft', status: '4.2.2' });
      const t0 = strict.clock.now();
      await recordFeedback(strict.app.ctx, [soft(t0), soft(t0 + 2 * DAY)]);
      expect(await suppressionReasons(strict, m.email)).toEqual([]);
      await recordFeedback(strict.app.ctx, [soft(t0 + 2 * DAY + 3600_000)]);
      expect(await suppressionReasons(strict, m.email)).toEqual(['soft_bounce']);
    } finally {
      await strict.close();
    }
  });

  it('a policy or reputation refusal is recorded but never costs the recipient their mail', async () => {
    const m = await sentMessage(t);
    await recordFeedback(t.app.ctx, [bounce(m.ref, { occurredAt: t.clock.now() }, { reason: 'reputation', class: 'none', status: '5.7.1', diagnostic: 'blocked using Spamhaus' })]);
    expect(await message(m.id)).toMatchObject({ status: 'bounced', reason: 'policy_block: reputation (5.7.1)' });
    expect(await suppressionReasons(t, m.email)).toEqual([]);
  });

  it('a complaint marks the message, suppresses the address and unsubscribes every topic with a consent-log entry', async () => {
    const m = await sentMessage(t);
    await recordFeedback(t.app.ctx, [{ source: 'bounce_receiver', sourceEventId: 'arf-1', type: 'complained', locator: { messageId: `<${m.ref}@shop.example>` }, complaint: { kind: 'abuse', userAgent: 'Yahoo!-Mail-Feedback/2.0' }, occurredAt: t.clock.now() }]);
    expect(await message(m.id)).toMatchObject({ status: 'complained', reason: 'complaint: abuse' });
    expect(await suppressionReasons(t, m.email)).toEqual(['complaint']);
    expect(await topicsOf(m.contactId)).toEqual({ news: 'unsubscribed', offers: 'unsubscribed' });
    const log = await t.db.k.selectFrom('consentLog').selectAll().where('contactId', '=', m.contactId).where('source', '=', 'complaint').execute();
    expect(log.map((l) => l.topicKey).sort()).toEqual(['news', 'offers']);
    // A bounce arriving after the complaint does not overwrite it.
    await recordFeedback(t.app.ctx, [bounce(m.ref, { occurredAt: t.clock.now() })]);
    expect((await message(m.id)).status).toBe('complained');
  });

  it('an ARF auth-failure or not-spam report is kept but suppresses nobody', async () => {
    const m = await sentMessage(t);
    for (const kind of ['auth-failure', 'not-spam'] as const) {
      const [r] = await recordFeedback(t.app.ctx, [{ source: 'bounce_receiver', sourceEventId: `arf-${kind}`, type: 'complained', locator: { messageRef: m.ref }, complaint: { kind, userAgent: null }, occurredAt: t.clock.now() }]);
      expect(r!.status).toBe('applied');
    }
    expect((await message(m.id)).status).toBe('sent');
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    expect(await topicsOf(m.contactId)).toEqual({ news: 'subscribed', offers: 'subscribed' });
    expect((await eventsOf(m.ref)).map((e) => e.reason).sort()).toEqual(['auth-failure', 'not-spam']);
  });

  it('a bounce found only by a quoted Message-ID must name the address the message went to', async () => {
    const m = await sentMessage(t);
    const forged = bounce(m.ref, { sourceEventId: 'forged-1', locator: { messageId: `<${m.ref}@shop.example>`, recipient: 'someone-else@example.com' }, occurredAt: t.clock.now() });
    expect(await recordFeedback(t.app.ctx, [forged])).toEqual([{ status: 'unmatched', messageRef: null }]);
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    const genuine = bounce(m.ref, { sourceEventId: 'genuine-1', locator: { messageId: `<${m.ref}@shop.example>`, recipient: m.email.toUpperCase() }, occurredAt: t.clock.now() });
    expect(await recordFeedback(t.app.ctx, [genuine])).toEqual([{ status: 'applied', messageRef: m.ref }]);
    expect(await suppressionReasons(t, m.email)).toEqual(['hard_bounce']);
  });

  it('an ESP unsubscribe takes the message topic, or every topic when it says all', async () => {
    const m = await sentMessage(t, undefined, { providerMessageId: '<20261127.abc@mg.shop.example>' });
    await recordFeedback(t.app.ctx, [{ source: 'mailgun', sourceEventId: 'u-1', type: 'unsubscribed', locator: { providerMessageId: '<20261127.abc@mg.shop.example>' }, occurredAt: t.clock.now() }]);
    expect(await topicsOf(m.contactId)).toEqual({ news: 'unsubscribed', offers: 'subscribed' });
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    await recordFeedback(t.app.ctx, [{ source: 'mailgun', sourceEventId: 'u-2', type: 'unsubscribed', unsubscribeAll: true, locator: { messageRef: m.ref }, occurredAt: t.clock.now() }]);
    expect(await topicsOf(m.contactId)).toEqual({ news: 'unsubscribed', offers: 'unsubscribed' });
    expect(await suppressionReasons(t, m.email)).toEqual(['unsubscribe_all']);
  });

  it('feedback naming no known message is kept as unmatched (once) and touches nobody', async () => {
    const before = await t.db.k.selectFrom('suppressions').select(({ fn }) => fn.countAll().as('n')).executeTakeFirstOrThrow();
    const e = bounce('zzzzzzzzzzzzzzzzzz', { sourceEventId: 'lost-1', locator: { messageRef: 'zzzzzzzzzzzzzzzzzz', messageId: '<elsewhere@other.example>', recipient: 'x@example.com' }, raw: 'Message-ID: <dsn@mx.example>' });
    expect(await recordFeedback(t.app.ctx, [e])).toEqual([{ status: 'unmatched', messageRef: null }]);
    expect(await recordFeedback(t.app.ctx, [e])).toEqual([{ status: 'duplicate', messageRef: null }]);
    const rows = await t.db.k.selectFrom('unmatchedFeedback').selectAll().where('sourceEventId', '=', 'lost-1').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.why).toBe('no message matches ref zzzzzzzzzzzzzzzzzz, Message-ID <elsewhere@other.example>');
    const after = await t.db.k.selectFrom('suppressions').select(({ fn }) => fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('flags opens and clicks made by machines so KPIs can leave them out', async () => {
    const m = await sentMessage(t);
    const now = t.clock.now();
    const [mpp, person, scanner] = await recordFeedback(t.app.ctx, [
      { source: 'sendgrid', sourceEventId: 'o-1', type: 'opened', locator: { messageRef: m.ref }, userAgent: 'Mozilla/5.0', ip: '17.58.1.2', occurredAt: now + 60_000 },
      { source: 'sendgrid', sourceEventId: 'o-2', type: 'opened', locator: { messageRef: m.ref }, userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0', ip: '198.51.100.4', occurredAt: now + 3600_000 },
      { source: 'sendgrid', sourceEventId: 'c-1', type: 'clicked', url: 'https://shop.example/a', locator: { messageRef: m.ref }, userAgent: 'Mozilla/5.0 (Windows NT 10.0)', ip: '198.51.100.9', occurredAt: now + 3_000 },
    ]);
    expect([mpp!.status, person!.status, scanner!.status]).toEqual(['applied', 'applied', 'applied']);
    const rows = await t.db.k.selectFrom('events').select(['sourceEventId', 'machine']).where('messageRef', '=', m.ref).orderBy('id').execute();
    expect(rows).toEqual([
      { sourceEventId: 'o-1', machine: 'apple_mpp' },
      { sourceEventId: 'o-2', machine: null },
      { sourceEventId: 'c-1', machine: 'scanner' },
    ]);
  });
});
