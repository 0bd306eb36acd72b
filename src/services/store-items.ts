import type { Db } from '../db/database.ts';
import { insertStubProducts, selectProductIds, selectProductIdsBySku } from '../db/queries/products.ts';
import type { CheckedItem } from '../domain/store-checks.ts';

/** An order or cart line with the product it names, once that product is known or stubbed. */
export interface ResolvedItem extends CheckedItem {
  productId: number | null;
}

/**
 * Finds the products an order's or cart's lines name at their source, inside the caller's
 * transaction: by the product's external id, creating a stub (`is_stub = 1`, from the line's name,
 * SKU and price) for an id not seen yet, so the purchase is kept and the product filled in when
 * its own record arrives; a line with only a SKU is matched by SKU and otherwise left without a
 * product. Returns the lines with their product ids and how many stubs were made.
 */
export async function resolveItemProducts(tx: Db, source: string, currency: string | null, items: readonly CheckedItem[], now: number): Promise<{ items: ResolvedItem[]; stubs: number }> {
  const ids = [...new Set(items.flatMap((i) => (i.productExternalId ? [i.productExternalId] : [])))];
  let known = await selectProductIds(tx, source, ids);
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length > 0) {
    const first = new Map<string, CheckedItem>();
    for (const it of items) if (it.productExternalId && !first.has(it.productExternalId)) first.set(it.productExternalId, it);
    await insertStubProducts(
      tx,
      missing.map((externalId) => {
        const it = first.get(externalId)!;
        return { source, externalId, sku: it.sku, name: it.name, price: it.price, currency, categories: it.categories };
      }),
      now,
    );
    known = await selectProductIds(tx, source, ids);
  }
  const skus = [...new Set(items.flatMap((i) => (!i.productExternalId && i.sku ? [i.sku] : [])))];
  const bySku = skus.length > 0 ? await selectProductIdsBySku(tx, source, skus) : new Map<string, number>();
  const resolved = items.map((it) => ({ ...it, productId: (it.productExternalId ? known.get(it.productExternalId) : it.sku ? bySku.get(it.sku) : undefined) ?? null }));
  return { items: resolved, stubs: missing.length };
}
