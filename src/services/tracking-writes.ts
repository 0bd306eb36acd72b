import { inTransaction, type Db } from '../db/database.ts';
import { insertEvents, selectTrackingFacts, type EventRecord } from '../db/queries/events.ts';
import type { MachineDetector } from '../domain/machine-hits.ts';

/** One open or click as the endpoint saw it, waiting to be written. */
export interface TrackingHit {
  kind: 'opened' | 'clicked';
  contactId: number;
  ref: string;
  url: string | null;
  ip: string | null;
  userAgent: string | null;
  at: number;
}

/**
 * When messages were sent, by ref, kept between groups: a campaign's opens and clicks name the same
 * messages group after group, and a sent message's time never changes (a message not yet sent is
 * not kept). Bounded: emptied when full.
 */
export class SentTimes {
  private readonly known = new Map<string, number>();
  constructor(private readonly max = 50_000) {}

  get(ref: string): number | undefined {
    return this.known.get(ref);
  }

  remember(times: ReadonlyMap<string, number>): void {
    if (this.known.size + times.size > this.max) this.known.clear();
    for (const [ref, at] of times) this.known.set(ref, at);
  }
}

/**
 * Writes a group of hits in one transaction: flags machines (by the time since the send, looked up
 * here or remembered in `sent`), and skips contacts erased since the mail went out (the reader was
 * redirected all the same, but nothing is recorded about a person Chapar no longer knows).
 */
export async function writeTrackingHits(db: Db, detector: MachineDetector, batch: readonly TrackingHit[], sent = new SentTimes()): Promise<void> {
  await inTransaction(db, async (tx) => {
    const unknown = new Set<string>();
    for (const h of batch) if (sent.get(h.ref) === undefined) unknown.add(h.ref);
    const facts = await selectTrackingFacts(tx, [...unknown], [...new Set(batch.map((h) => h.contactId))]);
    sent.remember(facts.sentAt);
    const rows: Omit<EventRecord, 'id'>[] = [];
    for (const h of batch) {
      if (!facts.contacts.has(h.contactId)) continue;
      const sentAt = sent.get(h.ref);
      const machine = detector.detect({ kind: h.kind, ip: h.ip, userAgent: h.userAgent, msSinceSend: sentAt === undefined ? null : h.at - sentAt });
      rows.push({ type: `email_${h.kind}`, contactId: h.contactId, messageRef: h.ref, properties: h.url ? { url: h.url } : {}, ip: h.ip, userAgent: h.userAgent, occurredAt: h.at, source: 'tracking', sourceEventId: null, reason: null, machine });
    }
    await insertEvents(tx, rows);
  });
}
