import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mailgunSignature } from '../src/adapters/feedback/mailgun-events.ts';
import { createTransportFactory } from '../src/adapters/transports/factory.ts';
import type { App } from '../src/app.ts';
import { saveTransport } from '../src/services/transports.ts';
import { createContact } from '../src/services/contacts.ts';
import { enqueueMessage } from '../src/services/messages.ts';
import { createTopic } from '../src/services/topics.ts';

/** The tracked links of the seeded messages: one click URL and one pixel URL per message. */
export interface Seeded {
  clicks: string[];
  pixels: string[];
  refs: string[];
}

/** A signed webhook request, ready to send, and how many events it carries. */
export interface WebhookRequest {
  path: string;
  body: string;
  headers: Record<string, string>;
  events: number;
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
    // A product link as a campaign carries it, with its UTM parameters (templates/links.ts): the
    // length decides how much of the signature check is hashed (templates/link-signer.ts).
    out.clicks.push(ctx.composer.urls.click(message.ref, contact.id, `https://shop.example/products/item-${i}?utm_source=chapar&utm_medium=email&utm_campaign=black-friday`));
    out.pixels.push(ctx.composer.urls.openPixel(message.ref, contact.id));
  }
  return out;
}

const MAILGUN_KEY = 'bench-webhook-signing-key';

/**
 * Configures a Mailgun and a SendGrid transport with webhook keys, and signs `n` webhook requests
 * of each: Mailgun posts one event per request; SendGrid posts them in batches (here 100 a
 * request, `batches` of them). Every event is distinct (its own id) and every Mailgun token is fresh, so each is stored.
 */
export async function webhookRequests(app: App, seeded: Seeded, n: number, batches: number): Promise<{ mailgun: WebhookRequest[]; sendgrid: WebhookRequest[] }> {
  const { ctx } = app;
  const factory = createTransportFactory({ db: ctx.db, clock: ctx.clock });
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicKey = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  await saveTransport(ctx, factory, { name: 'mg', kind: 'mailgun', settings: { domain: 'mg.shop.example', region: 'eu' }, secrets: { apiKey: 'key-bench', webhookSigningKey: MAILGUN_KEY } }, 'create');
  await saveTransport(ctx, factory, { name: 'sg', kind: 'sendgrid', settings: { webhookPublicKey: publicKey }, secrets: { apiKey: 'SG.bench' } }, 'create');
  const now = ctx.clock.now();
  const timestamp = String(Math.floor(now / 1000));
  const mailgun: WebhookRequest[] = [];
  for (let i = 0; i < n; i++) {
    const ref = seeded.refs[i % seeded.refs.length]!;
    const token = randomBytes(25).toString('hex');
    const body = JSON.stringify({
      signature: { timestamp, token, signature: mailgunSignature(MAILGUN_KEY, timestamp, token) },
      'event-data': { event: 'delivered', id: `mg-${i}-${randomBytes(6).toString('hex')}`, timestamp: now / 1000, recipient: `reader${i % seeded.refs.length}@example.com`, 'user-variables': { chapar_message_ref: ref }, 'delivery-status': { code: 250, message: 'OK' } },
    });
    mailgun.push({ path: '/webhooks/mailgun/mg', body, headers: { 'content-type': 'application/json' }, events: 1 });
  }
  const sendgrid: WebhookRequest[] = [];
  for (let i = 0; i < batches; i++) {
    const events = Array.from({ length: 100 }, (_, j) => {
      const k = i * 100 + j;
      const ref = seeded.refs[k % seeded.refs.length]!;
      return { email: `reader${k % seeded.refs.length}@example.com`, timestamp: Math.floor(now / 1000), event: 'delivered', sg_event_id: `sg-${k}-${randomBytes(6).toString('hex')}`, sg_message_id: `bench${k}.filter0001`, chapar_message_ref: ref, response: '250 OK' };
    });
    const body = JSON.stringify(events);
    const signature = sign('sha256', Buffer.from(timestamp + body), pair.privateKey).toString('base64');
    sendgrid.push({ path: '/webhooks/sendgrid/sg', body, headers: { 'content-type': 'application/json', 'x-twilio-email-event-webhook-timestamp': timestamp, 'x-twilio-email-event-webhook-signature': signature }, events: 100 });
  }
  return { mailgun, sendgrid };
}
