import { selectLastRfmRun } from '../db/queries/rfm.ts';
import type { ServiceContext } from './context.ts';
import { refreshRfm } from './rfm.ts';
import { refreshAllSegments, refreshChangedContacts } from './segment-refresh.ts';

// The background schedule in `serve`: RFM once a day, then every saved segment on each tick
// (incremental where that is exact, full for segments with relative windows), with a full refresh
// of everything once a day to catch what an incremental one cannot see (events stored late).
// Between ticks, every 30 seconds, the contacts whose data changed are re-judged in every segment,
// so a new order or event moves its contact in or out within half a minute.

/** How often segments are refreshed (15 minutes). */
export const SEGMENT_TICK_MS = 15 * 60_000;
/** How often changed contacts are re-judged between ticks. */
export const SEGMENT_CHANGES_MS = 30_000;
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
export function startSegmentSchedule(ctx: ServiceContext, opts: { tickMs?: number; firstTickMs?: number; changesMs?: number } = {}): { stop(): Promise<void> } {
  let lastFullAt: number | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  // One pass at a time: a change pass never overlaps a tick (they would write the same members).
  const run = (what: string, pass: () => Promise<void>) => {
    if (running || stopped) return;
    running = (async () => {
      try {
        await pass();
      } catch (err) {
        ctx.logger.error({ err }, `segment ${what} failed`);
      } finally {
        running = null;
      }
    })();
  };
  const tick = () =>
    run('schedule tick', async () => {
      const r = await runSegmentTick(ctx, lastFullAt);
      if (r.mode === 'full') lastFullAt = ctx.clock.now();
    });
  const changes = () =>
    run('change pass', async () => {
      await refreshChangedContacts(ctx);
    });
  const first = setTimeout(tick, opts.firstTickMs ?? 60_000);
  const every = setInterval(tick, opts.tickMs ?? SEGMENT_TICK_MS);
  const often = setInterval(changes, opts.changesMs ?? SEGMENT_CHANGES_MS);
  for (const t of [first, every, often]) t.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      clearInterval(often);
      await running;
    },
  };
}
