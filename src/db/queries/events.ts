import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';
import { sqliteStatement } from '../prepared.ts';

/** An event as stored: something a contact did or that happened to a message. */
export interface EventRecord {
  id: number;
  type: string;
  contactId: number | null;
  messageRef: string | null;
  properties: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  occurredAt: number;
  /** Where it came from (feedback sources: `mailgun`, `bounce_receiver`, `tracking`, …). */
  source?: string | null;
  /** The source's own id; (source, sourceEventId) is unique, so a replay is stored once. */
  sourceEventId?: string | null;
  /** A bounce's reason, a complaint's kind. */
  reason?: string | null;
  /** Set when a machine, not a person, made the event: `apple_mpp`, `scanner`. */
  machine?: string | null;
}

/** Appends one event. Returns its id. */
export async function insertEvent(db: Db, e: Omit<EventRecord, 'id'>): Promise<number> {
  const row = await db.k
    .insertInto('events')
    .values({ ...e, properties: toJsonColumn(e.properties) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Appends an event unless one with the same (source, source id) exists. Returns its id, or null for a replay. */
export async function insertEventOnce(db: Db, e: Omit<EventRecord, 'id'>): Promise<number | null> {
  const row = await db.k
    .insertInto('events')
    .values({ ...e, properties: toJsonColumn(e.properties) })
    // The unique index is partial (events with a source id only): the conflict target names it whole.
    .onConflict((oc) => oc.columns(['source', 'sourceEventId']).where('sourceEventId', 'is not', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

const INSERT_EVENT = `INSERT INTO events (type, contact_id, message_ref, properties, ip, user_agent, occurred_at, source, source_event_id, reason, machine)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Appends many events (the tracking endpoints' group commit): on SQLite one prepared statement run
 * per row, which costs a few microseconds where Kysely would build and prepare a 500-row statement
 * each time (bench:events); on PostgreSQL one statement per 500 rows. Call inside `inTransaction`.
 */
export async function insertEvents(db: Db, events: readonly Omit<EventRecord, 'id'>[]): Promise<void> {
  const fast = sqliteStatement(db, INSERT_EVENT);
  if (fast) {
    for (const e of events) fast.run(e.type, e.contactId, e.messageRef, toJsonColumn(e.properties), e.ip, e.userAgent, e.occurredAt, e.source ?? null, e.sourceEventId ?? null, e.reason ?? null, e.machine ?? null);
    return;
  }
  for (let i = 0; i < events.length; i += 500) {
    await db.k
      .insertInto('events')
      .values(events.slice(i, i + 500).map((e) => ({ ...e, properties: toJsonColumn(e.properties) })))
      .execute();
  }
}

/** The message whose events are wanted: its ref and its contact, through whom its events are indexed. */
export interface EventsOfMessage {
  ref: string;
  contactId: number | null;
}

/** Reads events of one contact or one message, newest first, `beforeId` as the cursor. */
export async function selectEvents(db: Db, f: { contactId?: number; message?: EventsOfMessage; types?: readonly string[]; beforeId?: number; limit: number }): Promise<EventRecord[]> {
  let q = db.k.selectFrom('events').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.contactId !== undefined) q = q.where('contactId', '=', f.contactId);
  if (f.message) {
    // A message's events carry its contact (or none): the contact's index (or the partial index of
    // events with no contact) finds them; there is no index by message alone (migration 009).
    const { ref, contactId } = f.message;
    q = (contactId === null ? q.where('contactId', 'is', null) : q.where('contactId', '=', contactId)).where('messageRef', '=', ref);
  }
  if (f.types && f.types.length > 0) q = q.where('type', 'in', f.types);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, properties: fromJsonColumn(r.properties) }));
}

/** For a batch of tracking hits: when each message was sent, and which of the contacts still exist. */
export async function selectTrackingFacts(db: Db, refs: readonly string[], contactIds: readonly number[]): Promise<{ sentAt: Map<string, number>; contacts: Set<number> }> {
  const sentAt = new Map<string, number>();
  const contacts = new Set<number>();
  // SQLite: one prepared lookup per key (microseconds each, by primary or unique index) instead of
  // compiling and preparing two IN lists of hundreds of parameters every flush.
  const sentOf = sqliteStatement(db, 'SELECT sent_at FROM messages WHERE ref = ?');
  const contactOf = sqliteStatement(db, 'SELECT 1 AS x FROM contacts WHERE id = ?');
  if (sentOf && contactOf) {
    for (const ref of refs) {
      const r = sentOf.get(ref) as { sent_at: number | null } | undefined;
      if (r && r.sent_at !== null) sentAt.set(ref, r.sent_at);
    }
    for (const id of contactIds) if (contactOf.get(id)) contacts.add(id);
    return { sentAt, contacts };
  }
  for (let i = 0; i < refs.length; i += 500) {
    const rows = await db.k.selectFrom('messages').select(['ref', 'sentAt']).where('ref', 'in', refs.slice(i, i + 500)).execute();
    for (const r of rows) if (r.sentAt !== null) sentAt.set(r.ref, r.sentAt);
  }
  for (let i = 0; i < contactIds.length; i += 500) {
    const rows = await db.k.selectFrom('contacts').select('id').where('id', 'in', contactIds.slice(i, i + 500)).execute();
    for (const r of rows) contacts.add(r.id);
  }
  return { sentAt, contacts };
}
