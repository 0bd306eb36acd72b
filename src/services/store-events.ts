import { inTransaction } from '../db/database.ts';
import { insertEventOnce } from '../db/queries/events.ts';
import { normalizeEmail } from '../domain/emails.ts';
import type { CheckedCustomer } from '../domain/store-checks.ts';
import { STORE_SOURCES, type StoreSource } from '../domain/store.ts';
import type { ErrorDetail } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { resolveStoreContact } from './store-contacts.ts';
import { refreshContactMetrics } from './store-data.ts';
import { getStoreSettings } from './store-settings.ts';

/** The event types the store stream names; any other matching CUSTOM_EVENT_TYPE is a custom event. */
export const STORE_EVENT_TYPES = ['product_viewed', 'cart_updated', 'checkout_started', 'order_placed', 'order_fulfilled', 'order_refunded'] as const;
/** A custom event type: lower case, starting with a letter, up to 64 characters. */
export const CUSTOM_EVENT_TYPE = /^[a-z][a-z0-9_.:-]{0,63}$/;
/** Types Chapar writes itself (delivery and engagement, merges): a caller may not forge them. */
const RESERVED_TYPE = /^(email_|contact_|cart_abandoned$)/;
/** Event ids: no `/`, which Chapar's own derived ids (`order_placed/1001`) hold, so the two never collide. */
const EVENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** At most this many events a request. */
export const MAX_EVENTS = 1000;
const MAX_PROPERTIES_BYTES = 16_384;
// Events from before this are typos; after now + a day, a wrong clock.
const MIN_TIME = Date.UTC(1995, 0, 1);
const FUTURE_SLACK_MS = 86_400_000;

/** One event as the API takes it. */
export interface IncomingEvent {
  id: string;
  type: string;
  /** ISO 8601 with a time zone (`2026-11-27T10:00:00Z`). */
  occurredAt: string;
  email?: string;
  externalId?: string;
  /** Whose id `externalId` is; default `api`. */
  externalIdSource?: StoreSource;
  properties?: Record<string, unknown>;
}

/** What a batch did: how many events were new, how many were replays, and every bad one by index. */
export interface IngestEventsResult {
  accepted: number;
  duplicates: number;
  stored: { index: number; eventId: number | null; contactId: number | null; duplicate: boolean }[];
  rejected: { index: number; errors: ErrorDetail[] }[];
}

interface CheckedEvent {
  id: string;
  type: string;
  occurredAt: number;
  customer: CheckedCustomer | null;
  properties: Record<string, unknown>;
}

function checkEvent(e: unknown, path: string, now: number): { ok: true; value: CheckedEvent } | { ok: false; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field: `${path}.${field}`, message });
  if (!e || typeof e !== 'object' || Array.isArray(e)) return { ok: false, errors: [{ field: path, message: 'must be an object' }] };
  const ev = e as Record<string, unknown>;
  for (const k of Object.keys(ev)) if (!['id', 'type', 'occurredAt', 'email', 'externalId', 'externalIdSource', 'properties'].includes(k)) fail(k, 'is not a known field');
  if (typeof ev.id !== 'string' || !EVENT_ID.test(ev.id)) fail('id', 'is required: 1 to 128 letters, digits, . _ : or -');
  if (typeof ev.type !== 'string' || !CUSTOM_EVENT_TYPE.test(ev.type)) fail('type', `must be one of ${STORE_EVENT_TYPES.join(', ')} or a custom type (lower case, [a-z][a-z0-9_.:-], at most 64)`);
  else if (RESERVED_TYPE.test(ev.type)) fail('type', `"${ev.type}" is written by Chapar itself; choose another name`);
  let occurredAt = Number.NaN;
  if (typeof ev.occurredAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(ev.occurredAt) || !Number.isFinite((occurredAt = Date.parse(ev.occurredAt)))) {
    fail('occurredAt', `${JSON.stringify(ev.occurredAt ?? null)} is not an ISO 8601 time with a zone, such as 2026-11-27T10:00:00Z`);
  } else if (occurredAt < MIN_TIME || occurredAt > now + FUTURE_SLACK_MS) fail('occurredAt', 'is before 1995 or more than a day in the future');
  let email = null;
  if (ev.email !== undefined && ev.email !== null) {
    const r = typeof ev.email === 'string' ? normalizeEmail(ev.email) : { ok: false as const, reason: 'is not text' };
    if (r.ok) email = r.value;
    else fail('email', `is not a valid email address: it ${r.reason}`);
  }
  const externalId = ev.externalId;
  if (externalId !== undefined && externalId !== null && (typeof externalId !== 'string' || externalId.trim() === '' || externalId.length > 128 || /[\u0000-\u001F\u007F]/.test(externalId))) fail('externalId', 'must be 1 to 128 characters of text');
  const source = (ev.externalIdSource ?? 'api') as StoreSource;
  if (!STORE_SOURCES.includes(source)) fail('externalIdSource', `must be one of ${STORE_SOURCES.join(', ')}`);
  const props = ev.properties ?? {};
  if (typeof props !== 'object' || props === null || Array.isArray(props)) fail('properties', 'must be an object');
  else {
    const json = JSON.stringify(props);
    if (json.includes('\\u0000')) fail('properties', 'contain a NUL character (U+0000)');
    else if (Buffer.byteLength(json) > MAX_PROPERTIES_BYTES) fail('properties', `are larger than ${MAX_PROPERTIES_BYTES} bytes as JSON`);
  }
  if (errors.length > 0) return { ok: false, errors };
  const ext = typeof externalId === 'string' ? externalId.trim() : null;
  const customer = email || ext ? { source, externalId: ext, email, profile: {} } : null;
  return { ok: true, value: { id: ev.id as string, type: ev.type as string, occurredAt, customer, properties: props as Record<string, unknown> } };
}

/**
 * Stores a batch of store events (the events API): each is checked on its own, the good ones are
 * stored in one transaction and the bad ones listed by index. Idempotent by event id (a replay is
 * counted as a duplicate, not stored twice) and indifferent to order (events keep their own
 * time). The contact is found by address or external id, created on first sight by address, and
 * two contacts are merged when an event names both.
 */
export async function ingestEvents(ctx: ServiceContext, events: readonly unknown[]): Promise<IngestEventsResult> {
  const now = ctx.clock.now();
  const result: IngestEventsResult = { accepted: 0, duplicates: 0, stored: [], rejected: [] };
  const good: { index: number; value: CheckedEvent }[] = [];
  events.forEach((e, index) => {
    const r = checkEvent(e, `events[${index}]`, now);
    if (r.ok) good.push({ index, value: r.value });
    else result.rejected.push({ index, errors: r.errors });
  });
  const currency = (await getStoreSettings(ctx)).defaultCurrency;
  await inTransaction(ctx.db, async (tx) => {
    const merged = new Set<number>();
    for (const { index, value: e } of good) {
      const contact = e.customer ? await resolveStoreContact(tx, e.customer, 'fill', now) : null;
      const contactId = contact?.contactId ?? null;
      if (contact?.merged) merged.add(contact.merged.into);
      const eventId = await insertEventOnce(tx, { type: e.type, contactId, messageRef: null, properties: e.properties, ip: null, userAgent: null, occurredAt: e.occurredAt, source: 'api', sourceEventId: e.id });
      if (eventId === null) result.duplicates++;
      else result.accepted++;
      result.stored.push({ index, eventId, contactId, duplicate: eventId === null });
    }
    await refreshContactMetrics(tx, merged, currency, now);
  });
  return result;
}
