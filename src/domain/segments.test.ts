import { describe, expect, it } from 'vitest';
import { MAX_SEGMENT_CONDITIONS, MAX_SEGMENT_DEPTH, referencedSegments, segmentDataSources, segmentUsesRelativeTime, validateSegmentDefinition, type SegmentNode } from './segments.ts';
import { parseDuration, resolveDateRange } from './segment-dates.ts';
import { quintileOf, RFM_GROUPS, rfmGroupOf } from './rfm.ts';

const problems = (input: unknown) => {
  const r = validateSegmentDefinition(input);
  return r.ok ? [] : r.problems;
};
const paths = (input: unknown) => problems(input).map((p) => p.path);

describe('segment definitions', () => {
  it('accepts every condition kind', () => {
    const def: SegmentNode = {
      all: [
        { type: 'attribute', field: 'attributes.city', op: 'equals', value: 'Tehran' },
        { type: 'attribute', field: 'firstName', op: 'starts_with', value: 'Ar' },
        { type: 'attribute', field: 'createdAt', op: 'date', value: { within: '30d' } },
        { type: 'attribute', field: 'attributes.age', op: 'between', value: [18, 30] },
        { type: 'attribute', field: 'attributes.tier', op: 'in', value: ['gold', 'silver', 3, true] },
        { type: 'topic', topic: 'newsletter', status: 'subscribed' },
        { type: 'order_count', op: 'gte', value: 2, window: { within: '90d' } },
        { type: 'total_spent', op: 'between', value: [1000, 5000] },
        { type: 'last_order', date: { olderThan: '90d' } },
        { type: 'bought', category: 'shoes', window: { after: '2026-01-01T00:00:00Z' } },
        { type: 'cart', status: 'abandoned', value: { op: 'gt', value: 5_000_000 }, at: { within: '7d' } },
        { type: 'event', event: 'viewed_product', atLeast: 3, window: { within: '14d' }, properties: [{ name: 'price', op: 'gte', value: 100 }] },
        { not: { type: 'email', action: 'opened', window: { within: '90d' } } },
        { any: [{ type: 'rfm_group', groups: ['champions', 'loyal'] }, { type: 'rfm_score', score: 'monetary', op: 'gte', value: 4 }] },
        { type: 'segment', segment: 'vip' },
      ],
    };
    const r = validateSegmentDefinition(def);
    expect(r).toEqual({ ok: true, definition: def, conditions: 16 });
    expect(segmentUsesRelativeTime(def)).toBe(true);
    expect(referencedSegments(def)).toEqual(['vip']);
    expect([...segmentDataSources(def)].sort()).toEqual(['carts', 'contact_metrics', 'contacts', 'events', 'messages', 'orders', 'segment_members', 'subscriptions']);
  });

  it('reports every problem with its JSON path', () => {
    const p = problems({
      all: [
        { type: 'attribute', field: 'attributes.city', op: 'equals', value: 'Tehran' },
        { type: 'attribute', field: 'attributes.city', op: 'gt', value: 'x' },
        { any: [{ type: 'attribute', field: 'shoeSize', op: 'equals', value: 42 }, { type: 'nope' }] },
        { type: 'order_count', op: 'bigger', value: 1, extra: true },
        { type: 'cart', value: { op: 'gt' }, at: { within: '30 days' } },
        { type: 'event', properties: [{ name: 'bad name', op: 'in', value: [] }] },
        { type: 'rfm_group', groups: ['champions', 'kings'] },
        { all: [] },
        { not: 'x' },
      ],
    });
    expect(p).toEqual([
      { path: '/all/1/value', message: 'must be a number' },
      { path: '/all/2/any/0/field', message: expect.stringContaining('is not a known field') },
      { path: '/all/2/any/1/type', message: expect.stringContaining('must be one of attribute, topic') },
      { path: '/all/3/extra', message: expect.stringContaining('is not a known field of a order_count condition') },
      { path: '/all/3/op', message: expect.stringContaining('must be one of equals') },
      { path: '/all/4/value/value', message: 'is required' },
      { path: '/all/4/at/within', message: expect.stringContaining('duration') },
      { path: '/all/5/event', message: 'is required' },
      { path: '/all/5/properties/0/name', message: expect.any(String) },
      { path: '/all/5/properties/0/value', message: 'must be an array of 1 to 100 values' },
      { path: '/all/6/groups/1', message: expect.stringContaining('champions') },
      { path: '/all/7/all', message: 'must be a non-empty array of conditions' },
      { path: '/all/8/not', message: expect.stringContaining('must be an object') },
    ]);
  });

  it('checks value types per operator and field kind', () => {
    expect(paths({ type: 'attribute', field: 'firstName', op: 'gt', value: 3 })).toEqual(['/op']);
    expect(paths({ type: 'attribute', field: 'createdAt', op: 'equals', value: 'x' })).toEqual(['/op']);
    expect(paths({ type: 'attribute', field: 'attributes.x', op: 'exists', value: 1 })).toEqual(['/value']);
    expect(paths({ type: 'attribute', field: 'attributes.x', op: 'between', value: [5, 1] })).toEqual(['/value']);
    expect(paths({ type: 'attribute', field: 'attributes.x', op: 'date', value: { before: '2026-01-01' } })).toEqual(['/value/before']);
    expect(paths({ type: 'attribute', field: 'attributes.x', op: 'date', value: {} })).toEqual(['/value']);
    expect(paths({ type: 'attribute', field: 'attributes.x', op: 'equals', value: { a: 1 } })).toEqual(['/value']);
    expect(paths({ type: 'attribute', field: 'attributes.1x', op: 'exists' })).toEqual(['/field']);
    expect(paths({ type: 'attribute', field: 'constructor', op: 'exists' })).toEqual(['/field']);
    expect(paths({ type: 'bought', sku: 'A', category: 'B' })).toEqual(['']);
    expect(paths({ type: 'email', action: 'opened', did: 'no', campaignId: -1 })).toEqual(['/did', '/campaignId']);
    expect(paths({ type: 'topic', topic: 'News Letter', status: 'maybe' })).toEqual(['/topic', '/status']);
    expect(paths({ all: [{ type: 'segment', segment: 'vip' }], any: [] })).toEqual(['/any']);
    expect(paths(null)).toEqual(['']);
    expect(paths([])).toEqual(['']);
  });

  it('refuses a tree deeper than the limit, naming where', () => {
    let deep: SegmentNode = { type: 'order_count', op: 'gte', value: 1 };
    for (let i = 0; i < MAX_SEGMENT_DEPTH - 1; i++) deep = { all: [deep] };
    expect(validateSegmentDefinition(deep).ok).toBe(true);
    const tooDeep = { all: [deep] };
    expect(paths(tooDeep)).toEqual([`${'/all/0'.repeat(MAX_SEGMENT_DEPTH - 1)}/all`]);
    // A hostile 10,000-level body is refused without walking all of it.
    let hostile: unknown = { type: 'order_count', op: 'gte', value: 1 };
    for (let i = 0; i < 10_000; i++) hostile = { not: hostile };
    expect(problems(hostile)).toHaveLength(1);
  });

  it('refuses more conditions than the limit', () => {
    const many = { any: Array.from({ length: MAX_SEGMENT_CONDITIONS + 1 }, () => ({ type: 'order_count', op: 'gte', value: 1 })) };
    expect(problems(many)).toEqual([{ path: '', message: `holds ${MAX_SEGMENT_CONDITIONS + 1} conditions; at most ${MAX_SEGMENT_CONDITIONS} are allowed` }]);
  });

  it('sees relative windows only where they are', () => {
    expect(segmentUsesRelativeTime({ type: 'order_count', op: 'gte', value: 1 })).toBe(false);
    expect(segmentUsesRelativeTime({ type: 'last_order', date: { after: '2026-01-01T00:00:00Z' } })).toBe(false);
    expect(segmentUsesRelativeTime({ not: { type: 'cart', at: { olderThan: '1h' } } })).toBe(true);
  });
});

describe('segment time windows', () => {
  it('parses durations and resolves windows against now', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['0d', '30', 'd', '30m', '-1d', '3651d', 30]) expect(parseDuration(bad)).toBeNull();
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(resolveDateRange({ within: '1d' }, now)).toEqual({ from: now - 86_400_000, to: undefined });
    expect(resolveDateRange({ olderThan: '1d', after: '2026-01-01T00:00:00Z' }, now)).toEqual({ from: Date.parse('2026-01-01T00:00:00Z'), to: now - 86_400_000 });
    expect(resolveDateRange({ within: '30d', after: '2026-11-26T00:00:00+03:30' }, now)).toEqual({ from: Date.parse('2026-11-25T20:30:00Z'), to: undefined });
  });
});

describe('RFM', () => {
  it('names every R×F cell, with the corners as the standard grid has them', () => {
    const seen = new Set<string>();
    for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) seen.add(rfmGroupOf(r, f));
    expect([...seen].sort()).toEqual([...RFM_GROUPS].sort());
    expect(rfmGroupOf(5, 5)).toBe('champions');
    expect(rfmGroupOf(5, 1)).toBe('new');
    expect(rfmGroupOf(4, 1)).toBe('promising');
    expect(rfmGroupOf(1, 5)).toBe('cant_lose');
    expect(rfmGroupOf(1, 1)).toBe('lost');
    expect(rfmGroupOf(2, 2)).toBe('hibernating');
    expect(rfmGroupOf(3, 3)).toBe('need_attention');
    expect(() => rfmGroupOf(0, 3)).toThrow(RangeError);
  });

  it('scores quintiles by rank, ties sharing a score', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((rank) => quintileOf(rank, 10))).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(quintileOf(1, 1)).toBe(1);
    // Six of ten tied at the lowest value all get 1; the next value starts at rank 7.
    expect(quintileOf(7, 10)).toBe(4);
  });
});
