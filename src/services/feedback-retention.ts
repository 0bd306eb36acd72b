import { deleteUnmatchedFeedbackBefore } from '../db/queries/feedback.ts';
import type { ServiceContext } from './context.ts';

const BATCH = 1000;

/**
 * Deletes feedback that matched no message once it is older than `keepMs`
 * (CHAPAR_UNMATCHED_FEEDBACK_DAYS). It is kept for someone to inspect why a bounce or report
 * matched nothing; its raw text quotes addresses and headers of mail Chapar could not tie to a
 * contact, which erasure cannot find, so it is not kept for ever. Returns how many went.
 */
export async function forgetOldUnmatchedFeedback(ctx: ServiceContext, keepMs: number): Promise<number> {
  const before = ctx.clock.now() - keepMs;
  let deleted = 0;
  for (;;) {
    const n = await deleteUnmatchedFeedbackBefore(ctx.db, before, BATCH);
    deleted += n;
    if (n < BATCH) break;
  }
  if (deleted > 0) ctx.logger.info({ deleted }, 'old unmatched feedback deleted');
  return deleted;
}
