import { inTransaction } from '../db/database.ts';
import { selectContactIdsByEmailKeys } from '../db/queries/contacts.ts';
import { insertEventOnce } from '../db/queries/events.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { AppError, invalid, type ErrorDetail } from '../lib/errors.ts';
import { trackingPublicKey } from './connectors.ts';
import type { ServiceContext } from './context.ts';
import type { Requester } from './tracking.ts';

// Events from the storefront snippet (/t.js): product views, cart updates and checkout starts of
// identified visitors, stored in the event stream with source `browser` and the id the browser
// made, so a resent request is stored once. The endpoint is public (its key sits in the store's
// pages), so it never creates contacts: events of addresses Chapar does not know are dropped.

/** The event types a storefront may send. */
export const BROWSER_EVENT_TYPES = ['product_viewed', 'cart_updated', 'checkout_started'] as const;
/** At most this many events per request (the snippet sends one). */
export const MAX_BROWSER_EVENTS = 20;
const MAX_PROPERTIES_BYTES = 4096;
const EVENT_ID = /^[A-Za-z0-9-]{8,64}$/;

/** What became of a request: events stored (and replays), or nothing, with the reason. */
export type BrowserEventsOutcome = { status: 'stored'; stored: number; duplicates: number } | { status: 'ignored'; why: string };

interface CheckedBrowserEvent {
  id: string;
  type: string;
  properties: Record<string, unknown>;
}

/** Checks a snippet request's key, visitor and events, then stores the events for the visitor's contact. */
export async function recordBrowserEvents(ctx: ServiceContext, body: unknown, from: Requester): Promise<BrowserEventsOutcome> {
  const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (!b) throw invalid('body', 'must be a JSON object { key, email, events }');
  if (b.key !== trackingPublicKey(ctx)) {
    throw new AppError('unauthorized', "key is not this store's public tracking key: copy data-key from GET /api/v1/connectors (tracking.snippet)", [{ field: 'key', message: 'unknown key' }]);
  }
  // Anonymous visitors are not tracked at all: the snippet sends nothing for them, and a request
  // without an address is answered without storing anything.
  if (b.email === undefined || b.email === null || b.email === '') return { status: 'ignored', why: 'anonymous visitor: events are stored only for identified visitors' };
  const email = typeof b.email === 'string' ? normalizeEmail(b.email) : { ok: false as const, reason: 'is not text' };
  if (!email.ok) throw invalid('email', `is not a valid email address: it ${email.reason}`);
  const events = checkEvents(b.events);
  const contactId = (await selectContactIdsByEmailKeys(ctx.db, [email.value.key])).get(email.value.key);
  if (contactId === undefined) return { status: 'ignored', why: 'no contact has this address yet: browser events are stored for known customers only' };
  const now = ctx.clock.now();
  let stored = 0;
  await inTransaction(ctx.db, async (tx) => {
    for (const e of events) {
      // The browser's clock is not trusted: events are dated when they arrive.
      const id = await insertEventOnce(tx, { type: e.type, contactId, messageRef: null, properties: e.properties, ip: from.ip, userAgent: from.userAgent, occurredAt: now, source: 'browser', sourceEventId: e.id });
      if (id !== null) stored++;
    }
  });
  return { status: 'stored', stored, duplicates: events.length - stored };
}

function checkEvents(v: unknown): CheckedBrowserEvent[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_BROWSER_EVENTS) throw invalid('events', `must be a list of 1 to ${MAX_BROWSER_EVENTS} events`);
  const errors: ErrorDetail[] = [];
  const out: CheckedBrowserEvent[] = [];
  v.forEach((raw, i) => {
    const fail = (field: string, message: string) => errors.push({ field: `events/${i}/${field}`, message });
    const e = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
    if (!e) return void errors.push({ field: `events/${i}`, message: 'must be an object' });
    if (typeof e.id !== 'string' || !EVENT_ID.test(e.id)) fail('id', 'must be 8 to 64 letters, digits or dashes (a random id made in the browser)');
    if (typeof e.type !== 'string' || !(BROWSER_EVENT_TYPES as readonly string[]).includes(e.type)) fail('type', `must be one of ${BROWSER_EVENT_TYPES.join(', ')}`);
    const props = e.properties ?? {};
    if (typeof props !== 'object' || props === null || Array.isArray(props)) fail('properties', 'must be an object');
    else if (Buffer.byteLength(JSON.stringify(props)) > MAX_PROPERTIES_BYTES || JSON.stringify(props).includes('\\u0000')) fail('properties', `must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON without NUL characters`);
    if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 2000 || !/^https?:\/\/\S+$/.test(e.url))) fail('url', 'must be the page\'s http(s) address');
    out.push({ id: String(e.id), type: String(e.type), properties: { ...(props as Record<string, unknown>), ...(typeof e.url === 'string' ? { url: e.url } : {}) } });
  });
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((x) => `${x.field}: ${x.message}`).join('; '), errors);
  return out;
}
