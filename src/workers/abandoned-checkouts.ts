import { sweepAbandonedCheckouts } from '../services/abandoned-checkouts.ts';
import type { ServiceContext } from '../services/context.ts';

/** A running periodic job. */
export interface PeriodicJob {
  stop(): Promise<void>;
}

/**
 * Marks idle checkouts abandoned every `intervalMs` (a minute by default). Runs never overlap; a
 * failed run is logged and the next one tries again. Safe with several processes: a cart is
 * marked once and its `cart_abandoned` event is stored once.
 */
export function startAbandonedCheckoutSweep(ctx: ServiceContext, opts: { intervalMs?: number } = {}): PeriodicJob {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= sweepAbandonedCheckouts(ctx)
      .then((r) => {
        if (r.abandoned.length > 0) ctx.logger.info({ carts: r.abandoned.length }, 'checkouts marked abandoned');
      })
      .catch((err: Error) => ctx.logger.error({ err: err.message }, 'abandoned checkout sweep failed'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(run, opts.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
