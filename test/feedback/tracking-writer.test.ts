import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { TrackingHitBytes } from '../../src/services/tracking-hit-bytes.ts';
import type { TrackingHit } from '../../src/services/tracking-writes.ts';
import { createTrackingThread } from '../../src/workers/tracking-writer.ts';

// The writer thread on an SQLite file (what `chapar serve` uses): its connection leaves the
// foreign key to its own per-contact check, so a hit for a contact that no longer exists must be
// skipped without failing the group, and never stored as an orphan.
describe('tracking writer thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chapar-tracking-writer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores the hits of existing contacts and skips, without failing the group, those of a contact that is gone', async () => {
    const url = join(dir, 'chapar.db');
    const db = openDatabase({ url });
    await migrateToLatest(db);
    const now = Date.parse('2026-11-27T10:00:00Z');
    const contact = db.sqlite!.prepare('INSERT INTO contacts (email, email_key, email_domain, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
    const kept = Number(contact.run('sara@example.com', 'sara@example.com', 'example.com', now, now).lastInsertRowid);
    const erased = Number(contact.run('omid@example.com', 'omid@example.com', 'example.com', now, now).lastInsertRowid);
    db.sqlite!.prepare('DELETE FROM contacts WHERE id = ?').run(erased);

    const hit = (contactId: number, kind: TrackingHit['kind'], at: number): TrackingHit => ({ kind, contactId, ref: 'm0writer0001', url: kind === 'clicked' ? 'https://shop.example/p/1' : null, ip: '203.0.113.7', userAgent: 'Mozilla/5.0', at });
    const bytes = new TrackingHitBytes();
    for (const h of [hit(kept, 'opened', now + 1), hit(erased, 'clicked', now + 2), hit(999_999, 'clicked', now + 3), hit(kept, 'clicked', now + 4)]) bytes.push(h);
    const writer = createTrackingThread(url);
    try {
      await writer.write(bytes.take());
    } finally {
      await writer.close();
    }
    const rows = db.sqlite!.prepare('SELECT type, contact_id AS contactId, properties FROM events ORDER BY id').all();
    expect(rows).toEqual([
      { type: 'email_opened', contactId: kept, properties: '{}' },
      { type: 'email_clicked', contactId: kept, properties: '{"url":"https://shop.example/p/1"}' },
    ]);
    expect(db.sqlite!.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
    await db.close();
  });
});
