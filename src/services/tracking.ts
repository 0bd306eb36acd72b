import { inTransaction } from '../db/database.ts';
import { insertEvents, selectTrackingFacts, type EventRecord } from '../db/queries/events.ts';
import { MachineDetector } from '../domain/machine-hits.ts';
import type { ServiceContext } from './context.ts';

/** Who made a request to a public endpoint (kept with the event; scanners are told apart from these). */
export interface Requester {
  ip: string | null;
  userAgent: string | null;
}

interface Hit {
  kind: 'opened' | 'clicked';
  contactId: number;
  ref: string;
  url: string | null;
  who: Requester;
  at: number;
}

/**
 * Records opens and clicks from the tracking endpoints. The reader is answered at once (redirect
 * or pixel) and hits are written in groups: one transaction per flush instead of one per request
 * is what lets the click endpoint keep up with a campaign's first minutes (bench:events). A hit
 * waits at most `flushMs` in memory; `close()` writes what is left, so a clean stop loses none.
 */
export class TrackingRecorder {
  private pending: Hit[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly detector = new MachineDetector(),
    private readonly flushMs = 25,
    private readonly maxBatch = 1000,
  ) {}

  /** A click on a tracked link: checks the signature and returns where to send the reader, or null for a forged link. */
  click(p: { contactId: string; ref: string; url: string; sig: string }, who: Requester): string | null {
    const target = this.ctx.composer.urls.verifyClick(p.contactId, p.ref, p.url, p.sig);
    if (target) this.add({ kind: 'clicked', contactId: Number(p.contactId), ref: p.ref, url: target, who: trimmed(who), at: this.ctx.clock.now() });
    return target;
  }

  /** An open-pixel load: recorded when the pixel URL is genuine. */
  open(p: { contactId: string; ref: string; sig: string }, who: Requester): boolean {
    if (!this.ctx.composer.urls.verifyMessageTag(p.contactId, p.ref, p.sig)) return false;
    this.add({ kind: 'opened', contactId: Number(p.contactId), ref: p.ref, url: null, who: trimmed(who), at: this.ctx.clock.now() });
    return true;
  }

  /** Writes every hit received so far. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    // Flushes run one after another, so events keep their order and a slow write is never raced.
    this.flushing = this.flushing.then(() => (batch.length > 0 ? this.write(batch) : undefined));
    return this.flushing;
  }

  /** Flushes and stops the timer; call before the database closes. */
  async close(): Promise<void> {
    await this.flush();
  }

  private add(hit: Hit): void {
    this.pending.push(hit);
    if (this.pending.length >= this.maxBatch) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.flushMs);
  }

  private async write(batch: Hit[]): Promise<void> {
    try {
      await inTransaction(this.ctx.db, async (tx) => {
        const facts = await selectTrackingFacts(tx, [...new Set(batch.map((h) => h.ref))], [...new Set(batch.map((h) => h.contactId))]);
        const rows: Omit<EventRecord, 'id'>[] = [];
        for (const h of batch) {
          // A contact erased after the mail went out still clicks old links; the reader is
          // redirected, but nothing is recorded about a person Chapar no longer knows.
          if (!facts.contacts.has(h.contactId)) continue;
          const sentAt = facts.sentAt.get(h.ref);
          const machine = this.detector.detect({ kind: h.kind, ip: h.who.ip, userAgent: h.who.userAgent, msSinceSend: sentAt === undefined ? null : h.at - sentAt });
          rows.push({ type: `email_${h.kind}`, contactId: h.contactId, messageRef: h.ref, properties: h.url ? { url: h.url } : {}, ip: h.who.ip, userAgent: h.who.userAgent, occurredAt: h.at, source: 'tracking', sourceEventId: null, reason: null, machine });
        }
        await insertEvents(tx, rows);
      });
    } catch (err) {
      // The readers were already answered; losing a batch of opens is better than failing their requests.
      this.ctx.logger.error({ err, hits: batch.length }, 'could not record tracking hits');
    }
  }
}

function trimmed(who: Requester): Requester {
  return { ip: who.ip, userAgent: who.userAgent === null ? null : who.userAgent.slice(0, 512) };
}
