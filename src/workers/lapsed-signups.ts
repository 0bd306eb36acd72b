import type { ServiceContext } from '../services/context.ts';
import { removeLapsedSignups } from '../services/lapsed-signups.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';

/** Removes signups that never confirmed (services/lapsed-signups.ts) every `intervalMs` (an hour by default). */
export function startLapsedSignupRemoval(ctx: ServiceContext, opts: { intervalMs?: number } = {}): PeriodicJob {
  return startPeriodic(ctx, 'lapsed signup removal', opts.intervalMs ?? 3600_000, async () => {
    await removeLapsedSignups(ctx);
  });
}
