import { describe, expect, it } from 'vitest';
import { readMailgunEvent } from '../../src/adapters/feedback/mailgun-events.ts';
import { readSendGridEvents } from '../../src/adapters/feedback/sendgrid-events.ts';
import { readSesNotification } from '../../src/adapters/feedback/ses-events.ts';

// How each ESP's event shapes (formats.md §4) become FeedbackEvents; pure, no database.

const NOW = Date.parse('2026-11-27T10:00:00Z');

describe('Mailgun events', () => {
  const ev = (over: Record<string, unknown>) => ({
    id: 'evt-1',
    timestamp: 1795773600.25,
    recipient: 'ana@example.com',
    message: { headers: { 'message-id': '20261127.1@mg.shop.example' } },
    'user-variables': { chapar_message_ref: 'ref123456' },
    ...over,
  });

  it('maps delivered, opened, clicked, complained and unsubscribed with the locator and time', () => {
    const one = (e: Record<string, unknown>) => readMailgunEvent(ev(e), NOW).events[0];
    expect(one({ event: 'delivered' })).toEqual({
      source: 'mailgun',
      sourceEventId: 'evt-1',
      type: 'delivered',
      locator: { messageRef: 'ref123456', providerMessageId: '20261127.1@mg.shop.example', messageId: '20261127.1@mg.shop.example', recipient: 'ana@example.com' },
      occurredAt: 1795773600250,
      raw: expect.stringContaining('"event":"delivered"'),
    });
    expect(one({ event: 'opened', ip: '203.0.113.9', 'client-info': { 'user-agent': 'Mozilla/5.0' } })).toMatchObject({ type: 'opened', ip: '203.0.113.9', userAgent: 'Mozilla/5.0' });
    expect(one({ event: 'clicked', url: 'https://shop.example/p/1' })).toMatchObject({ type: 'clicked', url: 'https://shop.example/p/1' });
    expect(one({ event: 'complained' })).toMatchObject({ type: 'complained', complaint: { kind: 'abuse', userAgent: null } });
    expect(one({ event: 'unsubscribed' })).toMatchObject({ type: 'unsubscribed', unsubscribeAll: true });
  });

  it('maps a permanent failure to a classified bounce and a temporary one to a deferral', () => {
    const hard = readMailgunEvent(ev({ event: 'failed', severity: 'permanent', reason: 'bounce', 'delivery-status': { code: 550, 'enhanced-code': '5.1.1', message: '5.1.1 The email account that you tried to reach does not exist' } }), NOW).events[0];
    expect(hard).toMatchObject({ type: 'bounced', bounce: { reason: 'user_unknown', class: 'hard', status: '5.1.1' } });
    const full = readMailgunEvent(ev({ event: 'failed', severity: 'temporary', 'delivery-status': { code: 452, 'enhanced-code': '4.2.2', message: 'mailbox full' } }), NOW).events[0];
    expect(full).toMatchObject({ type: 'deferred', bounce: { reason: 'mailbox_full', class: 'soft' } });
    const policy = readMailgunEvent(ev({ event: 'failed', severity: 'permanent', 'delivery-status': { code: 554, 'enhanced-code': '5.7.1', message: 'blocked using Spamhaus' } }), NOW).events[0];
    expect(policy).toMatchObject({ type: 'bounced', bounce: { reason: 'reputation', class: 'none' } });
    // Mailgun held the message back because the address bounced before: hard, from Mailgun's own reason.
    const listed = readMailgunEvent(ev({ event: 'failed', severity: 'permanent', reason: 'suppress-bounce', 'delivery-status': { code: 605, message: '' } }), NOW).events[0];
    expect(listed).toMatchObject({ type: 'bounced', bounce: { reason: 'user_unknown', class: 'hard' } });
  });

  it('keeps what it cannot use as unmatched, with why, and drops routine events', () => {
    const r = (e: unknown) => readMailgunEvent(e, NOW);
    expect(r(ev({ event: 'accepted' }))).toEqual({ events: [], unmatched: [], ignored: 1 });
    expect(r(ev({ event: 'list_member_uploaded' })).unmatched).toEqual([expect.objectContaining({ source: 'mailgun', sourceEventId: 'evt-1', type: 'list_member_uploaded', why: 'unknown Mailgun event type "list_member_uploaded"' })]);
    expect(r(ev({ event: undefined })).unmatched[0]!.why).toBe('the event has no "event" type');
    expect(r(ev({ event: 'failed', severity: 'whenever' })).unmatched[0]!.why).toMatch(/severity "whenever"/);
    expect(r(ev({ event: 'failed', severity: 'permanent', reason: 'suppress-unsubscribe' })).unmatched[0]!.why).toBe("Mailgun did not send: the address is on Mailgun's unsubscribe list");
    expect(r(ev({ event: 'rejected', reject: { reason: 'Sandbox subdomains are for test purposes only' } })).unmatched[0]!.why).toMatch(/rejected the message before sending it: Sandbox/);
    expect(r('a string').unmatched[0]!.why).toBe('the webhook has no "event-data" object');
  });

  it('never trusts field types or sizes', () => {
    const e = readMailgunEvent(ev({ event: 'clicked', url: 'x'.repeat(10_000), recipient: 42, timestamp: 'soon', 'user-variables': 'none' }), NOW).events[0]!;
    expect(e.url).toHaveLength(2048);
    expect(e.locator).toMatchObject({ messageRef: null, recipient: '42' });
    expect(e.occurredAt).toBe(NOW);
    expect(e.raw!.length).toBeLessThanOrEqual(501);
  });
});

describe('SendGrid events', () => {
  const batch = (events: Record<string, unknown>[]) => Buffer.from(JSON.stringify(events));
  const base = { email: 'ana@example.com', timestamp: 1795773600, 'smtp-id': '<x@shop.example>', sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0', chapar_message_ref: 'ref123456' };

  it('maps a batch, one event each, with the provider id cut before the first dot', () => {
    const r = readSendGridEvents(
      batch([
        { ...base, event: 'processed', sg_event_id: 'p1' },
        { ...base, event: 'delivered', sg_event_id: 'd1', response: '250 OK' },
        { ...base, event: 'open', sg_event_id: 'o1', useragent: 'Mozilla/5.0', ip: '203.0.113.9' },
        { ...base, event: 'click', sg_event_id: 'c1', url: 'https://shop.example/' },
        { ...base, event: 'spamreport', sg_event_id: 's1' },
        { ...base, event: 'unsubscribe', sg_event_id: 'u1' },
        { ...base, event: 'group_unsubscribe', sg_event_id: 'g1', asm_group_id: 4 },
      ]),
      NOW,
    );
    expect(r.ignored).toBe(1);
    expect(r.unmatched).toEqual([]);
    expect(r.events.map((e) => [e.sourceEventId, e.type, e.unsubscribeAll])).toEqual([
      ['d1', 'delivered', undefined],
      ['o1', 'opened', undefined],
      ['c1', 'clicked', undefined],
      ['s1', 'complained', undefined],
      ['u1', 'unsubscribed', true],
      ['g1', 'unsubscribed', false],
    ]);
    expect(r.events[0]).toMatchObject({ source: 'sendgrid', occurredAt: 1795773600000, locator: { messageRef: 'ref123456', providerMessageId: '14c5d75ce93', messageId: '<x@shop.example>', recipient: 'ana@example.com' } });
    expect(r.events[1]).toMatchObject({ ip: '203.0.113.9', userAgent: 'Mozilla/5.0' });
  });

  it('classifies bounces and blocks, and a deferral', () => {
    const r = readSendGridEvents(
      batch([
        { ...base, event: 'bounce', type: 'bounce', sg_event_id: 'b1', status: '5.1.1', reason: "550 5.1.1 The email account that you tried to reach does not exist" },
        { ...base, event: 'bounce', type: 'blocked', sg_event_id: 'b2', status: '5.7.1', reason: '554 5.7.1 rejected due to spam content', bounce_classification: 'Content' },
        { ...base, event: 'bounce', type: 'bounce', sg_event_id: 'b3', status: '5.0.0', reason: 'unrecognised', bounce_classification: 'Invalid Address' },
        { ...base, event: 'deferred', sg_event_id: 'f1', response: '421 4.7.0 Try again later, too many connections', attempt: '2' },
      ]),
      NOW,
    );
    expect(r.events.map((e) => [e.type, e.bounce?.reason, e.bounce?.class])).toEqual([
      ['bounced', 'user_unknown', 'hard'],
      ['bounced', 'policy_block', 'none'],
      ['bounced', 'user_unknown', 'hard'],
      ['deferred', 'rate_limited', 'soft'],
    ]);
  });

  it('keeps dropped, resubscribes, unknown types and junk as unmatched with why', () => {
    const r = readSendGridEvents(batch([{ ...base, event: 'dropped', sg_event_id: 'x1', reason: 'Bounced Address' }, { ...base, event: 'group_resubscribe', sg_event_id: 'x2' }, { ...base, event: 'test_event' }, 7 as never]), NOW);
    expect(r.events).toEqual([]);
    expect(r.unmatched.map((u) => u.why)).toEqual([
      'SendGrid dropped the message without sending it: Bounced Address',
      "a resubscribe on SendGrid's preference page; Chapar keeps subscriptions itself and does not apply it",
      'unknown SendGrid event type "test_event"',
      'item 3 of the batch is not an event object',
    ]);
    expect(readSendGridEvents(Buffer.from('{oops'), NOW).unmatched).toEqual([expect.objectContaining({ why: 'the body is not JSON' })]);
  });
});

describe('SES notifications', () => {
  const mail = { timestamp: '2026-11-27T09:58:00.000Z', messageId: '0100018c-ses-id', destination: ['ana@example.com', 'bo@example.com'], tags: { chapar_message_ref: ['ref123456'] } };

  it('makes one event per recipient, keyed by SNS MessageId and recipient', () => {
    const n = { notificationType: 'Bounce', mail, bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: '2026-11-27T09:59:00.000Z', feedbackId: 'f1', bouncedRecipients: [{ emailAddress: 'ana@example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }, { emailAddress: 'bo@example.com' }] } };
    const r = readSesNotification(JSON.stringify(n), 'sns-1', NOW);
    expect(r.events).toEqual([
      expect.objectContaining({ source: 'ses', sourceEventId: 'sns-1:ana@example.com', type: 'bounced', bounce: expect.objectContaining({ reason: 'user_unknown', class: 'hard', status: '5.1.1' }), locator: { messageRef: 'ref123456', providerMessageId: '0100018c-ses-id', messageId: null, recipient: 'ana@example.com' }, occurredAt: Date.parse('2026-11-27T09:59:00.000Z') }),
      // No diagnostic at all: SES says Permanent, and tells senders to drop such addresses.
      expect.objectContaining({ sourceEventId: 'sns-1:bo@example.com', type: 'bounced', bounce: expect.objectContaining({ reason: 'other', class: 'hard' }) }),
    ]);
  });

  it.each([
    ['Transient', 'MailboxFull', 'mailbox_full', 'soft'],
    ['Transient', 'MessageTooLarge', 'message_too_large', 'soft'],
    ['Transient', 'ContentRejected', 'policy_block', 'none'],
    ['Transient', 'General', 'other', 'soft'],
    ['Undetermined', 'Undetermined', 'other', 'soft'],
    ['Permanent', 'NoEmail', 'user_unknown', 'hard'],
    ['Permanent', 'OnAccountSuppressionList', 'other', 'hard'],
  ])('maps bounce %s/%s to %s (%s)', (bounceType, bounceSubType, reason, klass) => {
    const n = { notificationType: 'Bounce', mail, bounce: { bounceType, bounceSubType, bouncedRecipients: [{ emailAddress: 'ana@example.com' }] } };
    expect(readSesNotification(JSON.stringify(n), 'sns-1', NOW).events[0]).toMatchObject({ type: 'bounced', bounce: { reason, class: klass } });
  });

  it('maps complaints, deliveries, delays, opens and clicks (identity notifications and event publishing)', () => {
    const complaint = readSesNotification({ notificationType: 'Complaint', mail, complaint: { complaintFeedbackType: 'fraud', userAgent: 'Yahoo!-Mail-Feedback/2.0', complainedRecipients: [{ emailAddress: 'ana@example.com' }] } }, 'sns-2', NOW);
    expect(complaint.events[0]).toMatchObject({ type: 'complained', complaint: { kind: 'fraud', userAgent: 'Yahoo!-Mail-Feedback/2.0' } });
    const odd = readSesNotification({ notificationType: 'Complaint', mail, complaint: { complaintFeedbackType: 'weird', complainedRecipients: [{ emailAddress: 'ana@example.com' }] } }, 'sns-3', NOW);
    expect(odd.events[0]!.complaint).toEqual({ kind: 'abuse', userAgent: null });
    expect(readSesNotification({ notificationType: 'Delivery', mail, delivery: { recipients: ['ana@example.com', 'bo@example.com'] } }, 'sns-4', NOW).events.map((e) => [e.type, e.locator.recipient])).toEqual([
      ['delivered', 'ana@example.com'],
      ['delivered', 'bo@example.com'],
    ]);
    const delay = readSesNotification({ eventType: 'DeliveryDelay', mail, deliveryDelay: { delayType: 'MailboxFull', delayedRecipients: [{ emailAddress: 'ana@example.com', status: '4.2.2', diagnosticCode: 'mailbox full' }] } }, 'sns-5', NOW);
    expect(delay.events[0]).toMatchObject({ type: 'deferred', bounce: { reason: 'mailbox_full', class: 'soft' } });
    expect(readSesNotification({ eventType: 'Open', mail, open: { ipAddress: '203.0.113.9', userAgent: 'Mozilla/5.0', timestamp: '2026-11-27T09:59:30.000Z' } }, 'sns-6', NOW).events[0]).toMatchObject({ type: 'opened', ip: '203.0.113.9', userAgent: 'Mozilla/5.0', sourceEventId: 'sns-6:ana@example.com' });
    expect(readSesNotification({ eventType: 'Click', mail, click: { link: 'https://shop.example/' } }, 'sns-7', NOW).events[0]).toMatchObject({ type: 'clicked', url: 'https://shop.example/' });
    expect(readSesNotification({ eventType: 'Send', mail, send: {} }, 'sns-8', NOW)).toEqual({ events: [], unmatched: [], ignored: 1 });
  });

  it('keeps unknown types, rejections and non-SES messages as unmatched with why', () => {
    const why = (m: string | Record<string, unknown>) => readSesNotification(m, 'sns-9', NOW).unmatched.map((u) => u.why);
    expect(why({ eventType: 'Reject', mail, reject: { reason: 'Bad content' } })).toEqual(['SES rejected the message before sending it: Bad content']);
    expect(why({ eventType: 'Teleport', mail })).toEqual(['unknown SES notification type "Teleport"']);
    expect(why('hello from the console')).toEqual(['the SNS message is not JSON, so not an SES notification']);
    expect(why({ hello: 'world' })).toEqual(['the SNS message is not an SES notification (no notificationType or eventType, or no mail)']);
    expect(why({ notificationType: 'Bounce', mail, bounce: { bounceType: 'Permanent' } })).toEqual(['an SES Bounce notification that names no recipient']);
  });

  it('builds a stable source id from the notification itself when SNS gave none (raw delivery)', () => {
    const n = { notificationType: 'Bounce', mail, bounce: { bounceType: 'Permanent', feedbackId: 'fb-7', bouncedRecipients: [{ emailAddress: 'ana@example.com' }] } };
    expect(readSesNotification(n, null, NOW).events[0]!.sourceEventId).toBe('Bounce:0100018c-ses-id:fb-7:ana@example.com');
  });
});
