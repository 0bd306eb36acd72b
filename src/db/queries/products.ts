import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';

/** A product as stored, in the shape the API returns it (times in epoch ms). */
export interface ProductRecord {
  id: number;
  source: string;
  externalId: string;
  sku: string | null;
  name: string;
  url: string | null;
  imageUrl: string | null;
  price: number | null;
  currency: string | null;
  categories: string[];
  inStock: boolean | null;
  isStub: boolean;
  sourceUpdatedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What an upsert writes: every column a source sends. */
export type ProductWrite = Omit<ProductRecord, 'id' | 'isStub' | 'createdAt' | 'updatedAt'>;

function toRecord(r: Record<string, unknown>): ProductRecord {
  const row = r as unknown as Omit<ProductRecord, 'categories' | 'inStock' | 'isStub'> & { categories: unknown; inStock: number | null; isStub: number };
  return { ...row, categories: fromJsonColumn<string[]>(row.categories), inStock: row.inStock === null ? null : row.inStock === 1, isStub: row.isStub === 1 };
}

/** Reads the ids of the products of one source with these external ids: external id → id. */
export async function selectProductIds(db: Db, source: string, externalIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < externalIds.length; i += 500) {
    const rows = await db.k.selectFrom('products').select(['id', 'externalId']).where('source', '=', source).where('externalId', 'in', externalIds.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.externalId, r.id);
  }
  return out;
}

/** Reads the ids of the products of one source with these SKUs (the lowest id when a SKU repeats): sku → id. */
export async function selectProductIdsBySku(db: Db, source: string, skus: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < skus.length; i += 500) {
    const rows = await db.k.selectFrom('products').select(['id', 'sku']).where('source', '=', source).where('sku', 'in', skus.slice(i, i + 500)).orderBy('id', 'desc').execute();
    for (const r of rows) out.set(r.sku!, r.id);
  }
  return out;
}

/** Inserts stub products (an order named a product not seen yet); existing ones are left alone. Changes `products`. */
export async function insertStubProducts(db: Db, rows: readonly Omit<ProductWrite, 'url' | 'imageUrl' | 'inStock' | 'sourceUpdatedAt'>[], now: number): Promise<void> {
  if (rows.length === 0) return;
  await db.k
    .insertInto('products')
    .values(rows.map((r) => ({ ...r, categories: toJsonColumn(r.categories), isStub: 1, createdAt: now, updatedAt: now })))
    .onConflict((oc) => oc.columns(['source', 'externalId']).doNothing())
    .execute();
}

/**
 * Inserts or updates one product by (source, external id) and clears its stub mark, unless the
 * stored row has a newer source time (a late, older update changes nothing). Returns the id and
 * whether the row was written. Changes `products`.
 */
export async function upsertProduct(db: Db, p: ProductWrite, now: number): Promise<{ id: number; applied: boolean }> {
  const values = { ...p, categories: toJsonColumn(p.categories), inStock: p.inStock === null ? null : p.inStock ? 1 : 0, isStub: 0, createdAt: now, updatedAt: now };
  const { source, externalId, createdAt, ...set } = values;
  const row = await db.k
    .insertInto('products')
    .values(values)
    .onConflict((oc) => {
      const update = oc.columns(['source', 'externalId']).doUpdateSet(set);
      // An update without a source time cannot be ordered, so it applies.
      const t = p.sourceUpdatedAt;
      return t === null ? update : update.where((eb) => eb.or([eb('products.sourceUpdatedAt', 'is', null), eb('products.sourceUpdatedAt', '<=', t)]));
    })
    .returning('id')
    .executeTakeFirst();
  if (row) return { id: row.id, applied: true };
  const existing = await db.k.selectFrom('products').select('id').where('source', '=', source).where('externalId', '=', externalId).executeTakeFirstOrThrow();
  return { id: existing.id, applied: false };
}

/** Reads one product by id. */
export async function selectProduct(db: Db, id: number): Promise<ProductRecord | undefined> {
  const row = await db.k.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/** Reads a page of products in id order (limit+1 tells the caller more exist). */
export async function selectProducts(db: Db, f: { source?: string; sku?: string; afterId?: number; limit: number }): Promise<ProductRecord[]> {
  let q = db.k.selectFrom('products').selectAll().orderBy('id').limit(f.limit);
  if (f.source !== undefined) q = q.where('source', '=', f.source);
  if (f.sku !== undefined) q = q.where('sku', '=', f.sku);
  if (f.afterId !== undefined) q = q.where('id', '>', f.afterId);
  return (await q.execute()).map(toRecord);
}
