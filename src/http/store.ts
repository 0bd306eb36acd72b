import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CartRecord } from '../db/queries/carts.ts';
import type { OrderRecord } from '../db/queries/orders.ts';
import type { ProductRecord } from '../db/queries/products.ts';
import { STORE_SOURCES } from '../domain/store.ts';
import { invalid } from '../lib/errors.ts';
import { getContactMetrics, getOrder, listCarts, listOrders, listProducts } from '../services/store-reads.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime, PageQuery, StringEnum } from './schemas.ts';

function orderJson(o: OrderRecord) {
  return { ...o, orderedAt: isoTime(o.orderedAt), paidAt: isoTime(o.paidAt), completedAt: isoTime(o.completedAt), sourceUpdatedAt: isoTime(o.sourceUpdatedAt), createdAt: isoTime(o.createdAt), updatedAt: isoTime(o.updatedAt) };
}

function productJson(p: ProductRecord) {
  return { ...p, sourceUpdatedAt: isoTime(p.sourceUpdatedAt), createdAt: isoTime(p.createdAt), updatedAt: isoTime(p.updatedAt) };
}

function cartJson(c: CartRecord) {
  return { ...c, sourceUpdatedAt: isoTime(c.sourceUpdatedAt), abandonedAt: isoTime(c.abandonedAt), createdAt: isoTime(c.createdAt), updatedAt: isoTime(c.updatedAt) };
}

function cursorOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const n = Number(cursor);
  if (!(Number.isSafeInteger(n) && n > 0)) throw invalid('cursor', 'is not a cursor this API returned');
  return n;
}

/** A page read with one extra row: its items and the cursor to the next page. */
function paged<T extends { id: number }, J>(rows: T[], limit: number, toJson: (r: T) => J) {
  const items = rows.slice(0, limit);
  return { items: items.map(toJson), nextCursor: rows.length > limit ? String(items[items.length - 1]!.id) : null };
}

const ContactQuery = { contactId: Type.Optional(Type.Integer({ minimum: 1 })) };

/** Store data as the API shows it: orders, products, carts and each contact's order metrics. */
export const storeRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/orders', { schema: { tags: ['store'], summary: 'Orders with their lines, newest first; ?contactId= for one contact', querystring: Type.Object({ ...PageQuery, ...ContactQuery }, { additionalProperties: false }) } }, async (req) => {
    const limit = req.query.limit ?? 100;
    return paged(await listOrders(ctx, { contactId: req.query.contactId, beforeId: cursorOf(req.query.cursor), limit: limit + 1 }), limit, orderJson);
  });

  app.get('/orders/:id', { schema: { tags: ['store'], summary: 'One order with its lines', params: IdParams } }, async (req) => orderJson(await getOrder(ctx, req.params.id)));

  app.get(
    '/products',
    { schema: { tags: ['store'], summary: 'Products in id order (stubs: seen in an order before their own record arrived)', querystring: Type.Object({ ...PageQuery, source: Type.Optional(StringEnum(STORE_SOURCES)), sku: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false }) } },
    async (req) => {
      const limit = req.query.limit ?? 100;
      return paged(await listProducts(ctx, { source: req.query.source, sku: req.query.sku, afterId: cursorOf(req.query.cursor), limit: limit + 1 }), limit, productJson);
    },
  );

  app.get(
    '/carts',
    { schema: { tags: ['store'], summary: 'Carts and checkouts, newest first; ?status=open|abandoned|converted', querystring: Type.Object({ ...PageQuery, ...ContactQuery, status: Type.Optional(StringEnum(['open', 'abandoned', 'converted'] as const)) }, { additionalProperties: false }) } },
    async (req) => {
      const limit = req.query.limit ?? 100;
      return paged(await listCarts(ctx, { status: req.query.status, contactId: req.query.contactId, beforeId: cursorOf(req.query.cursor), limit: limit + 1 }), limit, cartJson);
    },
  );

  app.get('/contacts/:id/metrics', { schema: { tags: ['contacts'], summary: "A contact's order metrics: count, total spent, average order value, first, last and expected next order", params: IdParams } }, async (req) => {
    const m = await getContactMetrics(ctx, req.params.id);
    return { ...m, firstOrderAt: isoTime(m.firstOrderAt), lastOrderAt: isoTime(m.lastOrderAt), expectedNextOrderAt: isoTime(m.expectedNextOrderAt), updatedAt: isoTime(m.updatedAt) };
  });
};
