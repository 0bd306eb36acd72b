import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFeedback, recordUnmatched } from '../../src/services/feedback.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, type SentMessage } from '../helpers/feedback.ts';

describe.each(DIALECTS)('events, unmatched feedback and engagement KPIs through the API on %s', (dialect) => {
  let t: TestApp;
  let a: SentMessage;
  let b: SentMessage;
  let c: SentMessage;
  let other: { id: number; ref: string };
  let guest: { id: number; ref: string };
  beforeAll(async () => {
    t = await createTestApp(dialect);
    [a, b, c] = [await sentMessage(t), await sentMessage(t), await sentMessage(t)];
    const at = t.clock.now();
    const urls = t.app.ctx.composer.urls;
    // a: delivered, opened twice by its reader and once by Apple's proxy, clicked once by a scanner and once by the reader.
    // b: hard bounce. c: complaint.
    await recordFeedback(t.app.ctx, [
      { source: 'maillog', sourceEventId: 'd-a', type: 'delivered', locator: { messageRef: a.ref }, occurredAt: at + 1000 },
      { source: 'bounce_receiver', sourceEventId: 'b-b', type: 'bounced', locator: { messageRef: b.ref }, bounce: { reason: 'user_unknown', class: 'hard', status: '5.1.1', diagnostic: '550 5.1.1 no such user' }, occurredAt: at + 2000 },
      { source: 'bounce_receiver', sourceEventId: 'c-c', type: 'complained', locator: { messageRef: c.ref }, complaint: { kind: 'abuse', userAgent: null }, occurredAt: at + 3000 },
    ]);
    const reader = { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko)' };
    const pixel = urls.openPixel(a.ref, a.contactId).replace(t.app.ctx.publicUrl, '');
    const click = urls.click(a.ref, a.contactId, 'https://shop.example/p/1').replace(t.app.ctx.publicUrl, '');
    t.clock.advance(60_000);
    await t.request({ method: 'GET', url: click, scope: 'none', headers: { 'user-agent': 'Mozilla/5.0 (compatible; Mimecast URL scanner)' } });
    await t.request({ method: 'GET', url: pixel, scope: 'none', headers: { 'user-agent': 'Mozilla/5.0' } });
    t.clock.advance(600_000);
    await t.request({ method: 'GET', url: pixel, scope: 'none', headers: reader });
    await t.request({ method: 'GET', url: pixel, scope: 'none', headers: reader });
    await t.request({ method: 'GET', url: click, scope: 'none', headers: reader });
    // A second message to a's reader, opened; and a receipt to an address that is no contact, delivered.
    // A message's events are found through its contact (or, with none, by the message alone): neither leaks into another's.
    other = await queuedAndSent(t, { to: a.email, stream: 'marketing', topic: 'news', idempotencyKey: 'events-other' });
    guest = await queuedAndSent(t, { to: 'guest@example.com', stream: 'transactional', idempotencyKey: 'events-guest' });
    t.clock.advance(600_000);
    await t.request({ method: 'GET', url: urls.openPixel(other.ref, a.contactId).replace(t.app.ctx.publicUrl, ''), scope: 'none', headers: reader });
    await recordFeedback(t.app.ctx, [{ source: 'maillog', sourceEventId: 'd-guest', type: 'delivered', locator: { messageRef: guest.ref }, occurredAt: t.clock.now() }]);
    await t.app.tracking.flush();
    t.clock.advance(1000); // reports cover messages created before now
    await recordUnmatched(t.app.ctx, { source: 'bounce_receiver', sourceEventId: 'junk-1', why: 'not a MIME message', raw: 'garbage' });
  });
  afterAll(async () => t?.close());

  it("lists a message's events newest first, with source, reason and machine flags, and filters by type", async () => {
    const r = await t.request({ method: 'GET', url: `/api/v1/messages/${a.id}/events`, scope: 'read' });
    expect(r.status).toBe(200);
    expect(r.json.items.map((e: { type: string; machine: string | null }) => `${e.type}:${e.machine ?? 'person'}`)).toEqual([
      'email_clicked:person',
      'email_opened:person',
      'email_opened:person',
      'email_opened:apple_mpp',
      'email_clicked:scanner',
      'email_delivered:person',
    ]);
    expect(r.json.items[0]).toMatchObject({ source: 'tracking', properties: { url: 'https://shop.example/p/1' }, contactId: a.contactId, messageRef: a.ref });
    const clicks = await t.request({ method: 'GET', url: `/api/v1/messages/${a.id}/events?type=email_clicked&limit=1`, scope: 'read' });
    expect(clicks.json.items).toHaveLength(1);
    const next = await t.request({ method: 'GET', url: `/api/v1/messages/${a.id}/events?type=email_clicked&limit=1&cursor=${clicks.json.nextCursor}`, scope: 'read' });
    expect(next.json.items.map((e: { machine: string }) => e.machine)).toEqual(['scanner']);
    expect(next.json.nextCursor).toBeNull();
    const second = await t.request({ method: 'GET', url: `/api/v1/messages/${other.id}/events`, scope: 'read' });
    expect(second.json.items.map((e: { type: string }) => e.type)).toEqual(['email_opened']);
  });

  it('lists the events of a message to an address that is no contact', async () => {
    const r = await t.request({ method: 'GET', url: `/api/v1/messages/${guest.id}/events`, scope: 'read' });
    expect(r.json.items).toEqual([expect.objectContaining({ type: 'email_delivered', contactId: null, messageRef: guest.ref, source: 'maillog' })]);
  });

  it("lists a contact's events, with the reason of a bounce", async () => {
    const r = await t.request({ method: 'GET', url: `/api/v1/contacts/${b.contactId}/events`, scope: 'read' });
    expect(r.json.items).toEqual([expect.objectContaining({ type: 'email_bounced', reason: 'user_unknown', source: 'bounce_receiver', properties: expect.objectContaining({ class: 'hard', status: '5.1.1' }) })]);
  });

  it('shows unmatched feedback for inspection', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/feedback/unmatched?source=bounce_receiver', scope: 'read' });
    expect(r.json.items).toEqual([expect.objectContaining({ source: 'bounce_receiver', why: 'not a MIME message', raw: 'garbage' })]);
  });

  it('reports KPIs with unique and total opens and clicks, machines apart', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/reports/engagement?stream=marketing', scope: 'read' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      sent: 4,
      delivered: 3,
      confirmedDelivered: 1,
      bounces: { hard: 1, soft: 0, policy: 0 },
      complaints: 1,
      opens: { total: 3, unique: 2, machineTotal: 1, machineUnique: 1 },
      clicks: { total: 1, unique: 1, machineTotal: 1, machineUnique: 1 },
      rates: { bounce: 0.25, complaint: 0.3333, open: 0.6667, click: 0.3333, clickToOpen: 0.5 },
    });
    const receipts = await t.request({ method: 'GET', url: '/api/v1/reports/engagement?stream=transactional', scope: 'read' });
    expect(receipts.json).toMatchObject({ sent: 1, confirmedDelivered: 1, opens: { total: 0 }, rates: { open: 0 } });
  });

  it('answers bad input with the field named, and unknown ids with 404', async () => {
    expect((await t.request({ method: 'GET', url: '/api/v1/messages/999999/events', scope: 'read' })).status).toBe(404);
    expect((await t.request({ method: 'GET', url: '/api/v1/contacts/999999/events', scope: 'read' })).status).toBe(404);
    const cursor = await t.request({ method: 'GET', url: `/api/v1/messages/${a.id}/events?cursor=abc`, scope: 'read' });
    expect(cursor.status).toBe(400);
    expect(cursor.json.error.details).toEqual([expect.objectContaining({ field: 'cursor' })]);
    const from = await t.request({ method: 'GET', url: '/api/v1/reports/engagement?from=yesterday', scope: 'read' });
    expect(from.json.error.details).toEqual([expect.objectContaining({ field: 'from' })]);
    expect((await t.request({ method: 'GET', url: '/api/v1/reports/engagement', scope: 'none' })).status).toBe(401);
  });
});

/** Queues a message through the API and marks it sent as a worker would. */
async function queuedAndSent(t: TestApp, body: Record<string, unknown>): Promise<{ id: number; ref: string }> {
  const m = await t.request({ method: 'POST', url: '/api/v1/messages', body: { subject: 'Hi', html: '<p>Hi</p>', fromName: 'Shop', fromEmail: 'news@shop.example', ...body } });
  expect(m.status).toBe(202);
  const now = t.clock.now();
  await t.db.k.updateTable('messages').set({ status: 'sent', sentAt: now, updatedAt: now, transport: 'capture' }).where('id', '=', m.json.id).execute();
  const row = await t.db.k.selectFrom('messages').select('ref').where('id', '=', m.json.id).executeTakeFirstOrThrow();
  return { id: m.json.id, ref: row.ref };
}
