// What Chapar knows of a store, in the shape every connector delivers it: WooCommerce and Shopify
// webhooks, the WooCommerce backfills (REST and database), CSV files and the events API each map
// their own format onto these inputs, and services/store-data.ts stores them (one row per source
// and source id, so a replay or a backfill lands on the row a webhook made).

/** Where a record came from; with its external id it names one row. */
export const STORE_SOURCES = ['woocommerce', 'shopify', 'csv', 'api'] as const;
export type StoreSource = (typeof STORE_SOURCES)[number];

/** Order statuses, normalised across stores (WooCommerce `on-hold` → `on_hold`, Shopify paid/fulfilled → processing/completed). */
export const ORDER_STATUSES = ['pending', 'processing', 'on_hold', 'completed', 'cancelled', 'refunded', 'failed', 'draft'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Orders that count as purchases for LTV, RFM and segments. */
export const PURCHASE_STATUSES: readonly OrderStatus[] = ['processing', 'completed'];

/**
 * An amount added up from others, without the binary noise of the addition (13.5 + 4.9 is
 * 18.400000000000002). Rounded to a millionth, not to cents: some currencies have three decimals.
 */
export function roundMoney(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** A customer as a store knows them: by email, by the store's own id, or both (then the two are merged). */
export interface CustomerInput {
  source: StoreSource;
  externalId?: string | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  phone?: string | null;
  locale?: string | null;
  /** Extra attributes to merge into the contact (city, country…). */
  attributes?: Record<string, unknown>;
}

export interface ProductInput {
  source: StoreSource;
  externalId: string;
  sku?: string | null;
  name: string;
  url?: string | null;
  imageUrl?: string | null;
  price?: number | null;
  currency?: string | null;
  categories?: string[];
  inStock?: boolean | null;
  /** The source's modification time (ms); an older update never overwrites a newer one. */
  updatedAt?: number | null;
}

export interface OrderItemInput {
  /** The product's id at the same source; an unknown one gets a stub product. */
  productExternalId?: string | null;
  sku?: string | null;
  name: string;
  quantity: number;
  /** Unit price. */
  price: number;
  categories?: string[];
}

export interface OrderInput {
  source: StoreSource;
  externalId: string;
  number?: string | null;
  customer: CustomerInput;
  status: OrderStatus;
  /** The store's own status word, kept as received. */
  sourceStatus?: string | null;
  currency: string;
  total: number;
  /** Refunded so far, in the order's currency (0 or absent: nothing); at most `total`. */
  refunded?: number;
  discount?: number;
  couponCodes?: string[];
  orderedAt: number;
  paidAt?: number | null;
  completedAt?: number | null;
  /** The source's modification time (ms); an older update never overwrites a newer one. */
  updatedAt?: number | null;
  items: OrderItemInput[];
}

export interface CartInput {
  source: StoreSource;
  externalId: string;
  customer: CustomerInput;
  items: OrderItemInput[];
  value: number;
  currency?: string | null;
  recoveryUrl?: string | null;
  /** The source's modification time (ms). */
  updatedAt: number;
  /** Set when the checkout became an order (Shopify `completed_at`, the order's id when known). */
  completedAt?: number | null;
  orderExternalId?: string | null;
}
