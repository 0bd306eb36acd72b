import type { WooShopDb, WooStorage } from '../adapters/store/woocommerce-db.ts';
import { deleteBackfillCursor, saveBackfillCursor, selectBackfillCursor } from '../db/queries/backfill-cursors.ts';
import type { ServiceContext } from './context.ts';
import { recordOrders } from './store-data.ts';
import { countStored, emptyTally, sortMapped, type BackfillHooks, type BackfillReport } from './woocommerce-backfill.ts';

// The database backfill: orders read straight from the shop's tables in pages of increasing id,
// each page stored before the cursor (the last order id) moves past it. Products and customers
// come with the orders (line items name their products; billing details their customer).

/** Where a database backfill stands, as saved in backfill_cursors after every stored page. */
export interface DbCursor {
  storage: WooStorage;
  /** The highest order id stored ("0": none yet). */
  lastId: string;
  /** Set when a run read to the end; a later run then reads only orders with higher ids. */
  finishedAt?: number;
}

export interface DbBackfillOptions {
  /** `auto` asks the shop's own setting (and its tables) which storage holds the orders. */
  storage?: WooStorage | 'auto';
  /** Forget the cursor and read every order again. */
  restart?: boolean;
  /** Orders per page (default 500). */
  batchSize?: number;
  /** Stops after the page being stored (Ctrl-C); the cursor keeps the place. */
  signal?: AbortSignal;
}

/** The storage used and why, next to the usual report. */
export interface DbBackfillReport extends BackfillReport {
  storage: WooStorage;
  storageReason: string;
}

/** Reads the shop's orders from its database (read-only) and stores them; resumable by order id. */
export async function backfillWooDb(ctx: ServiceContext, shop: WooShopDb, opts: DbBackfillOptions = {}, hooks: BackfillHooks = {}): Promise<DbBackfillReport> {
  const name = `woocommerce-db:${shop.label}/${shop.prefix}`;
  if (opts.restart) await deleteBackfillCursor(ctx.db, { name });
  const choice = !opts.storage || opts.storage === 'auto' ? await shop.detectStorage() : { storage: opts.storage, reason: 'chosen with --storage' };
  const saved = await selectBackfillCursor<DbCursor>(ctx.db, { name });
  // Order ids are the same in both storages (an HPOS id is the post ID), so a cursor survives a switch.
  let cursor: DbCursor = { storage: choice.storage, lastId: saved?.lastId ?? '0' };
  const startedFrom = !saved ? 'start' : saved.finishedAt ? `new orders after id ${saved.lastId} (use --restart to read everything)` : `resumed after order id ${saved.lastId}`;
  const report: DbBackfillReport = { cursor: name, startedFrom, tallies: {}, problems: [], complete: false, storage: choice.storage, storageReason: choice.reason };
  const tally = (report.tallies.orders = emptyTally());
  const batchSize = opts.batchSize ?? 500;
  try {
    const remaining = await shop.countOrders(choice.storage, cursor.lastId);
    hooks.onResource?.('orders', remaining);
    let done = 0;
    for (;;) {
      if (opts.signal?.aborted) return report;
      const batch = await shop.readOrders(choice.storage, cursor.lastId, batchSize);
      if (!batch) break;
      const good = sortMapped(report, tally, batch.results.map((r) => r.mapped));
      if (good.length) countStored(report, tally, await recordOrders(ctx, good), (i) => `order ${good[i]?.externalId}`);
      cursor = { storage: choice.storage, lastId: batch.lastId };
      await saveBackfillCursor(ctx.db, { name, state: cursor, updatedAt: ctx.clock.now() });
      done += batch.results.length;
      hooks.onProgress?.({ resource: 'orders', done, total: remaining });
    }
    await saveBackfillCursor(ctx.db, { name, state: { ...cursor, finishedAt: ctx.clock.now() }, updatedAt: ctx.clock.now() });
    report.complete = true;
  } catch (err) {
    report.error = err as Error;
  }
  return report;
}
