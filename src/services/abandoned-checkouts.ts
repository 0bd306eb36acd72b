import { DEFAULT_ABANDON_AFTER_MINUTES, loadWebhookSettings } from './connectors.ts';
import type { ServiceContext } from './context.ts';
import { markAbandonedCarts, type MarkAbandonedCartsResult } from './store-data.ts';

// Shopify has no "abandoned" event (formats.md §2): a checkout still without `completed_at` after
// the configured delay is abandoned. The serve process runs this every minute.

/** Marks open carts idle for longer than the Shopify connector's delay (default 60 minutes) abandoned. */
export async function sweepAbandonedCheckouts(ctx: ServiceContext): Promise<MarkAbandonedCartsResult> {
  const shopify = await loadWebhookSettings(ctx, 'shopify');
  const minutes = shopify?.abandonAfterMinutes ?? DEFAULT_ABANDON_AFTER_MINUTES;
  return markAbandonedCarts(ctx, { idleMs: minutes * 60_000 });
}
