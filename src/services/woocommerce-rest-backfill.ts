import type { WooRestClient } from '../adapters/store/woocommerce-rest.ts';
import { mapRestCustomer, mapRestOrder, mapRestProduct } from '../adapters/store/woocommerce-rest-mapping.ts';
import { deleteBackfillCursor, saveBackfillCursor, selectBackfillCursor } from '../db/queries/backfill-cursors.ts';
import type { ServiceContext } from './context.ts';
import { recordCustomers, recordOrders, recordProducts } from './store-data.ts';
import { countStored, emptyTally, sortMapped, type BackfillHooks, type BackfillReport, type BackfillResource } from './woocommerce-backfill.ts';

// The REST backfill: products, then customers, then orders, 100 to a page sorted by id, each page
// stored before the cursor moves past it. A stopped run resumes at the page after the last stored
// one; a finished run's next run reads only what changed since it started.

/** Where a REST backfill stands, as saved in backfill_cursors after every stored page. */
export interface RestCursor {
  /** The resource being read, or `done`. */
  phase: BackfillResource | 'done';
  /** The last page of `phase` that was stored (0: none yet). */
  page: number;
  /** This run's `modified_after` filter (ISO, UTC), or null for a full read. */
  modifiedAfter: string | null;
  /** When this run started (ISO, UTC): the next run's `modified_after`. */
  runStartedAt: string;
}

export interface RestBackfillOptions {
  /** Forget the cursor and read everything again. */
  restart?: boolean;
  /** Records per page (WooCommerce caps it at 100). */
  perPage?: number;
  /** Stops after the page being stored (Ctrl-C); the cursor keeps the place. */
  signal?: AbortSignal;
}

const ORDER: BackfillResource[] = ['products', 'customers', 'orders'];
// The shop's clock and ours differ; an hour of overlap re-reads a few records rather than missing any.
const CLOCK_SLACK_MS = 60 * 60 * 1000;

/** Reads the shop's products, customers and orders through the REST API and stores them; resumable. */
export async function backfillWooRest(ctx: ServiceContext, client: WooRestClient, opts: RestBackfillOptions = {}, hooks: BackfillHooks = {}): Promise<BackfillReport> {
  const name = `woocommerce-rest:${client.siteUrl}`;
  if (opts.restart) await deleteBackfillCursor(ctx.db, { name });
  const saved = await selectBackfillCursor<RestCursor>(ctx.db, { name });
  const nowIso = new Date(ctx.clock.now()).toISOString().slice(0, 19);
  let cursor: RestCursor;
  let startedFrom: string;
  if (!saved) {
    cursor = { phase: 'products', page: 0, modifiedAfter: null, runStartedAt: nowIso };
    startedFrom = 'start';
  } else if (saved.phase === 'done') {
    const since = new Date(Date.parse(`${saved.runStartedAt}Z`) - CLOCK_SLACK_MS).toISOString().slice(0, 19);
    cursor = { phase: 'products', page: 0, modifiedAfter: since, runStartedAt: nowIso };
    startedFrom = `new and changed since ${since}Z (use --restart to read everything)`;
  } else {
    cursor = saved;
    startedFrom = `resumed at ${saved.phase} page ${saved.page + 1}`;
  }
  const report: BackfillReport = { cursor: name, startedFrom, tallies: {}, problems: [], complete: false };
  const perPage = opts.perPage ?? 100;
  try {
    const from = cursor.phase as BackfillResource;
    for (const resource of ORDER.slice(ORDER.indexOf(from))) {
      // WooCommerce cannot filter customers by modification time; changed customers arrive with their orders.
      if (resource === 'customers' && cursor.modifiedAfter) continue;
      report.tallies[resource] = emptyTally();
      let page = cursor.phase === resource ? cursor.page : 0;
      for (let first = true; ; first = false) {
        if (opts.signal?.aborted) return report;
        const result = await client.fetchPage(resource, { page: page + 1, perPage, ...(cursor.modifiedAfter ? { modifiedAfter: cursor.modifiedAfter } : {}) });
        if (first) hooks.onResource?.(resource, result.total);
        if (result.items.length > 0) await storePage(ctx, report, resource, result.items);
        page++;
        const last = result.items.length === 0 || (result.totalPages !== undefined ? page >= result.totalPages : result.items.length < perPage);
        // After a resource's last page the cursor moves to the next one, so a rerun never asks for a page past the end.
        cursor = last ? { ...cursor, phase: nextPhase(resource), page: 0 } : { ...cursor, phase: resource, page };
        await saveBackfillCursor(ctx.db, { name, state: cursor, updatedAt: ctx.clock.now() });
        // Pages stored by an earlier run count as done, so a resumed run's progress starts where it stands.
        const done = (page - 1) * perPage + result.items.length;
        hooks.onProgress?.({ resource, done: result.total !== undefined ? Math.min(done, result.total) : done, total: result.total, page, totalPages: result.totalPages });
        if (last) break;
      }
    }
    report.complete = true;
  } catch (err) {
    report.error = err as Error;
  }
  return report;
}

function nextPhase(resource: BackfillResource): RestCursor['phase'] {
  return ORDER[ORDER.indexOf(resource) + 1] ?? 'done';
}

async function storePage(ctx: ServiceContext, report: BackfillReport, resource: BackfillResource, items: unknown[]): Promise<void> {
  const tally = report.tallies[resource]!;
  if (resource === 'products') {
    const good = sortMapped(report, tally, items.map((p) => mapRestProduct(p)));
    if (good.length) countStored(report, tally, await recordProducts(ctx, good), (i) => `product ${good[i]?.externalId}`);
  } else if (resource === 'customers') {
    const good = sortMapped(report, tally, items.map(mapRestCustomer));
    if (good.length) countStored(report, tally, await recordCustomers(ctx, good), (i) => `customer ${good[i]?.externalId}`);
  } else {
    const good = sortMapped(report, tally, items.map(mapRestOrder));
    if (good.length) countStored(report, tally, await recordOrders(ctx, good), (i) => `order ${good[i]?.externalId}`);
  }
}
