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
 * Writes a group of hits in one transaction: flags machines (by the time since the send, looked up
 * here), and skips contacts erased since the mail went out (the reader was redirected all the
 * same, but nothing is recorded about a person Chapar no longer knows).
 */
export async function writeTrackingHits(db: Db, detector: MachineDetector, batch: readonly TrackingHit[]): Promise<void> {
  await inTransaction(db, async (tx) => {
    const facts = await selectTrackingFacts(tx, [...new Set(batch.map((h) => h.ref))], [...new Set(batch.map((h) => h.contactId))]);
    const rows: Omit<EventRecord, 'id'>[] = [];
    for (const h of batch) {
      if (!facts.contacts.has(h.contactId)) continue;
      const sentAt = facts.sentAt.get(h.ref);
      const machine = detector.detect({ kind: h.kind, ip: h.ip, userAgent: h.userAgent, msSinceSend: sentAt === undefined ? null : h.at - sentAt });
      rows.push({ type: `email_${h.kind}`, contactId: h.contactId, messageRef: h.ref, properties: h.url ? { url: h.url } : {}, ip: h.ip, userAgent: h.userAgent, occurredAt: h.at, source: 'tracking', sourceEventId: null, reason: null, machine });
    }
    await insertEvents(tx, rows);
  });
}
