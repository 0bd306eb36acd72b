import { claimMessages, recordOutcomes, type MessageOutcome, type MessageRow } from '../db/queries/messages.ts';
import { DeliveryCache, deliverMessage, type DeliveryDeps } from '../services/delivery.ts';

// The delivery worker: keeps a small local buffer of claimed messages topped up from the outbox
// and runs `concurrency` sends at once, writing each outcome as soon as it is known (so a crash
// loses at most the sends in flight, which come back when their lease ends). Several workers, in
// one process or many, share the outbox through leases; none needs to know of the others.

export interface DeliveryWorkerOptions {
  /** Unique per worker (host, pid, n): leases and outcomes are fenced by it. */
  owner: string;
  /** Sends in flight at once. */
  concurrency: number;
  /** Rows claimed per round trip to the database. */
  batchSize: number;
  /** How long a claimed row stays ours; it must outlast the buffer's time in this worker. */
  leaseMs: number;
  /** How often an idle worker looks for due rows when no wake-up comes. */
  pollMs: number;
}

/** How long an outcome waits for company before its write starts (bounds the crash window too). */
const GROUP_COMMIT_WAIT_MS = 2;

export const DEFAULT_WORKER_OPTIONS: Omit<DeliveryWorkerOptions, 'owner'> = { concurrency: 32, batchSize: 200, leaseMs: 15 * 60_000, pollMs: 1000 };

export interface DeliveryWorker {
  /** Processes every message due now, then resolves with how many were handled (tests, `chapar send-due`). */
  drain(): Promise<number>;
  /** Starts the loop in the background. */
  start(): void;
  /** Wakes an idle loop (new messages were queued). */
  wake(): void;
  /** Stops claiming, finishes the sends in flight, writes their outcomes. */
  stop(): Promise<void>;
}

export function createDeliveryWorker(deps: DeliveryDeps, opts: DeliveryWorkerOptions): DeliveryWorker {
  const { ctx } = deps;
  const cache = new DeliveryCache();
  let buffer: MessageRow[] = [];
  let refilling: Promise<void> | null = null;
  let exhausted = false;
  let stopped = false;
  let running: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;

  const refill = (): Promise<void> =>
    (refilling ??= (async () => {
      try {
        const rows = await claimMessages(ctx.db, { owner: opts.owner, now: ctx.clock.now(), leaseMs: opts.leaseMs, limit: opts.batchSize });
        buffer.push(...rows);
        exhausted = rows.length === 0;
      } finally {
        refilling = null;
      }
    })());

  const next = async (): Promise<MessageRow | undefined> => {
    while (buffer.length === 0) {
      if (exhausted || stopped) return undefined;
      await refill();
    }
    // Top up ahead of need, so lanes do not wait on the database.
    if (buffer.length < opts.batchSize / 4 && !exhausted && !stopped) void refill();
    return buffer.shift();
  };

  // Group commit: outcomes that arrive while a write is under way go together in the next one, so
  // under load one transaction carries many outcomes (a commit, not a row, is what costs on SQLite)
  // while a lone outcome is still written at once. A lane waits for its outcome to be written.
  let waiting: { outcome: MessageOutcome; done: (err?: unknown) => void }[] = [];
  let writing: Promise<void> | null = null;
  const write = async () => {
    // A moment's wait lets the outcomes of sends finishing together share one commit.
    await new Promise((r) => setTimeout(r, GROUP_COMMIT_WAIT_MS));
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await recordOutcomes(ctx.db, opts.owner, ctx.clock.now(), batch.map((b) => b.outcome));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
    }
    writing = null;
  };
  const record = (outcome: MessageOutcome) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ outcome, done: (err) => (err ? reject(err) : resolve()) });
      writing ??= write();
    });

  const handle = async (m: MessageRow): Promise<void> => {
    try {
      const outcome = await deliverMessage(deps, cache, m);
      await record(outcome);
    } catch (err) {
      // A fault of ours (database gone, a bug): the lease runs out and the row is tried again.
      ctx.logger.error({ err, messageId: m.id }, 'delivery of a message failed inside the worker');
    }
  };

  const round = async (): Promise<number> => {
    exhausted = false;
    let handled = 0;
    const lane = async () => {
      for (let m = await next(); m; m = await next()) {
        await handle(m);
        handled++;
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, lane));
    return handled;
  };

  const loop = async () => {
    while (!stopped) {
      const n = await round().catch((err: unknown) => {
        ctx.logger.error({ err }, 'delivery worker round failed; retrying');
        return 0;
      });
      if (n === 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.pollMs);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wakeUp = null;
      }
    }
  };

  return {
    async drain() {
      let total = 0;
      for (let n = await round(); n > 0; n = await round()) total += n;
      return total;
    },
    start() {
      running ??= loop();
    },
    wake() {
      wakeUp?.();
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await running;
      // Claimed but never started: hand them back at once rather than when their lease ends.
      const left = buffer;
      buffer = [];
      if (left.length > 0) {
        await recordOutcomes(ctx.db, opts.owner, ctx.clock.now(), left.map((m) => ({ id: m.id, status: m.attempts > 0 ? 'deferred' : 'queued', dueAt: ctx.clock.now(), attempted: false, history: null })));
      }
    },
  };
}
