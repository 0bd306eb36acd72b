import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { addContact, addOrder, DAY, setMetrics } from './fixtures.ts';

// Ten buyers b1..b10: b_i bought (11 − i) times, last (11 − i) days ago, each order i·10, so
// recency ranks run b1 → b10, frequency b10 → b1, and money spent 10·i·(11 − i) ties in pairs
// (b1 = b10 = 100, b2 = b9 = 180, …, b5 = b6 = 300). Scores and groups worked out by hand:
//   R: 1 1 2 2 3 3 4 4 5 5    F: 5 5 4 4 3 3 2 2 1 1    M: 1 2 3 4 5 5 4 3 2 1
//   groups: cant_lose ×2, at_risk ×2, need_attention ×2, potential_loyalist ×2, new ×2.
describe.each(DIALECTS)('RFM on %s', (dialect) => {
  let t: TestApp;
  const b: number[] = [];
  let refundOnly = 0;
  const scores = async () =>
    (await t.db.k.selectFrom('contactMetrics').select(['contactId', 'rfmRecency', 'rfmFrequency', 'rfmMonetary', 'rfmSegment']).orderBy('contactId').execute()).map((r) => [
      b.indexOf(r.contactId) + 1,
      r.rfmRecency,
      r.rfmFrequency,
      r.rfmMonetary,
      r.rfmSegment,
    ]);

  beforeAll(async () => {
    t = await createTestApp(dialect);
    const now = t.clock.now();
    for (let i = 1; i <= 10; i++) {
      const id = await addContact(t.db, { email: `b${i}@example.com` });
      b.push(id);
      for (let k = 0; k < 11 - i; k++) await addOrder(t.db, { contactId: id, total: i * 10, orderedAt: now - (11 - i) * DAY });
    }
    // Not purchases: a cancelled order does not make b10 recent, nor a refunded one a buyer.
    await addOrder(t.db, { contactId: b[0]!, status: 'cancelled', total: 99_999, orderedAt: now });
    refundOnly = await addContact(t.db, { email: 'refund@example.com' });
    await addOrder(t.db, { contactId: refundOnly, status: 'refunded', total: 500, orderedAt: now });
    // The store-data service's own columns on b1's row must survive scoring.
    await setMetrics(t.db, { contactId: b[0]!, ordersCount: 10, totalSpent: 100, firstOrderAt: now - 10 * DAY, lastOrderAt: now - 10 * DAY, updatedAt: 123 });
  });
  afterAll(async () => t?.close());

  it('scores quintiles and names groups by the R×F grid', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/rfm/refresh' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ scored: 10, cleared: 0, scoredAt: t.clock.now() });
    expect(r.json.groups).toEqual({ champions: 0, loyal: 0, potential_loyalist: 2, new: 2, promising: 0, need_attention: 2, about_to_sleep: 0, at_risk: 2, cant_lose: 2, hibernating: 0, lost: 0 });
    expect(await scores()).toEqual([
      [1, 1, 5, 1, 'cant_lose'],
      [2, 1, 5, 2, 'cant_lose'],
      [3, 2, 4, 3, 'at_risk'],
      [4, 2, 4, 4, 'at_risk'],
      [5, 3, 3, 5, 'need_attention'],
      [6, 3, 3, 5, 'need_attention'],
      [7, 4, 2, 4, 'potential_loyalist'],
      [8, 4, 2, 3, 'potential_loyalist'],
      [9, 5, 1, 2, 'new'],
      [10, 5, 1, 1, 'new'],
    ]);
    const b1 = await t.db.k.selectFrom('contactMetrics').selectAll().where('contactId', '=', b[0]!).executeTakeFirstOrThrow();
    expect(b1).toMatchObject({ ordersCount: 10, totalSpent: 100, updatedAt: 123 });
    const none = await t.db.k.selectFrom('contactMetrics').select('contactId').where('contactId', '=', refundOnly).executeTakeFirst();
    expect(none).toBeUndefined();
    const groups = await t.request({ method: 'GET', url: '/api/v1/rfm/groups', scope: 'read' });
    expect(groups.json.groups).toHaveLength(5);
    expect(groups.json.grid).toHaveLength(11);
  });

  it('clears the scores of a contact whose purchases were all refunded, and rescores the rest', async () => {
    t.clock.advance(DAY);
    await t.db.k.updateTable('orders').set({ status: 'refunded' }).where('contactId', '=', b[9]!).execute();
    const r = await t.request({ method: 'POST', url: '/api/v1/rfm/refresh' });
    expect(r.json).toMatchObject({ scored: 9, cleared: 1 });
    const b10 = await t.db.k.selectFrom('contactMetrics').selectAll().where('contactId', '=', b[9]!).executeTakeFirstOrThrow();
    expect(b10).toMatchObject({ rfmRecency: null, rfmFrequency: null, rfmMonetary: null, rfmSegment: null });
    // Nine buyers now: b9 is the most recent and the least frequent.
    const b9 = await t.db.k.selectFrom('contactMetrics').selectAll().where('contactId', '=', b[8]!).executeTakeFirstOrThrow();
    expect(b9).toMatchObject({ rfmRecency: 5, rfmFrequency: 1, rfmSegment: 'new' });
    const seg = await t.request({ method: 'POST', url: '/api/v1/segments/preview', body: { definition: { type: 'rfm_group', groups: ['cant_lose'] } } });
    // With nine buyers only b1 (R1, F5) is left in cant_lose; b2 is now R1 F4, at_risk.
    expect(seg.json.count).toBe(1);
  });
});
