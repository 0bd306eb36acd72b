import { selectSegmentByKey } from '../db/queries/segments.ts';
import { DEFAULT_ABANDONED_CART_VALUE, segmentPresets } from '../domain/segment-presets.ts';
import { invalid } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { changeSegment, createSegment } from './segments.ts';
import { getStoreSettings } from './store-settings.ts';

/**
 * Installs the brief's preset segments: creates those missing, and gives an existing one a new
 * version when its definition differs (a new threshold). Each is materialised.
 */
export async function installSegmentPresets(ctx: ServiceContext, opts: { abandonedCartValue?: number } = {}) {
  const value = opts.abandonedCartValue ?? DEFAULT_ABANDONED_CART_VALUE;
  if (!(Number.isFinite(value) && value >= 0)) throw invalid('abandonedCartValue', 'must be a number, 0 or more');
  const { defaultCurrency } = await getStoreSettings(ctx);
  const installed: { key: string; status: 'created' | 'updated' | 'unchanged'; memberCount: number }[] = [];
  for (const p of segmentPresets({ abandonedCartValue: value, currency: defaultCurrency })) {
    const existing = await selectSegmentByKey(ctx.db, p.key);
    if (!existing) {
      const r = await createSegment(ctx, p);
      installed.push({ key: p.key, status: 'created', memberCount: r.segment.memberCount });
    } else if (canonicalJson(existing.definition) !== canonicalJson(p.definition) || existing.name !== p.name) {
      const r = await changeSegment(ctx, p.key, p);
      installed.push({ key: p.key, status: 'updated', memberCount: r.segment.memberCount });
    } else {
      installed.push({ key: p.key, status: 'unchanged', memberCount: existing.memberCount });
    }
  }
  return installed;
}

/** JSON with object keys sorted: PostgreSQL's JSONB hands keys back in its own order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}
