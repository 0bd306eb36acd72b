import { selectLastRfmRun } from '../db/queries/rfm.ts';
import type { ServiceContext } from './context.ts';
import { refreshRfm } from './rfm.ts';
import { refreshAllSegments } from './segment-refresh.ts';

// The background schedule in `serve`: RFM once a day, then every saved segment on each tick
// (incremental where that is exact, full for segments with relative windows), with a full refresh
// of everything once a day to catch what an incremental one cannot see (events stored late).

/** How often segments are refreshed (15 minutes). */
export const SEGMENT_TICK_MS = 15 * 60_000;
const DAY_MS = 86_400_000;

/** What one tick did. */
export interface TickOutcome {
  rfm: boolean;
  mode: 'full' | 'incremental';
  segments: number;
}

/** One tick: scores RFM when the last run is a day old, then refreshes every segment. `lastFullAt` is the previous full refresh (null: never in this process). */
export async function runSegmentTick(ctx: ServiceContext, lastFullAt: number | null): Promise<TickOutcome> {
  const now = ctx.clock.now();
  const lastRfm = await selectLastRfmRun(ctx.db);
  const rfm = lastRfm === null || now - lastRfm >= DAY_MS;
  if (rfm) await refreshRfm(ctx);
  // RFM moved scores for everyone, and a day is up: both call for a full pass.
  const mode = rfm || lastFullAt === null || now - lastFullAt >= DAY_MS ? 'full' : 'incremental';
  const outcomes = await refreshAllSegments(ctx, mode);
  return { rfm, mode, segments: outcomes.length };
}

/** Starts the schedule (first tick after a minute, so start-up stays quick); returns a stop function that waits for a running tick. */
export function startSegmentSchedule(ctx: ServiceContext, opts: { tickMs?: number; firstTickMs?: number } = {}): { stop(): Promise<void> } {
  let lastFullAt: number | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = (async () => {
      try {
        const r = await runSegmentTick(ctx, lastFullAt);
        if (r.mode === 'full') lastFullAt = ctx.clock.now();
      } catch (err) {
        ctx.logger.error({ err }, 'segment schedule tick failed');
      } finally {
        running = null;
      }
    })();
  };
  const first = setTimeout(tick, opts.firstTickMs ?? 60_000);
  const every = setInterval(tick, opts.tickMs ?? SEGMENT_TICK_MS);
  first.unref();
  every.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await running;
    },
  };
}
