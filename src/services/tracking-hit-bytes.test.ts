import { describe, expect, it } from 'vitest';
import { readTrackingHits, TrackingHitBytes } from './tracking-hit-bytes.ts';
import type { TrackingHit } from './tracking-writes.ts';

const hit = (over: Partial<TrackingHit> = {}): TrackingHit => ({
  kind: 'clicked', contactId: 42, ref: 'm1abc', url: 'https://shop.example/p/1?utm_source=chapar', ip: '203.0.113.9', userAgent: 'Mozilla/5.0', at: 1_795_000_000_123, ...over,
});

describe('tracking hits as bytes', () => {
  it('reads back exactly the hits written, in order: kinds, nulls, non-ASCII text, large ids and times', () => {
    const hits = [
      hit(),
      hit({ kind: 'opened', url: null, ip: null, userAgent: null }),
      hit({ url: 'https://فروشگاه.example/کفش?رنگ=قرمز', userAgent: 'Safari 🙂 (iPhone)', contactId: 999_999_999_999_999 }),
      hit({ ip: '2001:db8::1', userAgent: '', at: 0 }),
    ];
    const bytes = new TrackingHitBytes();
    for (const h of hits) bytes.push(h);
    expect(bytes.count).toBe(4);
    expect(readTrackingHits(bytes.take())).toEqual(hits);
  });

  it('grows past its first buffer and starts afresh after take()', () => {
    const bytes = new TrackingHitBytes(64);
    const many = Array.from({ length: 500 }, (_, i) => hit({ contactId: i + 1, url: `https://shop.example/p/${i}?${'x'.repeat(i % 300)}` }));
    for (const h of many) bytes.push(h);
    const first = bytes.take();
    expect(first.count).toBe(500);
    expect(readTrackingHits(first)).toEqual(many);
    expect(bytes.count).toBe(0);
    bytes.push(hit({ contactId: 7 }));
    expect(readTrackingHits(bytes.take())).toEqual([hit({ contactId: 7 })]);
  });

  it('hands over an ArrayBuffer of its own that survives being transferred, and refuses a batch cut short', () => {
    const bytes = new TrackingHitBytes();
    bytes.push(hit());
    const batch = bytes.take();
    bytes.push(hit({ contactId: 8 })); // reuses the buffer: the batch taken must not change
    const moved = structuredClone(batch, { transfer: [batch.bytes] });
    expect(readTrackingHits(moved)).toEqual([hit()]);
    const cut = { bytes: moved.bytes.slice(0, moved.bytes.byteLength - 5), count: 1 };
    expect(() => readTrackingHits(cut)).toThrow(/past the end/);
  });
});
