import type { CustomerInput, OrderInput, ProductInput } from '../../domain/store.ts';
import { describeErrors, objectOf, type Mapped } from './payload-reading.ts';
import { mapWooCommerceCustomer, mapWooCommerceOrder, mapWooCommerceProduct } from './woocommerce-webhooks.ts';

// REST v3 list items onto Chapar's store inputs. A webhook body is exactly the REST object of its
// resource (formats.md 1.5), so the backfill maps with the webhook's own mappers: a record lands
// the same whether a webhook or a backfill brought it. This file adds what a list needs: a name
// for each problem, and the records left out on purpose.

/** One record read: the input to store, a record deliberately left out, or one that is broken. */
export type WooMapped<T> = { kind: 'ok'; value: T } | { kind: 'skip'; reason: string } | { kind: 'invalid'; reason: string };

function named<T>(what: string, raw: unknown, mapped: (o: Record<string, unknown>) => Mapped<T>): WooMapped<T> {
  const o = objectOf(raw);
  if (!o) return { kind: 'invalid', reason: `a ${what} in the list is not an object` };
  const r = mapped(o);
  const id = typeof o.id === 'number' || typeof o.id === 'string' ? String(o.id) : '(no id)';
  return r.ok ? { kind: 'ok', value: r.value } : { kind: 'invalid', reason: `${what} ${id}: ${describeErrors(r.errors)}` };
}

/** Maps one `/orders` item; an order with neither an email nor a customer account has nobody to link to and is skipped. */
export function mapRestOrder(o: unknown): WooMapped<OrderInput> {
  const r = named('order', o, mapWooCommerceOrder);
  if (r.kind === 'ok' && !r.value.customer.email && !r.value.customer.externalId) {
    return { kind: 'skip', reason: `order ${r.value.externalId} has no email and no customer account` };
  }
  return r;
}

/** Maps one `/customers` item (registered accounts; guests appear only in orders); one without an email is skipped. */
export function mapRestCustomer(c: unknown): WooMapped<CustomerInput> {
  const r = named('customer', c, mapWooCommerceCustomer);
  if (r.kind === 'ok' && !r.value.email) return { kind: 'skip', reason: `customer ${r.value.externalId} has no email` };
  return r;
}

/** Maps one `/products` item. */
export function mapRestProduct(p: unknown): WooMapped<ProductInput> {
  return named('product', p, mapWooCommerceProduct);
}
