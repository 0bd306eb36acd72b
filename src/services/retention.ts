import { deleteOldCapturedMessages, selectCapturedIdAtRank } from '../db/queries/captured-messages.ts';
import { deleteUnmatchedFeedbackBefore } from '../db/queries/feedback.ts';
import type { ServiceContext } from './context.ts';

// What Chapar keeps only for a while: copies made for someone to look at, not records.

const BATCH = 1000;

/** How long each kind is kept (config: CHAPAR_UNMATCHED_FEEDBACK_DAYS, CHAPAR_CAPTURE_KEEP_DAYS, CHAPAR_CAPTURE_KEEP). */
export interface RetentionPolicy {
  unmatchedFeedbackMs: number;
  capturedMs: number;
  capturedMax: number;
}

/** Applies every limit once; returns what each removed. */
export async function applyRetention(ctx: ServiceContext, p: RetentionPolicy): Promise<{ unmatchedFeedback: number; capturedMessages: number }> {
  return { unmatchedFeedback: await forgetOldUnmatchedFeedback(ctx, p.unmatchedFeedbackMs), capturedMessages: await trimCapturedMessages(ctx, p.capturedMs, p.capturedMax) };
}

/**
 * Deletes feedback that matched no message once it is older than `keepMs`. It is kept for someone
 * to inspect why a bounce or report matched nothing; its raw text quotes addresses and headers of
 * mail Chapar could not tie to a contact, which erasure cannot find, so it is not kept for ever.
 */
export async function forgetOldUnmatchedFeedback(ctx: ServiceContext, keepMs: number): Promise<number> {
  const deleted = await inBatches((limit) => deleteUnmatchedFeedbackBefore(ctx.db, ctx.clock.now() - keepMs, limit));
  if (deleted > 0) ctx.logger.info({ deleted }, 'old unmatched feedback deleted');
  return deleted;
}

/**
 * Keeps the capture transport's mailbox (every message's raw MIME while no real transport is set
 * up) to the newest `max` messages of the last `keepMs`: a store that goes live without a
 * transport would otherwise fill its disk with a campaign's copies. A message whose copy is gone
 * still has its web version, rendered again from the outbox.
 */
export async function trimCapturedMessages(ctx: ServiceContext, keepMs: number, max: number): Promise<number> {
  // By number first (through the primary key), so the search by age, which has no index of its
  // own, reads at most `max` rows past the old ones.
  // The newest kept one is found once; everything older goes in batches.
  const keptFrom = await selectCapturedIdAtRank(ctx.db, max);
  const madeBefore = ctx.clock.now() - keepMs;
  const deleted =
    (keptFrom === null ? 0 : await inBatches((limit) => deleteOldCapturedMessages(ctx.db, { idBelow: keptFrom }, limit))) +
    (await inBatches((limit) => deleteOldCapturedMessages(ctx.db, { madeBefore }, limit)));
  if (deleted > 0) ctx.logger.info({ deleted }, 'old captured messages deleted');
  return deleted;
}

// Bounded bites: no one statement holds the write lock for long, whatever piled up.
async function inBatches(step: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await step(BATCH);
    total += n;
    if (n < BATCH) return total;
  }
}
