import { selectOneContactMetrics, type ContactMetricsRecord } from '../db/queries/contact-metrics.ts';
import type { Db } from '../db/database.ts';

/** `contact.metrics` as templates see it (snake_case like the rest of `contact`; times in epoch ms, like other template dates). */
export interface TemplateMetrics {
  orders_count: number;
  total_spent: number;
  average_order_value: number;
  first_order_at: number | null;
  last_order_at: number | null;
  expected_next_order_at: number | null;
}

/** The template shape of a contact's metrics; a contact who never bought has zeros and nulls. */
export function templateMetricsOf(m: ContactMetricsRecord | null | undefined): TemplateMetrics {
  return {
    orders_count: m?.ordersCount ?? 0,
    total_spent: m?.totalSpent ?? 0,
    average_order_value: m?.averageOrderValue ?? 0,
    first_order_at: m?.firstOrderAt ?? null,
    last_order_at: m?.lastOrderAt ?? null,
    expected_next_order_at: m?.expectedNextOrderAt ?? null,
  };
}

/** Reads one contact's metrics in the template shape. */
export async function loadTemplateMetrics(db: Db, contactId: number): Promise<TemplateMetrics> {
  return templateMetricsOf(await selectOneContactMetrics(db, contactId));
}
