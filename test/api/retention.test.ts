import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedbackEvent } from '../../src/domain/feedback.ts';
import { insertUnmatchedFeedback } from '../../src/db/queries/feedback.ts';
import { recordFeedback } from '../../src/services/feedback.ts';
import { insertCapturedMessage } from '../../src/db/queries/captured-messages.ts';
import { applyRetention, forgetOldUnmatchedFeedback, trimCapturedMessages } from '../../src/services/retention.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

// Copies kept for someone to look at are kept only for a while: feedback that matched no message
// (CHAPAR_UNMATCHED_FEEDBACK_DAYS; its raw text quotes addresses that erasure cannot find) and the
// capture transport's messages (CHAPAR_CAPTURE_KEEP_DAYS, CHAPAR_CAPTURE_KEEP).

const DAY = 24 * 3600_000;

describe.each(DIALECTS)('retention on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  const stored = async () => (await t.db.k.selectFrom('unmatchedFeedback').select('sourceEventId').orderBy('id').execute()).map((r) => r.sourceEventId);

  it('deletes what is older than the period, in batches, and keeps the rest and everything else', async () => {
    const start = t.clock.now();
    // More than one batch (1,000) of old rows, as a mail loop might leave.
    for (let i = 0; i < 1203; i++) {
      await insertUnmatchedFeedback(t.db, { source: 'bounce_receiver', sourceEventId: `old-${i}`, type: 'bounced', why: 'no message matches the VERP address', detail: {}, raw: `Final-Recipient: rfc822; reader${i}@example.com`, receivedAt: start - DAY });
    }
    // Through the feedback loop: a bounce naming a message Chapar never sent.
    t.clock.advance(60 * DAY);
    const lost: FeedbackEvent = { source: 'bounce_receiver', sourceEventId: 'recent-1', type: 'bounced', locator: { messageRef: 'nosuchmessage0001' }, bounce: { reason: 'user_unknown', class: 'hard', status: '5.1.1', diagnostic: '550 5.1.1 unknown' }, occurredAt: t.clock.now() };
    expect(await recordFeedback(t.app.ctx, [lost])).toEqual([{ status: 'unmatched', messageRef: null }]);

    t.clock.advance(30 * DAY);
    // 91 days after the old rows, 30 after the recent one.
    expect(await forgetOldUnmatchedFeedback(t.app.ctx, 90 * DAY)).toBe(1203);
    expect(await stored()).toEqual(['recent-1']);
    expect(await forgetOldUnmatchedFeedback(t.app.ctx, 90 * DAY)).toBe(0);
    const listed = await t.request({ method: 'GET', url: '/api/v1/feedback/unmatched' });
    expect(listed.json.items.map((x: { sourceEventId: string }) => x.sourceEventId)).toEqual(['recent-1']);
    // A shorter period set by the operator takes the recent one too.
    expect(await forgetOldUnmatchedFeedback(t.app.ctx, 7 * DAY)).toBe(1);
    expect(await stored()).toEqual([]);
  });

  it("trims the capture transport's mailbox by age and by number, newest kept", async () => {
    const capture = (subject: string, createdAt: number) => insertCapturedMessage(t.db, { messageRef: `m0${subject}`, envelopeFrom: 'b@b.shop.example', envelopeTo: 'reader@example.com', subject, raw: Buffer.from(`Subject: ${subject}\r\n\r\nHello`), createdAt });
    const listed = async () => (await t.request({ method: 'GET', url: '/api/v1/captured-messages?limit=100' })).json.items.map((m: { subject: string }) => m.subject);
    for (let i = 0; i < 1203; i++) await capture(`old${i}`, t.clock.now() - 40 * DAY);
    for (let i = 0; i < 5; i++) await capture(`new${i}`, t.clock.now() - i * 60_000);
    expect(await trimCapturedMessages(t.app.ctx, 30 * DAY, 10_000)).toBe(1203);
    expect(await listed()).toEqual(['new4', 'new3', 'new2', 'new1', 'new0']);
    // By number: the newest three stay (by arrival).
    expect(await trimCapturedMessages(t.app.ctx, 30 * DAY, 3)).toBe(2);
    expect(await listed()).toEqual(['new4', 'new3', 'new2']);
    // Everything at once, as `chapar serve` runs it hourly: nothing more to do.
    expect(await applyRetention(t.app.ctx, { unmatchedFeedbackMs: 90 * DAY, capturedMs: 30 * DAY, capturedMax: 3 })).toEqual({ unmatchedFeedback: 0, capturedMessages: 0 });
    t.clock.advance(31 * DAY);
    expect(await applyRetention(t.app.ctx, { unmatchedFeedbackMs: 90 * DAY, capturedMs: 30 * DAY, capturedMax: 3 })).toEqual({ unmatchedFeedback: 0, capturedMessages: 3 });
    expect(await listed()).toEqual([]);
  });
});
