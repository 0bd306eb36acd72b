import { sweepAbandonedCheckouts } from '../services/abandoned-checkouts.ts';
import type { ServiceContext } from '../services/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';

/**
 * Marks idle checkouts abandoned every `intervalMs` (a minute by default). Runs never overlap; a
 * failed run is logged and the next one tries again. Safe with several processes: a cart is
 * marked once and its `cart_abandoned` event is stored once.
 */
export function startAbandonedCheckoutSweep(ctx: ServiceContext, opts: { intervalMs?: number } = {}): PeriodicJob {
  return startPeriodic(ctx, 'abandoned checkout sweep', opts.intervalMs ?? 60_000, async () => {
    const r = await sweepAbandonedCheckouts(ctx);
    if (r.abandoned.length > 0) ctx.logger.info({ carts: r.abandoned.length }, 'checkouts marked abandoned');
  });
}
