import type { Generated } from 'kysely';

// The row types of the store's tables (migration 006 on): products, orders, carts, contact
// metrics, segments and the connectors' bookkeeping. The other tables are in tables.ts.

export interface ProductsTable {
  id: Generated<number>;
  source: string;
  externalId: string;
  sku: string | null;
  name: string;
  url: string | null;
  imageUrl: string | null;
  price: number | null;
  currency: string | null;
  categories: unknown;
  inStock: number | null;
  isStub: Generated<number>;
  sourceUpdatedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface OrdersTable {
  id: Generated<number>;
  source: string;
  externalId: string;
  number: string | null;
  contactId: number | null;
  status: string;
  sourceStatus: string | null;
  currency: string;
  total: number;
  /** Refunded so far (migration 010); the order's net amount is total − refunded. */
  refunded: Generated<number>;
  discount: Generated<number>;
  couponCodes: unknown;
  orderedAt: number;
  paidAt: number | null;
  completedAt: number | null;
  sourceUpdatedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface OrderItemsTable {
  id: Generated<number>;
  orderId: number;
  productId: number | null;
  sku: string | null;
  name: string;
  quantity: number;
  price: number;
}

export interface CartsTable {
  id: Generated<number>;
  source: string;
  externalId: string;
  contactId: number | null;
  status: string;
  items: unknown;
  value: Generated<number>;
  currency: string | null;
  recoveryUrl: string | null;
  convertedOrderId: number | null;
  sourceUpdatedAt: number;
  abandonedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ContactMetricsTable {
  contactId: number;
  ordersCount: Generated<number>;
  totalSpent: Generated<number>;
  averageOrderValue: Generated<number>;
  firstOrderAt: number | null;
  lastOrderAt: number | null;
  expectedNextOrderAt: number | null;
  rfmRecency: number | null;
  rfmFrequency: number | null;
  rfmMonetary: number | null;
  rfmSegment: string | null;
  rfmScoredAt: number | null;
  updatedAt: number;
}

export interface SegmentsTable {
  id: Generated<number>;
  key: string;
  name: string;
  version: number;
  definition: unknown;
  memberCount: Generated<number>;
  refreshedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface SegmentVersionsTable {
  segmentId: number;
  version: number;
  definition: unknown;
  createdAt: number;
}

export interface SegmentMembersTable {
  segmentId: number;
  contactId: number;
  since: number;
}

export interface ConnectorDeliveriesTable {
  source: string;
  deliveryId: string;
  topic: string | null;
  receivedAt: number;
}

export interface BackfillCursorsTable {
  name: string;
  state: unknown;
  updatedAt: number;
}
