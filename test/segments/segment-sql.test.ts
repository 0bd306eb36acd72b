import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.ts';
import { countSegmentContacts, selectSegmentContactIds } from '../../src/db/queries/segment-sql.ts';
import { contactIdList } from '../../src/db/queries/segments.ts';
import { validateSegmentDefinition, type SegmentNode } from '../../src/domain/segments.ts';
import { addCart, addContact, addEvent, addMessage, addOrder, addProduct, DAY, setMetrics, subscribe } from './fixtures.ts';

const NOW = Date.parse('2026-11-27T10:00:00Z');

// Four contacts whose every fact is written below; each expectation is worked out from them by hand.
describe.each(DIALECTS)('segment compiler on %s', (dialect) => {
  let db: TestDatabase;
  const names = new Map<number, string>();
  const id: Record<string, number> = {};

  const members = async (def: SegmentNode) => {
    const check = validateSegmentDefinition(def);
    if (!check.ok) throw new Error(JSON.stringify(check.problems));
    const rows = await selectSegmentContactIds(db, def, NOW).execute();
    const got = rows.map((r) => names.get(r.id)!).sort();
    expect(await countSegmentContacts(db, def, NOW)).toBe(got.length);
    // Restricted to candidates (as an incremental refresh runs it): the same answer.
    const among = await selectSegmentContactIds(db, def, NOW, contactIdList(db, [...names.keys()])).execute();
    expect(among.map((r) => names.get(r.id)!).sort()).toEqual(got);
    return got;
  };

  beforeAll(async () => {
    db = await openTestDatabase(dialect);
    id.ana = await addContact(db, { email: 'ana@example.com', firstName: 'Ana', createdAt: NOW - 10 * DAY, attributes: { city: 'Tehran', age: 25, tier: 'gold', vip: true, birthday: '1990-05-01T00:00:00.000Z' } });
    id.bob = await addContact(db, { email: 'bob@shop.example', firstName: 'Bob', createdAt: NOW - 400 * DAY, attributes: { city: 'tehran ', age: '25', tier: 'silver', note: '50%_off' } });
    id.cy = await addContact(db, { email: 'cy@example.com', createdAt: NOW - 50 * DAY });
    id.dee = await addContact(db, { email: 'dee@example.com', firstName: 'Dee', createdAt: NOW - 5 * DAY, attributes: { city: 'Shiraz', age: 40.5, vip: false } });
    for (const [k, v] of Object.entries(id)) names.set(v, k);

    await subscribe(db, id.ana!, 'newsletter', 'subscribed');
    await subscribe(db, id.bob!, 'newsletter', 'unsubscribed');
    await subscribe(db, id.dee!, 'newsletter', 'pending');

    const shoe = await addProduct(db, { sku: 'SHOE-1', categories: ['shoes', 'sale'] });
    const hat = await addProduct(db, { sku: 'HAT-1', categories: ['hats'] });
    await addOrder(db, { contactId: id.ana!, total: 100, orderedAt: NOW - 5 * DAY, items: [{ productId: shoe, sku: 'SHOE-1' }] });
    await addOrder(db, { contactId: id.ana!, total: 200, orderedAt: NOW - 40 * DAY });
    await addOrder(db, { contactId: id.ana!, total: 300, orderedAt: NOW - 100 * DAY, items: [{ productId: hat, sku: 'HAT-1' }] });
    await addOrder(db, { contactId: id.ana!, status: 'cancelled', total: 1000, orderedAt: NOW - DAY });
    await setMetrics(db, { contactId: id.ana!, ordersCount: 3, totalSpent: 600, firstOrderAt: NOW - 100 * DAY, lastOrderAt: NOW - 5 * DAY });
    await addOrder(db, { contactId: id.bob!, total: 50, orderedAt: NOW - 200 * DAY, items: [{ productId: hat, sku: 'HAT-1' }] });
    await setMetrics(db, { contactId: id.bob!, ordersCount: 1, totalSpent: 50, firstOrderAt: NOW - 200 * DAY, lastOrderAt: NOW - 200 * DAY });
    await addOrder(db, { contactId: id.dee!, status: 'processing', total: 1000, orderedAt: NOW - 20 * DAY });
    await addOrder(db, { contactId: id.dee!, status: 'processing', total: 1000, orderedAt: NOW - 25 * DAY });
    await addOrder(db, { contactId: id.dee!, status: 'refunded', total: 9000, orderedAt: NOW - 3 * DAY, items: [{ productId: shoe, sku: 'SHOE-1' }] });
    await setMetrics(db, { contactId: id.dee!, ordersCount: 2, totalSpent: 2000, firstOrderAt: NOW - 25 * DAY, lastOrderAt: NOW - 20 * DAY });

    await addCart(db, { contactId: id.ana!, status: 'abandoned', value: 6_000_000, updatedAt: NOW - 3 * DAY, abandonedAt: NOW - 2 * DAY });
    await addCart(db, { contactId: id.bob!, status: 'open', value: 10_000_000, updatedAt: NOW - DAY });
    await addCart(db, { contactId: id.dee!, status: 'abandoned', value: 4_000_000, updatedAt: NOW - 2 * DAY, abandonedAt: NOW - DAY });
    // A second abandoned cart (a member once, not twice) and a guest's cart (no contact: nobody).
    await addCart(db, { contactId: id.ana!, status: 'abandoned', value: 1_000_000, updatedAt: NOW - 3 * DAY, abandonedAt: NOW - 3 * DAY });
    await addCart(db, { status: 'abandoned', value: 9_000_000, updatedAt: NOW - 3 * DAY, abandonedAt: NOW - 3 * DAY });

    for (const [days, price] of [[1, 150], [3, 50], [9, 200]] as const) await addEvent(db, { contactId: id.ana!, type: 'viewed_product', occurredAt: NOW - days * DAY, properties: { price, sku: 'SHOE-1' } });
    await addEvent(db, { contactId: id.cy!, type: 'viewed_product', occurredAt: NOW - DAY, properties: { price: 'cheap' } });
    await addEvent(db, { contactId: id.dee!, type: 'viewed_product', occurredAt: NOW - 60 * DAY, properties: { price: 500 } });

    const anaMail = await addMessage(db, { contactId: id.ana!, campaignId: 7, status: 'sent', sentAt: NOW - 3 * DAY });
    await addEvent(db, { contactId: id.ana!, type: 'email_opened', messageRef: anaMail, occurredAt: NOW - 2 * DAY });
    const bobMail = await addMessage(db, { contactId: id.bob!, campaignId: 7, status: 'sent', sentAt: NOW - DAY });
    await addEvent(db, { contactId: id.bob!, type: 'email_opened', messageRef: bobMail, occurredAt: NOW - DAY, machine: 'apple_mpp' });
    await addMessage(db, { contactId: id.cy!, campaignId: 7, status: 'bounced', sentAt: null, updatedAt: NOW - 3 * DAY });
    const deeMail = await addMessage(db, { contactId: id.dee!, campaignId: 8, status: 'complained', sentAt: NOW - 11 * DAY });
    await addEvent(db, { contactId: id.dee!, type: 'email_clicked', messageRef: deeMail, occurredAt: NOW - 10 * DAY });
    await addEvent(db, { contactId: id.dee!, type: 'email_complained', messageRef: deeMail, occurredAt: NOW - 9 * DAY });

    await db.k.updateTable('contactMetrics').set({ rfmRecency: 5, rfmFrequency: 5, rfmMonetary: 4, rfmSegment: 'champions' }).where('contactId', '=', id.ana!).execute();
    await db.k.updateTable('contactMetrics').set({ rfmRecency: 1, rfmFrequency: 1, rfmMonetary: 1, rfmSegment: 'lost' }).where('contactId', '=', id.bob!).execute();

    const vip = await db.k.insertInto('segments').values({ key: 'vip', name: 'VIP', version: 1, definition: '{}', createdAt: 0, updatedAt: 0 }).returning('id').executeTakeFirstOrThrow();
    await db.k.insertInto('segmentMembers').values([{ segmentId: vip.id, contactId: id.dee!, since: 0 }]).execute();
  });
  afterAll(async () => db?.close());

  it('compares attributes: equals, contains, starts_with, in, exists, numbers, dates', async () => {
    const a = (op: string, value?: unknown, field = 'attributes.city') => members({ type: 'attribute', field, op, value } as SegmentNode);
    expect(await a('equals', 'Tehran')).toEqual(['ana']);
    expect(await a('not_equals', 'Tehran')).toEqual(['bob', 'cy', 'dee']);
    expect(await a('contains', 'EHRA')).toEqual(['ana', 'bob']);
    expect(await a('contains', '%_', 'attributes.note')).toEqual(['bob']);
    expect(await a('contains', '%', 'attributes.city')).toEqual([]);
    expect(await a('starts_with', 'shi')).toEqual(['dee']);
    expect(await a('in', ['Shiraz', 'Tehran'])).toEqual(['ana', 'dee']);
    expect(await a('exists')).toEqual(['ana', 'bob', 'dee']);
    // Numbers compare only JSON numbers: bob's "25" is text.
    expect(await a('equals', 25, 'attributes.age')).toEqual(['ana']);
    expect(await a('gte', 25, 'attributes.age')).toEqual(['ana', 'dee']);
    expect(await a('between', [30, 41], 'attributes.age')).toEqual(['dee']);
    expect(await a('lt', 100, 'attributes.city')).toEqual([]);
    expect(await a('in', [25, '25'], 'attributes.age')).toEqual(['ana', 'bob']);
    expect(await a('equals', true, 'attributes.vip')).toEqual(['ana']);
    expect(await a('equals', false, 'attributes.vip')).toEqual(['dee']);
    expect(await a('date', { before: '2000-01-01T00:00:00Z' }, 'attributes.birthday')).toEqual(['ana']);
    expect(await a('date', { within: '30d' }, 'createdAt')).toEqual(['ana', 'dee']);
    expect(await a('equals', 'Dee', 'firstName')).toEqual(['dee']);
    expect(await a('not_equals', 'Dee', 'firstName')).toEqual(['ana', 'bob', 'cy']);
    expect(await a('equals', 'shop.example', 'emailDomain')).toEqual(['bob']);
    expect(await a('exists', undefined, 'firstName')).toEqual(['ana', 'bob', 'dee']);
  });

  it('treats a missing value as false, so not means not', async () => {
    expect(await members({ not: { type: 'attribute', field: 'attributes.tier', op: 'equals', value: 'gold' } })).toEqual(['bob', 'cy', 'dee']);
    expect(await members({ not: { type: 'attribute', field: 'attributes.age', op: 'gt', value: 30 } })).toEqual(['ana', 'bob', 'cy']);
    expect(await members({ not: { type: 'rfm_score', score: 'monetary', op: 'gte', value: 2 } })).toEqual(['bob', 'cy', 'dee']);
    // cy has no metrics row: 0 orders, inside a not and where 0 passes the test.
    expect(await members({ not: { type: 'order_count', op: 'gte', value: 1 } })).toEqual(['cy']);
    expect(await members({ type: 'order_count', op: 'lt', value: 2 })).toEqual(['bob', 'cy']);
    expect(await members({ not: { not: { type: 'attribute', field: 'attributes.tier', op: 'in', value: ['gold', 'silver'] } } })).toEqual(['ana', 'bob']);
  });

  it('reads topic status', async () => {
    expect(await members({ type: 'topic', topic: 'newsletter', status: 'subscribed' })).toEqual(['ana']);
    expect(await members({ type: 'topic', topic: 'newsletter', status: 'unsubscribed' })).toEqual(['bob']);
    expect(await members({ type: 'topic', topic: 'newsletter', status: 'none' })).toEqual(['cy']);
  });

  it('aggregates orders all time (metrics) and in a window (purchases only)', async () => {
    expect(await members({ type: 'order_count', op: 'gte', value: 2 })).toEqual(['ana', 'dee']);
    expect(await members({ type: 'order_count', op: 'equals', value: 0 })).toEqual(['cy']);
    expect(await members({ type: 'order_count', op: 'gte', value: 1.5 })).toEqual(['ana', 'dee']);
    // Beyond an integer column's range (PostgreSQL would refuse it as an int4 parameter).
    expect(await members({ type: 'order_count', op: 'lt', value: 3_000_000_000 })).toEqual(['ana', 'bob', 'cy', 'dee']);
    expect(await members({ type: 'rfm_score', score: 'recency', op: 'gte', value: -3_000_000_000 })).toEqual(['ana', 'bob']);
    expect(await members({ type: 'order_count', op: 'gte', value: 2, window: { within: '30d' } })).toEqual(['dee']);
    expect(await members({ type: 'order_count', op: 'equals', value: 0, window: { within: '30d' } })).toEqual(['bob', 'cy']);
    expect(await members({ type: 'total_spent', op: 'gt', value: 500 })).toEqual(['ana', 'dee']);
    expect(await members({ type: 'total_spent', op: 'between', value: [250, 350], window: { within: '60d' } })).toEqual(['ana']);
    // In a window the amount is net of refunds: 50 of ana's 200 back leaves 250 in the last 60 days, 125 on average.
    await db.k.updateTable('orders').set({ refunded: 50 }).where('contactId', '=', id.ana!).where('total', '=', 200).execute();
    expect(await members({ type: 'total_spent', op: 'between', value: [251, 350], window: { within: '60d' } })).toEqual([]);
    expect(await members({ type: 'average_order_value', op: 'equals', value: 125, window: { within: '60d' } })).toEqual(['ana']);
    await db.k.updateTable('orders').set({ refunded: 0 }).where('contactId', '=', id.ana!).execute();
    expect(await members({ type: 'average_order_value', op: 'gte', value: 200 })).toEqual(['ana', 'dee']);
    expect(await members({ type: 'average_order_value', op: 'lt', value: 200, window: { olderThan: '30d' } })).toEqual(['bob', 'cy', 'dee']);
    expect(await members({ type: 'last_order', date: { within: '30d' } })).toEqual(['ana', 'dee']);
    expect(await members({ type: 'last_order', date: { olderThan: '90d' } })).toEqual(['bob']);
    // Metric trees no metrics-less contact can match are read from contact_metrics alone; one that 0 passes is not.
    const oneTimeLapsed: SegmentNode = { all: [{ type: 'order_count', op: 'equals', value: 1 }, { type: 'last_order', date: { olderThan: '90d' } }] };
    expect(await members(oneTimeLapsed)).toEqual(['bob']);
    expect(await members({ any: [{ type: 'total_spent', op: 'gte', value: 1000 }, { type: 'order_count', op: 'equals', value: 1 }] })).toEqual(['bob', 'dee']);
    expect(selectSegmentContactIds(db, oneTimeLapsed, NOW).compile().sql).not.toMatch(/contacts/);
    expect(selectSegmentContactIds(db, { type: 'order_count', op: 'lt', value: 2 }, NOW).compile().sql).toMatch(/contacts/);
    expect(await members({ type: 'first_order', date: { after: '2026-08-01T00:00:00Z', before: '2026-11-01T00:00:00Z' } })).toEqual(['ana']);
  });

  it('finds what was bought: product, sku, category, window; refunds do not count', async () => {
    const shoe = (await db.k.selectFrom('products').select('id').where('sku', '=', 'SHOE-1').executeTakeFirstOrThrow()).id;
    expect(await members({ type: 'bought', productId: shoe })).toEqual(['ana']);
    expect(await members({ type: 'bought', sku: 'HAT-1' })).toEqual(['ana', 'bob']);
    expect(await members({ type: 'bought', category: 'hats', window: { within: '150d' } })).toEqual(['ana']);
    expect(await members({ type: 'bought', category: 'sale' })).toEqual(['ana']);
    expect(await members({ type: 'bought', category: 'sal' })).toEqual([]);
  });

  it('reads carts by status, value and age', async () => {
    expect(await members({ type: 'cart' })).toEqual(['ana', 'dee']);
    expect(await members({ type: 'cart', value: { op: 'gt', value: 5_000_000 } })).toEqual(['ana']);
    expect(await members({ type: 'cart', at: { olderThan: '36h' } })).toEqual(['ana']);
    expect(await members({ type: 'cart', status: 'open', value: { op: 'gte', value: 10_000_000 } })).toEqual(['bob']);
    // A cart condition alone is read from carts alone (one row per contact), also inside a one-member group.
    expect(await members({ all: [{ any: [{ type: 'cart', value: { op: 'gt', value: 5_000_000 } }] }] })).toEqual(['ana']);
    expect(selectSegmentContactIds(db, { type: 'cart' }, NOW).compile().sql).not.toMatch(/contacts/);
    // Cart conditions compile to `c.id IN (…)`: negated they must still be exact (no NULL from carts without a contact).
    expect(await members({ not: { type: 'cart' } })).toEqual(['bob', 'cy']);
  });

  it('counts events in a window with property filters', async () => {
    expect(await members({ type: 'event', event: 'viewed_product' })).toEqual(['ana', 'cy', 'dee']);
    expect(await members({ type: 'event', event: 'viewed_product', did: false })).toEqual(['bob']);
    expect(await members({ type: 'event', event: 'viewed_product', atLeast: 3 })).toEqual(['ana']);
    expect(await members({ type: 'event', event: 'viewed_product', atLeast: 2, window: { within: '5d' } })).toEqual(['ana']);
    expect(await members({ type: 'event', event: 'viewed_product', atLeast: 3, window: { within: '5d' } })).toEqual([]);
    expect(await members({ type: 'event', event: 'viewed_product', properties: [{ name: 'price', op: 'gte', value: 180 }] })).toEqual(['ana', 'dee']);
    expect(await members({ type: 'event', event: 'viewed_product', window: { within: '30d' }, properties: [{ name: 'price', op: 'gte', value: 180 }] })).toEqual(['ana']);
    expect(await members({ type: 'event', event: 'viewed_product', properties: [{ name: 'price', op: 'equals', value: 'cheap' }, { name: 'sku', op: 'exists' }] })).toEqual([]);
    expect(await members({ type: 'event', event: 'viewed_product', properties: [{ name: 'price', op: 'in', value: ['cheap', 50] }] })).toEqual(['ana', 'cy']);
  });

  it('reads email engagement, ignoring machine opens unless asked', async () => {
    expect(await members({ type: 'email', action: 'opened' })).toEqual(['ana']);
    expect(await members({ type: 'email', action: 'opened', includeMachine: true })).toEqual(['ana', 'bob']);
    expect(await members({ type: 'email', action: 'opened', did: false })).toEqual(['bob', 'cy', 'dee']);
    expect(await members({ type: 'email', action: 'opened', campaignId: 8 })).toEqual([]);
    expect(await members({ type: 'email', action: 'clicked', campaignId: 8 })).toEqual(['dee']);
    expect(await members({ type: 'email', action: 'clicked', window: { within: '7d' } })).toEqual([]);
    expect(await members({ type: 'email', action: 'received', campaignId: 7 })).toEqual(['ana', 'bob']);
    expect(await members({ type: 'email', action: 'received', window: { within: '2d' } })).toEqual(['bob']);
    expect(await members({ type: 'email', action: 'received' })).toEqual(['ana', 'bob', 'dee']);
    expect(await members({ type: 'email', action: 'bounced', window: { within: '7d' } })).toEqual(['cy']);
    expect(await members({ type: 'email', action: 'complained' })).toEqual(['dee']);
  });

  it('reads RFM groups and scores, and another segment’s members', async () => {
    expect(await members({ type: 'rfm_group', groups: ['champions', 'loyal'] })).toEqual(['ana']);
    expect(await members({ type: 'rfm_score', score: 'recency', op: 'lte', value: 2 })).toEqual(['bob']);
    expect(await members({ type: 'segment', segment: 'vip' })).toEqual(['dee']);
    expect(await members({ type: 'segment', segment: 'nobody' })).toEqual([]);
  });

  it('combines all, any and not', async () => {
    const def: SegmentNode = {
      all: [
        { any: [{ type: 'attribute', field: 'attributes.city', op: 'contains', value: 'tehran' }, { type: 'cart' }] },
        { not: { type: 'email', action: 'opened' } },
      ],
    };
    expect(await members(def)).toEqual(['bob', 'dee']);
    expect(await members({ any: [{ not: def }, { type: 'segment', segment: 'vip' }] })).toEqual(['ana', 'cy', 'dee']);
  });

  it('binds every value: a hostile string is data, not SQL', async () => {
    const evil = "x' OR 1=1 --";
    expect(await members({ type: 'attribute', field: 'attributes.city', op: 'equals', value: evil })).toEqual([]);
    expect(await members({ type: 'event', event: evil, properties: [{ name: 'price', op: 'contains', value: evil }] })).toEqual([]);
    const compiled = selectSegmentContactIds(db, { type: 'attribute', field: 'attributes.city', op: 'in', value: [evil, 'Tehran'] }, NOW).compile();
    expect(compiled.sql).not.toContain('OR 1=1');
    expect(compiled.parameters).toContain(evil);
  });

  // Last: it adds rows. Orphaned orders and anonymous events must not turn a negation unknown.
  it('rows without a contact never make a negation unknown', async () => {
    await db.k.insertInto('events').values({ type: 'viewed_product', contactId: null, properties: '{}', occurredAt: NOW }).execute();
    await db.k.insertInto('orders').values({ source: 'api', externalId: 'orphan', contactId: null, status: 'completed', currency: 'IRT', total: 5, couponCodes: '[]', orderedAt: NOW, createdAt: NOW, updatedAt: NOW }).execute();
    expect(await members({ type: 'event', event: 'viewed_product', did: false })).toEqual(['bob']);
    expect(await members({ not: { type: 'order_count', op: 'gte', value: 1, window: { within: '30d' } } })).toEqual(['bob', 'cy']);
    expect(await members({ type: 'order_count', op: 'lt', value: 1, window: { within: '30d' } })).toEqual(['bob', 'cy']);
  });
});
