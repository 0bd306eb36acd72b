import type { App } from '../src/app.ts';
import { createContact } from '../src/services/contacts.ts';
import { enqueueMessage } from '../src/services/messages.ts';
import { createTopic } from '../src/services/topics.ts';

/** The tracked links of the seeded messages: one click URL and one pixel URL per message. */
export interface Seeded {
  clicks: string[];
  pixels: string[];
  refs: string[];
}

/** A signed webhook request, ready to send. */
export interface WebhookRequest {
  path: string;
  body: string;
}

/**
 * `n` contacts subscribed to `news`, each with one marketing message marked sent an hour ago (so
 * no click counts as a scanner's by its timing), through the same services the API uses.
 */
export async function seedTrackedMessages(app: App, n: number): Promise<Seeded> {
  const { ctx } = app;
  await createTopic(ctx, { key: 'news', name: 'News' });
  const out: Seeded = { clicks: [], pixels: [], refs: [] };
  const sentAt = ctx.clock.now() - 3600_000;
  for (let i = 0; i < n; i++) {
    const email = `reader${i}@example.com`;
    const contact = await createContact(ctx, { email, topics: { news: 'subscribed' }, consent: { source: 'form' } });
    const { message } = await enqueueMessage(ctx, {
      idempotencyKey: `bench:${i}`,
      source: 'test',
      to: email,
      contactId: contact.id,
      stream: 'marketing',
      topicKey: 'news',
      content: { subject: 'News', html: '<p>Hello</p>', fromName: 'Shop', fromEmail: 'news@shop.example' },
    });
    await ctx.db.k.updateTable('messages').set({ status: 'sent', sentAt, transport: 'bench', providerMessageId: `<bench-${i}@mg.shop.example>` }).where('id', '=', message.id).execute();
    out.refs.push(message.ref);
    out.clicks.push(ctx.composer.urls.click(message.ref, contact.id, `https://shop.example/product/${i}`));
    out.pixels.push(ctx.composer.urls.openPixel(message.ref, contact.id));
  }
  return out;
}

/** Signed Mailgun webhook requests (one distinct `delivered` event each), once the webhook route exists. */
export async function webhookRequests(_app: App, _seeded: Seeded, _n: number): Promise<WebhookRequest[]> {
  return [];
}
