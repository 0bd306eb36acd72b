import type { ServiceContext } from '../services/context.ts';
import { forgetOldUnmatchedFeedback } from '../services/feedback-retention.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';

/** Deletes unmatched feedback older than `keepMs` (services/feedback-retention.ts) every `intervalMs` (an hour by default). */
export function startFeedbackRetention(ctx: ServiceContext, keepMs: number, opts: { intervalMs?: number } = {}): PeriodicJob {
  return startPeriodic(ctx, 'unmatched feedback retention', opts.intervalMs ?? 3600_000, async () => {
    await forgetOldUnmatchedFeedback(ctx, keepMs);
  });
}
