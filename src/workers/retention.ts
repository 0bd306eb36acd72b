import type { ServiceContext } from '../services/context.ts';
import { applyRetention, type RetentionPolicy } from '../services/retention.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';

/** Applies the retention limits (services/retention.ts) every `intervalMs` (an hour by default). */
export function startRetention(ctx: ServiceContext, policy: RetentionPolicy, opts: { intervalMs?: number } = {}): PeriodicJob {
  return startPeriodic(ctx, 'retention', opts.intervalMs ?? 3600_000, async () => {
    await applyRetention(ctx, policy);
  });
}
