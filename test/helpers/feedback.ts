import { expect } from 'vitest';
import type { TestApp } from './app.ts';

/** A sent message as feedback tests need it: its ref, outbox id, and the contact it went to. */
export interface SentMessage {
  id: number;
  ref: string;
  contactId: number;
  email: string;
}

let counter = 0;

/**
 * Makes a contact subscribed to `news` (and `offers`), queues a marketing message to it on topic
 * `news` through the API, and marks it sent as a worker would (the feedback tests start after the send).
 */
export async function sentMessage(t: TestApp, email = `reader${++counter}@example.com`, opts: { providerMessageId?: string } = {}): Promise<SentMessage> {
  for (const key of ['news', 'offers']) await t.request({ method: 'POST', url: '/api/v1/topics', body: { key, name: key } });
  const c = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email, topics: { news: 'subscribed', offers: 'subscribed' }, consent: { source: 'form' } } });
  expect(c.status).toBe(201);
  const m = await t.request({
    method: 'POST',
    url: '/api/v1/messages',
    body: { to: email, stream: 'marketing', topic: 'news', subject: 'News', html: '<p>Hello</p>', fromName: 'Shop', fromEmail: 'news@shop.example', idempotencyKey: `fb-${email}` },
  });
  expect(m.status).toBe(202);
  const now = t.clock.now();
  await t.db.k.updateTable('messages').set({ status: 'sent', sentAt: now, updatedAt: now, transport: 'capture', providerMessageId: opts.providerMessageId ?? null }).where('id', '=', m.json.id).execute();
  const row = await t.db.k.selectFrom('messages').select(['ref']).where('id', '=', m.json.id).executeTakeFirstOrThrow();
  return { id: m.json.id, ref: row.ref, contactId: c.json.id, email };
}

/** The suppression reasons recorded for an address, through the API. */
export async function suppressionReasons(t: TestApp, email: string): Promise<string[]> {
  const r = await t.request({ method: 'GET', url: `/api/v1/suppressions?email=${encodeURIComponent(email)}` });
  return (r.json.items as { reason: string }[]).map((s) => s.reason).sort();
}
