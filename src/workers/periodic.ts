import type { ServiceContext } from '../services/context.ts';

/** A running periodic job. */
export interface PeriodicJob {
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `intervalMs`. Passes never overlap; a failed one is logged (as `what` failed)
 * and the next one tries again; `stop()` waits for a running pass.
 */
export function startPeriodic(ctx: ServiceContext, what: string, intervalMs: number, pass: () => Promise<void>): PeriodicJob {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= pass()
      .catch((err: Error) => ctx.logger.error({ err: err.message }, `${what} failed`))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
