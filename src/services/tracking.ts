import { MachineDetector } from '../domain/machine-hits.ts';
import type { ServiceContext } from './context.ts';
import { readTrackingHits, TrackingHitBytes, type TrackingHitBatch } from './tracking-hit-bytes.ts';
import { SentTimes, writeTrackingHits, type TrackingHit } from './tracking-writes.ts';

/** Who made a request to a public endpoint (kept with the event; scanners are told apart from these). */
export interface Requester {
  ip: string | null;
  userAgent: string | null;
}

/** Where groups of hits go: by default this thread's database handle; on SQLite, a writer thread (workers/tracking-writer). */
export type WriteHits = (batch: TrackingHitBatch) => Promise<void>;

/**
 * Records opens and clicks from the tracking endpoints. The reader is answered at once (redirect
 * or pixel) and hits are written in groups: one transaction per flush instead of one per request
 * is what lets the click endpoint keep up with a campaign's first minutes (bench:events). A hit
 * waits at most `flushMs` in memory; `close()` writes what is left, so a clean stop loses none.
 * Groups of a quarter of a second (at most 5,000 hits): events land at random places in the
 * contact index, and the larger the group, the more of them share an index page written once at
 * the commit, which is most of a hit's cost. In bench:events' click run the writer thread took
 * 12–14 µs a click in groups of a tenth of a second (2,000), 9–11 µs in groups of a quarter, and
 * 10–13 µs in groups of a second, whose longer bursts of work also raised the click's p99 from
 * 5–10 ms to 16–37 ms on two cores. The writer's time matters twice: it also slows the thread
 * that answers readers, which shares the machine's cores, memory and caches with it.
 *
 * If the writer falls behind by more than `maxWaiting` hits (a database stalled for minutes under
 * a campaign's clicks), new hits are dropped and counted rather than held without bound: readers
 * are still answered, and the log says how many were not recorded.
 */
export class TrackingRecorder {
  private pending = new TrackingHitBytes();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly writeHits: WriteHits;
  /** Hits handed to the writer and not yet written. */
  private writing = 0;
  /** Hits dropped since the last warning (the writer was `maxWaiting` behind). */
  private dropped = 0;
  private lastDropWarning = -Infinity;

  constructor(
    private readonly ctx: ServiceContext,
    opts: { write?: WriteHits; detector?: MachineDetector; flushMs?: number; maxBatch?: number; maxWaiting?: number } = {},
  ) {
    const detector = opts.detector ?? new MachineDetector();
    const sent = new SentTimes();
    this.writeHits = opts.write ?? ((batch) => writeTrackingHits(ctx.db, detector, readTrackingHits(batch), sent));
    this.flushMs = opts.flushMs ?? 250;
    this.maxBatch = opts.maxBatch ?? 5000;
    this.maxWaiting = opts.maxWaiting ?? 200_000;
  }

  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly maxWaiting: number;

  /**
   * A click on a tracked link: checks the signature and returns where to send the reader, or null
   * for a forged link. `record: false` answers without recording (a HEAD request: a link checker
   * asking what is there, not a reader following the link).
   */
  click(p: { contactId: string; ref: string; url: string; sig: string }, who: Requester, record = true): string | null {
    const target = this.ctx.composer.urls.verifyClick(p.contactId, p.ref, p.url, p.sig);
    if (target && record) this.add('clicked', p.contactId, p.ref, target, who);
    return target;
  }

  /** An open-pixel load: recorded when the pixel URL is genuine (and `record` is not false, as for `click`). */
  open(p: { contactId: string; ref: string; sig: string }, who: Requester, record = true): boolean {
    if (!this.ctx.composer.urls.verifyMessageTag(p.contactId, p.ref, p.sig)) return false;
    if (record) this.add('opened', p.contactId, p.ref, null, who);
    return true;
  }

  /** Writes every hit received so far. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending.take();
    this.writing += batch.count;
    // Flushes run one after another, so events keep their order and a slow write is never raced.
    this.flushing = this.flushing.then(() => (batch.count > 0 ? this.write(batch) : undefined)).finally(() => {
      this.writing -= batch.count;
    });
    this.warnDropped();
    return this.flushing;
  }

  /** Flushes and stops the timer; call before the database closes. */
  async close(): Promise<void> {
    await this.flush();
    this.warnDropped(true);
  }

  private add(kind: TrackingHit['kind'], contactId: string, ref: string, url: string | null, who: Requester): void {
    if (this.writing + this.pending.count >= this.maxWaiting) {
      this.dropped++;
      return;
    }
    this.pending.push({ kind, contactId: Number(contactId), ref, url, ip: who.ip, userAgent: who.userAgent === null ? null : who.userAgent.slice(0, 512), at: this.ctx.clock.now() });
    if (this.pending.count >= this.maxBatch) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Says how many hits were dropped, at most once a minute while it goes on. */
  private warnDropped(now = false): void {
    const at = this.ctx.clock.now();
    if (this.dropped === 0 || (!now && at - this.lastDropWarning < 60_000)) return;
    this.ctx.logger.warn({ dropped: this.dropped, waiting: this.writing }, 'tracking hits dropped: the database writer is behind');
    this.dropped = 0;
    this.lastDropWarning = at;
  }

  private async write(batch: TrackingHitBatch): Promise<void> {
    try {
      await this.writeHits(batch);
    } catch (err) {
      // The readers were already answered; losing a group of opens is better than failing their requests.
      this.ctx.logger.error({ err, hits: batch.count }, 'could not record tracking hits');
    }
  }
}
