import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.ts';
import { createKeyring } from '../lib/secrets.ts';
import { TrackingUrls } from '../templates/tracking-urls.ts';
import type { ServiceContext } from './context.ts';
import { readTrackingHits, type TrackingHitBatch } from './tracking-hit-bytes.ts';
import { TrackingRecorder } from './tracking.ts';

// The recorder's grouping and its bound, with the writer replaced by one the test holds back.
describe('TrackingRecorder', () => {
  const REF = 'm0recorder0001';
  const urls = new TrackingUrls('https://mail.shop.example', createKeyring(Buffer.alloc(32, 7)));
  const who = { ip: '198.51.100.7', userAgent: 'Mozilla/5.0 (Macintosh)' };
  const linkParts = (contactId: number) => {
    const [, , contact, ref, url, sig] = new URL(urls.click(REF, contactId, 'https://shop.example/a')).pathname.split('/');
    return { contactId: contact!, ref: ref!, url: url!, sig: sig! };
  };

  function recorder(opts: { maxBatch?: number; maxWaiting?: number; flushMs?: number }) {
    const warnings: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const ctx = { clock: new ManualClock(), logger, composer: { urls } } as unknown as ServiceContext;
    const batches: TrackingHitBatch[] = [];
    let release: () => void = () => {};
    let held = Promise.resolve();
    const hold = () => {
      held = new Promise((r) => (release = r));
    };
    const rec = new TrackingRecorder(ctx, {
      ...opts,
      write: async (batch) => {
        batches.push(batch);
        await held;
      },
    });
    return { rec, batches, warnings, hold, release: () => release() };
  }

  it('writes a group when it is full, and what is left on flush, in order', async () => {
    const { rec, batches } = recorder({ maxBatch: 3, flushMs: 60_000 });
    for (let i = 1; i <= 4; i++) expect(rec.click(linkParts(i), who)).toBe('https://shop.example/a');
    await new Promise((r) => setImmediate(r));
    expect(batches.map((b) => b.count)).toEqual([3]);
    await rec.close();
    expect(batches.map((b) => b.count)).toEqual([3, 1]);
    expect(batches.flatMap((b) => readTrackingHits(b).map((h) => h.contactId))).toEqual([1, 2, 3, 4]);
  });

  it('drops hits beyond maxWaiting while the writer is behind, answers the readers all the same, and says how many', async () => {
    const { rec, batches, warnings, hold, release } = recorder({ maxBatch: 2, maxWaiting: 5, flushMs: 60_000 });
    hold();
    for (let i = 1; i <= 8; i++) expect(rec.click(linkParts(i), who)).toBe('https://shop.example/a');
    // Groups of 2 go to the writer, which holds the first: 5 hits wait (4 handed over, 1 pending), 3 are dropped.
    await new Promise((r) => setImmediate(r));
    expect(batches.map((b) => b.count)).toEqual([2]);
    release();
    await rec.close();
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(5);
    expect(batches.flatMap((b) => readTrackingHits(b).map((h) => h.contactId))).toEqual([1, 2, 3, 4, 5]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ dropped: 3, msg: 'tracking hits dropped: the database writer is behind' });
    // Once the writer has caught up, hits are recorded again.
    expect(rec.click(linkParts(9), who)).toBe('https://shop.example/a');
    await rec.flush();
    expect(readTrackingHits(batches.at(-1)!).map((h) => h.contactId)).toEqual([9]);
  });

  it('does not record a forged click, or a HEAD request', async () => {
    const { rec, batches } = recorder({});
    expect(rec.click({ ...linkParts(1), sig: linkParts(2).sig }, who)).toBeNull();
    expect(rec.click(linkParts(1), who, false)).toBe('https://shop.example/a');
    await rec.close();
    expect(batches).toEqual([]);
  });
});
