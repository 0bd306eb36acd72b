import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { fromJsonColumn } from '../../src/db/dialect.ts';
import { MAX_SEGMENT_DEPTH } from '../../src/domain/segments.ts';
import { refreshChangedContacts } from '../../src/services/segment-refresh.ts';
import { runSegmentTick } from '../../src/services/segment-schedule.ts';
import { addCart, addContact, addOrder, DAY } from './fixtures.ts';

describe.each(DIALECTS)('segments API on %s', (dialect) => {
  let t: TestApp;
  const id: Record<string, number> = {};
  const repeatBuyers = { type: 'order_count', op: 'gte', value: 2, window: { after: '2020-01-01T00:00:00Z' } };
  const membershipEvents = async () =>
    (await t.db.k.selectFrom('events').select(['type', 'contactId', 'properties', 'occurredAt']).where('type', 'in', ['segment_entered', 'segment_exited']).orderBy('id').execute()).map((e) => ({
      type: e.type,
      contactId: e.contactId,
      properties: fromJsonColumn(e.properties),
    }));
  const memberIds = async (key: string) => (await t.request({ method: 'GET', url: `/api/v1/segments/${key}/members` })).json.items.map((m: { contactId: number }) => m.contactId);

  beforeAll(async () => {
    t = await createTestApp(dialect);
    const now = t.clock.now();
    id.x = await addContact(t.db, { email: 'x@example.com', createdAt: now - 10 * DAY });
    id.y = await addContact(t.db, { email: 'y@example.com', createdAt: now - 10 * DAY });
    id.z = await addContact(t.db, { email: 'z@example.com', createdAt: now - 10 * DAY });
    await addOrder(t.db, { contactId: id.x!, total: 100, orderedAt: now - 5 * DAY });
    await addOrder(t.db, { contactId: id.x!, total: 100, orderedAt: now - 4 * DAY });
    await addOrder(t.db, { contactId: id.y!, total: 100, orderedAt: now - 3 * DAY });
    await addCart(t.db, { contactId: id.z!, status: 'abandoned', value: 2000, updatedAt: now - DAY, abandonedAt: now - DAY });
  });
  afterAll(async () => t?.close());

  it('previews a definition: count and a sample, nothing stored', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/segments/preview', body: { definition: { type: 'order_count', op: 'gte', value: 1, window: { within: '30d' } }, sampleSize: 1 }, scope: 'write' });
    expect(r.status).toBe(200);
    expect(r.json.count).toBe(2);
    expect(r.json.sample).toEqual([expect.objectContaining({ id: id.x, email: 'x@example.com', attributes: {} })]);
    expect((await t.request({ method: 'GET', url: '/api/v1/segments' })).json.items).toEqual([]);
  });

  it('refuses bad definitions with 400 and the path of every problem', async () => {
    let deep: unknown = repeatBuyers;
    for (let i = 0; i < MAX_SEGMENT_DEPTH; i++) deep = { all: [deep] };
    const tooDeep = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'deep', name: 'Deep', definition: deep } });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.json.error.details).toEqual([{ field: `definition${'/all/0'.repeat(MAX_SEGMENT_DEPTH - 1)}/all`, message: expect.stringContaining('deeper') }]);

    const bad = await t.request({
      method: 'POST',
      url: '/api/v1/segments/preview',
      body: { definition: { all: [{ type: 'attribute', field: 'shoeSize', op: 'equals', value: 42 }, { any: [{ type: 'total_spent', op: 'gte', value: '100' }] }] } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('validation_failed');
    expect(bad.json.error.details.map((d: { field: string }) => d.field)).toEqual(['definition/all/0/field', 'definition/all/1/any/0/value']);

    const names = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'n', name: 'N', definition: { any: [{ type: 'topic', topic: 'nope', status: 'subscribed' }, { type: 'segment', segment: 'n' }, { type: 'segment', segment: 'ghost' }] } } });
    expect(names.status).toBe(400);
    expect(names.json.error.details).toEqual([
      { field: 'definition/any/0/topic', message: 'no topic "nope" exists' },
      { field: 'definition/any/1/segment', message: 'a segment cannot contain itself' },
      { field: 'definition/any/2/segment', message: 'no segment "ghost" exists' },
    ]);

    const key = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'Bad Key', name: 'x', definition: repeatBuyers } });
    expect(key.status).toBe(400);
    expect(key.json.error.details[0].field).toBe('key');
    const noDef = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'k', name: 'x' } });
    expect(noDef.status).toBe(400);
    const big = await t.request({ method: 'POST', url: '/api/v1/segments/preview', body: { definition: repeatBuyers, sampleSize: 1000 } });
    expect(big.status).toBe(400);
    expect(big.json.error.details[0].field).toBe('sampleSize');
    expect((await t.request({ method: 'POST', url: '/api/v1/segments/preview', body: { definition: repeatBuyers }, scope: 'read' })).status).toBe(403);
  });

  it('creates and materialises a segment, recording who entered', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'repeat', name: 'Repeat buyers', definition: repeatBuyers } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ key: 'repeat', version: 1, memberCount: 1, refresh: { mode: 'full', entered: 1, exited: 0, memberCount: 1 } });
    expect(await memberIds('repeat')).toEqual([id.x]);
    expect(await membershipEvents()).toEqual([{ type: 'segment_entered', contactId: id.x, properties: { segment: 'repeat', version: 1, initial: true } }]);
    expect((await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'repeat', name: 'Again', definition: repeatBuyers } })).status).toBe(409);
  });

  it('an incremental refresh picks up a new order, and only changed contacts', async () => {
    t.clock.advance(60_000);
    const now = t.clock.now();
    await addOrder(t.db, { contactId: id.y!, total: 100, orderedAt: now, updatedAt: now });
    // z's second order carries an update time before the last refresh: invisible to an incremental refresh.
    await addOrder(t.db, { contactId: id.z!, total: 100, orderedAt: now - 2 * DAY, updatedAt: now - 2 * DAY });
    await addOrder(t.db, { contactId: id.z!, total: 100, orderedAt: now - 2 * DAY, updatedAt: now - 2 * DAY });
    const inc = await t.request({ method: 'POST', url: '/api/v1/segments/repeat/refresh', body: { mode: 'incremental' } });
    expect(inc.status).toBe(200);
    expect(inc.json).toMatchObject({ mode: 'incremental', entered: 1, exited: 0, memberCount: 2 });
    expect(await memberIds('repeat')).toEqual([id.x, id.y]);

    t.clock.advance(60_000);
    const full = await t.request({ method: 'POST', url: '/api/v1/segments/repeat/refresh' });
    expect(full.json).toMatchObject({ mode: 'full', entered: 1, exited: 0, memberCount: 3 });
    // Nothing changed: a second refresh changes nothing and records nothing.
    const again = await t.request({ method: 'POST', url: '/api/v1/segments/repeat/refresh', body: { mode: 'incremental' } });
    expect(again.json).toMatchObject({ entered: 0, exited: 0, memberCount: 3 });
  });

  it('records exits when a contact stops matching', async () => {
    t.clock.advance(60_000);
    await t.db.k.updateTable('orders').set({ status: 'refunded', updatedAt: t.clock.now() }).where('contactId', '=', id.x!).execute();
    const r = await t.request({ method: 'POST', url: '/api/v1/segments/repeat/refresh', body: { mode: 'incremental' } });
    expect(r.json).toMatchObject({ mode: 'incremental', entered: 0, exited: 1, memberCount: 2 });
    const events = await membershipEvents();
    expect(events.slice(1)).toEqual([
      { type: 'segment_entered', contactId: id.y, properties: { segment: 'repeat', version: 1 } },
      { type: 'segment_entered', contactId: id.z, properties: { segment: 'repeat', version: 1 } },
      { type: 'segment_exited', contactId: id.x, properties: { segment: 'repeat', version: 1 } },
    ]);
  });

  it('a PUT stores a new version and rematerialises', async () => {
    const r = await t.request({ method: 'PUT', url: '/api/v1/segments/repeat', body: { name: 'Three-time buyers', definition: { ...repeatBuyers, value: 3 } } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ version: 2, name: 'Three-time buyers', memberCount: 0, refresh: { exited: 2 } });
    const versions = await t.db.k.selectFrom('segmentVersions').select(['version', 'definition']).orderBy('version').execute();
    expect(versions.map((v) => [v.version, fromJsonColumn<{ value: number }>(v.definition).value])).toEqual([[1, 2], [2, 3]]);
    const exits = (await membershipEvents()).slice(-2).sort((a, b) => a.contactId! - b.contactId!);
    expect(exits).toEqual([id.y, id.z].map((contactId) => ({ type: 'segment_exited', contactId, properties: { segment: 'repeat', version: 2 } })));
    const bad = await t.request({ method: 'PUT', url: '/api/v1/segments/repeat', body: { definition: { type: 'cart', status: 'lost' } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].field).toBe('definition/status');
    expect((await t.request({ method: 'GET', url: '/api/v1/segments/repeat' })).json.version).toBe(2);
    expect((await t.request({ method: 'PUT', url: '/api/v1/segments/missing', body: { definition: repeatBuyers } })).status).toBe(404);
  });

  it('installs the presets with the cart threshold as a parameter', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/segments/presets', body: { abandonedCartValue: 1000 } });
    expect(r.status).toBe(200);
    expect(r.json.items).toEqual([
      { key: 'high-clv-recent', status: 'created', memberCount: 0 },
      { key: 'one-time-lapsed', status: 'created', memberCount: 0 },
      { key: 'abandoned-cart-high', status: 'created', memberCount: 1 },
    ]);
    expect(await memberIds('abandoned-cart-high')).toEqual([id.z]);
    const again = await t.request({ method: 'POST', url: '/api/v1/segments/presets', body: { abandonedCartValue: 1000 } });
    expect(again.json.items.map((i: { status: string }) => i.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const higher = await t.request({ method: 'POST', url: '/api/v1/segments/presets', body: { abandonedCartValue: 5000 } });
    expect(higher.json.items[2]).toEqual({ key: 'abandoned-cart-high', status: 'updated', memberCount: 0 });
    expect((await t.request({ method: 'GET', url: '/api/v1/segments/abandoned-cart-high' })).json.name).toBe('Abandoned carts worth more than 5,000 USD');
    expect((await t.request({ method: 'POST', url: '/api/v1/segments/presets', body: { abandonedCartValue: -1 } })).status).toBe(400);
  });

  it("the schedule's change pass moves a contact whose data changed, in every segment", async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'blue-mug', name: 'Bought the blue mug', definition: { type: 'bought', sku: 'MUG-BLUE' } } });
    expect(r.status).toBe(201);
    const newcomer = await addContact(t.db, { email: 'newcomer@example.com', createdAt: t.clock.now() });
    t.clock.advance(60_000);
    const now = t.clock.now();
    await addOrder(t.db, { contactId: newcomer, total: 10, orderedAt: now, updatedAt: now, items: [{ sku: 'MUG-BLUE' }] });
    expect(await memberIds('blue-mug')).not.toContain(newcomer);
    const outcomes = await refreshChangedContacts(t.app.ctx);
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
    expect(await memberIds('blue-mug')).toContain(newcomer);
    // Nothing changed since: a second pass moves nobody.
    const again = await refreshChangedContacts(t.app.ctx);
    expect(again.every((o) => o.entered === 0 && o.exited === 0)).toBe(true);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/segments/blue-mug' })).status).toBe(204);
  });

  it('a segment of segments, refreshed in order by the schedule; deletes refuse while referred to', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/segments', body: { key: 'cart-or-repeat', name: 'Either', definition: { any: [{ type: 'segment', segment: 'abandoned-cart-high' }, { type: 'segment', segment: 'repeat' }] } } });
    expect(r.status).toBe(201);
    expect(r.json.memberCount).toBe(0);
    await t.request({ method: 'POST', url: '/api/v1/segments/presets', body: { abandonedCartValue: 1000 } });
    t.clock.advance(60_000);
    const tick = await runSegmentTick(t.app.ctx, null);
    expect(tick).toMatchObject({ rfm: true, mode: 'full', segments: 5 });
    expect(await memberIds('cart-or-repeat')).toEqual([id.z]);
    const del = await t.request({ method: 'DELETE', url: '/api/v1/segments/repeat' });
    expect(del.status).toBe(409);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/segments/cart-or-repeat', scope: 'write' })).status).toBe(403);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/segments/cart-or-repeat' })).status).toBe(204);
    expect((await t.request({ method: 'DELETE', url: '/api/v1/segments/repeat' })).status).toBe(204);
    expect((await t.request({ method: 'GET', url: '/api/v1/segments/repeat' })).status).toBe(404);
  });

  it('serves the catalogue', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/segments/catalogue', scope: 'read' });
    expect(r.json.maxDepth).toBe(MAX_SEGMENT_DEPTH);
    expect(Object.keys(r.json.conditions)).toContain('event');
  });
});
