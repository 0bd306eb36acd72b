import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedbackEvent } from '../../src/domain/feedback.ts';
import { insertUnmatchedFeedback } from '../../src/db/queries/feedback.ts';
import { recordFeedback } from '../../src/services/feedback.ts';
import { forgetOldUnmatchedFeedback } from '../../src/services/feedback-retention.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

// Feedback that matched no message is kept for inspection, then deleted once older than
// CHAPAR_UNMATCHED_FEEDBACK_DAYS: its raw text quotes addresses that erasure cannot find.

const DAY = 24 * 3600_000;

describe.each(DIALECTS)('unmatched feedback retention on %s', (dialect) => {
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
});
