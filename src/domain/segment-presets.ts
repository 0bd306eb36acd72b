import type { SegmentNode } from './segments.ts';

// The three example segments of the product brief, shipped as presets that an operator installs
// with one call (POST /api/v1/segments/presets) and may then edit like any segment.

/** Parameters of the presets. */
export interface PresetOptions {
  /** The abandoned-cart threshold, in the store's currency (default 5,000,000: toman for an Iranian store). */
  abandonedCartValue: number;
  /** The store's currency, for the preset's name only (cart values are stored in it). */
  currency: string;
}

/** The default abandoned-cart threshold. */
export const DEFAULT_ABANDONED_CART_VALUE = 5_000_000;

/** The preset segments: key, name and definition. */
export function segmentPresets(o: PresetOptions): { key: string; name: string; definition: SegmentNode }[] {
  return [
    {
      key: 'high-clv-recent',
      // High CLV = the top fifth of buyers by money spent (RFM monetary 5), so it fits any store's prices.
      name: 'High CLV, bought in the last 30 days',
      definition: { all: [{ type: 'rfm_score', score: 'monetary', op: 'gte', value: 5 }, { type: 'last_order', date: { within: '30d' } }] },
    },
    {
      key: 'one-time-lapsed',
      name: 'One-time buyers with no purchase in 90 days',
      definition: { all: [{ type: 'order_count', op: 'equals', value: 1 }, { type: 'last_order', date: { olderThan: '90d' } }] },
    },
    {
      key: 'abandoned-cart-high',
      name: `Abandoned carts worth more than ${o.abandonedCartValue.toLocaleString('en-US')} ${o.currency}`,
      definition: { type: 'cart', status: 'abandoned', value: { op: 'gt', value: o.abandonedCartValue } },
    },
  ];
}
