import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOrders } from '../../src/services/store-data.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

const T0 = Date.parse('2026-10-01T00:00:00Z');
const DAY = 86_400_000;

describe.each(DIALECTS)('contact.metrics in templates on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    const body = `<mjml><mj-body><mj-section><mj-column><mj-text>orders={{ contact.metrics.orders_count }} spent={{ contact.metrics.total_spent }} aov={{ contact.metrics.average_order_value }} next={{ contact.metrics.expected_next_order_at | default: 'none' }}</mj-text></mj-column></mj-section></mj-body></mjml>`;
    const r = await t.request({ method: 'POST', url: '/api/v1/templates', body: { key: 'loyal', name: 'Loyal', kind: 'transactional', defaultLocale: 'en', variants: { en: { subject: 'You ordered {{ contact.metrics.orders_count }} times', preheader: '', fromName: 'Shop', fromEmail: 'shop@shop.example', body } } } });
    expect(r.status).toBe(201);
  });
  afterAll(async () => t?.close());

  it('renders a contact’s order metrics, and zeros for one who never bought', async () => {
    const customer = { source: 'woocommerce' as const, email: 'loyal@example.com' };
    const r = await recordOrders(t.app.ctx, [
      { source: 'woocommerce', externalId: 'l1', customer, status: 'completed', currency: 'USD', total: 20, orderedAt: T0, items: [] },
      { source: 'woocommerce', externalId: 'l2', customer, status: 'completed', currency: 'USD', total: 40, orderedAt: T0 + 10 * DAY, items: [] },
    ]);
    const contactId = r.stored[0]!.contactId!;
    const p = await t.request({ method: 'POST', url: '/api/v1/templates/loyal/preview', body: { contactId } });
    expect(p.status).toBe(200);
    expect(p.json.subject).toBe('You ordered 2 times');
    expect(p.json.text).toContain(`orders=2 spent=60 aov=30 next=${T0 + 20 * DAY}`);
    const other = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'new@example.com' } });
    const q = await t.request({ method: 'POST', url: '/api/v1/templates/loyal/preview', body: { contactId: other.json.id } });
    expect(q.json.text).toContain('orders=0 spent=0 aov=0 next=none');
  });
});
